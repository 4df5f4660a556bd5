package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// driverFlags select a ledger driver for `ledger test` and `ledger bench`:
// --driver makes the positional arguments (after --) the driver command.
type driverFlags struct {
	On  bool
	Env []string
	// Argv is the driver command, the positional arguments.
	Argv []string
}

func (d *driverFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&d.On, "driver", false, "test a ledger driver instead of --db: the arguments after -- are its command (docs/gates/ledger-driver.md)")
	cmd.Flags().StringArrayVar(&d.Env, "driver-env", nil, "`KEY=VALUE` added to the driver's environment (repeatable)")
}

// args validates the positional arguments against --driver.
func (d *driverFlags) args(_ *cobra.Command, args []string) error {
	switch {
	case d.On && len(args) == 0:
		return cli.Usagef("--driver needs the driver command after --, e.g. --driver -- python3 tools/ledger_driver.py --db /tmp/ledger.db")
	case !d.On && len(args) > 0:
		return cli.Usagef("unexpected arguments %q (a driver command needs --driver)", args)
	case !d.On && len(d.Env) > 0:
		return cli.Usagef("--driver-env needs --driver")
	}
	for _, kv := range d.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return cli.Usagef("--driver-env %q: want KEY=VALUE", kv)
		}
	}
	return nil
}

// command is the driver command, or nil without --driver.
func (d *driverFlags) command() *ledgerproto.Command {
	if !d.On {
		return nil
	}
	return &ledgerproto.Command{Argv: d.Argv, Env: d.Env}
}

// driverStartErr makes a driver that failed its handshake a usage error
// (exit 2): nothing was judged.
func driverStartErr(err error) error {
	var de *ledgerproto.DriverError
	if errors.As(err, &de) {
		return cli.Usagef("%v", err)
	}
	return err
}

// ledgerDriverOptions are the arguments of `readiness ledger driver`,
// whose flags the protocol's own DriverMain parses.
type ledgerDriverOptions struct {
	Args []string
}

// AddFlags registers the flags: none through cobra (DisableFlagParsing),
// the help text lists those DriverMain parses.
func (o *ledgerDriverOptions) AddFlags(*cobra.Command) {}

// newLedgerDriverCmd is readiness's own ledger as a ledger driver, the
// reference implementation of docs/gates/ledger-driver.md. runF replaces
// the behaviour in tests of flag parsing.
func newLedgerDriverCmd(app *app, runF func(context.Context, *ledgerDriverOptions) error) *cobra.Command {
	o := &ledgerDriverOptions{}
	cmd := &cobra.Command{
		Use:   "driver --db DSN [--name NAME]",
		Short: "Serve readiness's own ledger over the ledger driver protocol (the reference driver)",
		Long: `driver serves readiness's own ledger over the ledger driver protocol
(docs/gates/ledger-driver.md) on stdin/stdout: the reference driver, and
what ledger test --driver runs to compare a team's driver with readiness's
own ledger.

Flags:
  --db DSN      the ledger store (sqlite:///path/ledger.db or postgres://…); required
  --name NAME   owner-ID prefix of this process (default "driver")`,
		Example:            `  readiness ledger test --driver -- readiness ledger driver --db sqlite:///tmp/l.db`,
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Flag parsing is DriverMain's, whose Go flag usage would
			// exit 2: help is cobra's.
			for _, a := range args {
				if a == "-h" || a == "--help" || a == "-help" {
					return cmd.Help()
				}
			}
			o.Args = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.driverRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// driverRun serves the ledger driver protocol on stdin/stdout.
func (a *app) driverRun(ctx context.Context, o *ledgerDriverOptions) error {
	if err := ledgersuite.DriverMain(ctx, o.Args, a.IO.In, a.IO.Out); err != nil {
		return fmt.Errorf("ledger driver: %w", err)
	}
	return nil
}
