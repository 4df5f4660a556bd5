package ledger

import (
	"errors"
	"fmt"
	"io"
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
func (d *driverFlags) command(args []string) *ledgerproto.Command {
	if !d.On {
		return nil
	}
	return &ledgerproto.Command{Argv: args, Env: d.Env}
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

// newLedgerDriverCmd is readiness's own ledger as a ledger driver, the
// reference implementation of docs/gates/ledger-driver.md.
func newLedgerDriverCmd(app *app) *cobra.Command {
	return &cobra.Command{
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
			for _, a := range args {
				if a == "-h" || a == "--help" || a == "-help" {
					return cmd.Help()
				}
			}
			if err := ledgersuite.DriverMain(cmd.Context(), args, app.IO.In, app.IO.Out); err != nil {
				return fmt.Errorf("ledger driver: %w", err)
			}
			return nil
		},
	}
}

// nothingPassed: a run in which no scenario passed proved nothing (one
// in which some failed already exits 1).
func nothingPassed(rep *ledgersuite.Report) bool {
	for _, s := range rep.Scenarios {
		if s.Passed > 0 {
			return false
		}
	}
	return true
}

// writeDriverNotes adds, for a driver run, the driver's identity, the
// scenarios it could not run and the runs it broke.
func writeDriverNotes(w io.Writer, rep *ledgersuite.Report) error {
	d := rep.LedgerDriver
	if d == nil {
		return nil
	}
	h := d.Handshake
	fmt.Fprintf(w, "driver: %s\n  protocol %d, %s %s, ops %s, features %s, durable %v\n", strings.Join(d.Command, " "), d.Protocol,
		h.Name, h.Version, strings.Join(h.Ops, ","), strings.Join(h.Features, ","), h.Durable)
	for _, s := range rep.Scenarios {
		if s.Skipped > 0 && strings.HasPrefix(s.Reason, "not applicable") {
			fmt.Fprintf(w, "NOT APPLICABLE %s %s [%s]: %s\n", ledgersuite.RuleNotApplicable, s.Scenario, s.Mode, s.Reason)
		}
		if s.DriverFaults > 0 {
			fmt.Fprintf(w, "DRIVER FAULT %s %s [%s]: %d runs broken by the driver (see FAIL above)\n", ledgersuite.RuleStoreFault, s.Scenario, s.Mode, s.DriverFaults)
		}
	}
	return nil
}
