package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// ledgerFailOptions are the flags and argument of `readiness ledger fail`.
type ledgerFailOptions struct {
	Ledger  *ledgerOptions
	Key     string
	Owner   string
	Message string
}

// AddFlags registers the flags.
func (o *ledgerFailOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Owner, "owner", "", "owner `ID`")
	cmd.Flags().StringVar(&o.Message, "error", "", "the failure `TEXT` the waiters receive")
}

// newLedgerFailCmd builds `readiness ledger fail`. runF replaces the
// behaviour in tests of flag parsing.
func newLedgerFailCmd(app *app, lo *ledgerOptions, runF func(context.Context, *ledgerFailOptions) error) *cobra.Command {
	o := &ledgerFailOptions{Ledger: lo}
	cmd := &cobra.Command{
		Use:   "fail KEY --owner ID --error TEXT",
		Short: "Record that the owner's generation of KEY failed, and tell its waiters",
		Long: `fail records the failure of --owner's running attempt; waiters receive it as
an error. Exit 1 when nothing was recorded: KEY already has an output (the
waiters get that), or --owner does not hold the running attempt.`,
		Args: keyArg,
		PreRunE: func(*cobra.Command, []string) error {
			if o.Owner == "" || o.Message == "" {
				return cli.Usagef("--owner and --error are required")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Key = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.failRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// failRun records the failure: exit 1 when the key already has an output
// or the owner does not hold its running attempt.
func (a *app) failRun(ctx context.Context, o *ledgerFailOptions) error {
	l, err := o.Ledger.open(ctx, a, ledger.Options{MustExist: true})
	if err != nil {
		return err
	}
	defer l.Close()
	st, err := l.Fail(ctx, o.Key, o.Owner, o.Message)
	if o.Ledger.JSON {
		doc := map[string]any{"recorded": err == nil, "state": st}
		if err != nil {
			doc["error"] = err.Error()
		}
		if perr := a.printJSON(doc); perr != nil {
			return perr
		}
	}
	switch {
	case err == nil:
		if !o.Ledger.JSON {
			fmt.Fprintf(a.IO.Out, "failed: %s attempt %d by %s: %s\n", ledger.KeyRef(o.Key), st.Attempt.Token, o.Owner, o.Message)
		}
		return nil
	case errors.Is(err, ledger.ErrCompleted):
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s already has an output (%s); the failure was not recorded and waiters get the output", ledger.KeyRef(o.Key), st.Describe())}
	case errors.Is(err, ledger.ErrNotOwner):
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s does not hold the running attempt of %s (%s); nothing recorded", o.Owner, ledger.KeyRef(o.Key), st.Describe())}
	}
	return err
}
