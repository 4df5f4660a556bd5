package ledger

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
)

// ledgerWorkerOptions are the arguments of the hidden `readiness ledger
// worker`, which the suite's WorkerMain parses.
type ledgerWorkerOptions struct {
	Args []string
}

// AddFlags registers the flags: none through cobra (DisableFlagParsing).
func (o *ledgerWorkerOptions) AddFlags(*cobra.Command) {}

// newLedgerWorkerCmd builds the worker process that `ledger test` and
// `ledger bench` start. runF replaces the behaviour in tests of flag
// parsing.
func newLedgerWorkerCmd(app *app, runF func(context.Context, *ledgerWorkerOptions) error) *cobra.Command {
	o := &ledgerWorkerOptions{}
	cmd := &cobra.Command{
		Use:                "worker",
		Short:              "Serve ledger operations on stdin/stdout (used by `ledger test` and `ledger bench`)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Args = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return ledgersuite.WorkerMain(cmd.Context(), o.Args, app.IO.In, app.IO.Out)
		},
	}
	o.AddFlags(cmd)
	return cmd
}
