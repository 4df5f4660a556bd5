package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// ledgerDSNEnv names the environment variable that supplies --db.
const ledgerDSNEnv = "READINESS_LEDGER_DSN"

// ledgerOptions are the flags every `readiness ledger` command shares.
type ledgerOptions struct {
	DB   string
	JSON bool
}

// AddFlags registers --db and --json on cmd and its subcommands.
func (o *ledgerOptions) AddFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&o.DB, "db", "", "ledger `DSN`: sqlite:///path/ledger.db or postgres://user@host/db (default $"+ledgerDSNEnv+")")
	cmd.PersistentFlags().BoolVar(&o.JSON, "json", false, "print machine-readable JSON")
}

// dsn resolves --db, then the environment; required says whether a
// missing DSN is a usage error (operations) or means a fresh temporary
// SQLite file (test, bench).
func (o *ledgerOptions) dsn(app *app, required bool) (string, func(), error) {
	dsn := o.DB
	if dsn == "" {
		dsn = app.IO.Getenv(ledgerDSNEnv)
	}
	if dsn != "" {
		if _, err := ledger.ParseDSN(dsn); err != nil {
			return "", nil, cli.Usagef("--db: %v", err)
		}
		return dsn, func() {}, nil
	}
	if required {
		return "", nil, cli.Usagef("no ledger: pass --db DSN or set %s (e.g. sqlite:///var/lib/router/ledger.db)", ledgerDSNEnv)
	}
	tmp, cleanup, err := ledgersuite.TempSQLiteDSN()
	return tmp, cleanup, err
}

// open opens the ledger named by --db. Commands that must not create one
// (wait, inspect, complete, fail) set MustExist; readers set ReadOnly.
func (o *ledgerOptions) open(ctx context.Context, app *app, lo ledger.Options) (*ledger.Ledger, error) {
	dsn, _, err := o.dsn(app, true)
	if err != nil {
		return nil, err
	}
	l, err := ledger.Open(ctx, dsn, lo)
	if err != nil {
		return nil, cli.Usagef("cannot use the ledger: %v", err)
	}
	return l, nil
}

// ownStore sets dsn to the --db store (default: a fresh SQLite file that
// cleanup removes) and worker to this binary as its worker process.
func (o *ledgerOptions) ownStore(app *app, dsn *string, worker *ledgersuite.Exec) (cleanup func(), err error) {
	d, cleanup, err := o.dsn(app, false)
	if err != nil {
		return nil, err
	}
	if *worker, err = ledgersuite.SelfWorker(); err != nil {
		cleanup()
		return nil, err
	}
	*dsn = d
	return cleanup, nil
}

// keyArg takes exactly one KEY that the ledger accepts (not empty, at most
// ledger.MaxKeySize bytes): a bad key is a usage error before any store is
// opened or created.
func keyArg(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return cli.Usagef("accepts exactly one KEY, received %d", len(args))
	}
	if err := ledger.CheckKey(args[0]); err != nil {
		return cli.Usagef("KEY: %v", err)
	}
	return nil
}

// ledgerExit keeps ledger outcomes (not owner, already completed, failed,
// timed out: exit 1, set by each command) apart from everything else: an
// error that carries no exit code is a store or usage problem, so nothing
// was decided (exit 2).
func ledgerExit(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error { return cli.AsUsage(run(cmd, args)) }
		}
	}
}

// newLedgerCmd builds `readiness ledger` with every subcommand.
func newLedgerCmd(app *app) *cobra.Command {
	lo := &ledgerOptions{}
	return newLedgerGroup(lo,
		newLedgerTestCmd(app, lo, nil),
		newLedgerBenchCmd(app, lo, nil),
		newLedgerClaimCmd(app, lo, nil),
		newLedgerCompleteCmd(app, lo, nil),
		newLedgerFailCmd(app, lo, nil),
		newLedgerWaitCmd(app, lo, nil),
		newLedgerInspectCmd(app, lo, nil),
		newLedgerWorkerCmd(app, nil),
		newLedgerDriverCmd(app, nil),
	)
}

// newLedgerGroup builds the `ledger` command over subs, which share lo's
// --db and --json; tests of flag parsing give it their own subcommands.
func newLedgerGroup(lo *ledgerOptions, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Operate and test the inflight deduplication ledger",
		Long: `The inflight deduplication ledger lets many routers share one generation per
key: one claims and generates, the others wait and receive the same output,
and later callers get it replayed while it is retained.

These commands operate a ledger from the shell (to debug, script, or
reproduce a scenario by hand) and run its concurrency regression suite and
benchmarks. Every command takes --db (or $` + ledgerDSNEnv + `) and --json.`,
		Example: `  export READINESS_LEDGER_DSN=sqlite:///tmp/ledger.db
  readiness ledger claim prompt-42 --owner router-a --lease 30s
  readiness ledger wait prompt-42 --timeout 10s &
  readiness ledger complete prompt-42 --owner router-a --output "the answer"
  readiness ledger test --repeat 50`,
		Args: cobra.NoArgs,
	}
	lo.AddFlags(cmd)
	cmd.AddCommand(subs...)
	ledgerExit(cmd)
	return cmd
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.IO.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeOutput prints an output exactly; a terminal gets a final newline.
func (a *app) writeOutput(b []byte) error {
	if _, err := a.IO.Out.Write(b); err != nil {
		return err
	}
	if a.IO.OutTTY && (len(b) == 0 || b[len(b)-1] != '\n') {
		_, err := io.WriteString(a.IO.Out, "\n")
		return err
	}
	return nil
}

// fmtDur formats a latency for the test and bench tables.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return d.Round(100 * time.Millisecond).String()
}
