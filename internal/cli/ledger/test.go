package ledger

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// ledgerTestOptions are the flags and arguments of `readiness ledger test`.
type ledgerTestOptions struct {
	Ledger    *ledgerOptions
	Repeat    int
	Run       string
	Processes int
	Modes     []string
	Timeout   time.Duration
	MaxConns  int
	Driver    driverFlags
}

// AddFlags registers the flags.
func (o *ledgerTestOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&o.Repeat, "repeat", 1, "run every scenario `N` times; one failure fails it")
	cmd.Flags().StringVar(&o.Run, "run", "", "run only scenarios whose name matches `REGEX`")
	cmd.Flags().IntVar(&o.Processes, "processes", 4, "worker processes for the many-process scenarios")
	cmd.Flags().StringSliceVar(&o.Modes, "modes", nil, "modes to run: inproc, procs (default both)")
	cmd.Flags().DurationVar(&o.Timeout, "scenario-timeout", time.Minute, "deadline of one scenario run")
	cmd.Flags().IntVar(&o.MaxConns, "max-conns", ledgersuite.DefaultMaxConns, "PostgreSQL: the most server connections the suite (this process and its workers) holds at once")
	o.Driver.AddFlags(cmd)
}

// newLedgerTestCmd builds `readiness ledger test`. runF replaces the
// behaviour in tests of flag parsing.
func newLedgerTestCmd(app *app, lo *ledgerOptions, runF func(context.Context, *ledgerTestOptions) error) *cobra.Command {
	o := &ledgerTestOptions{Ledger: lo}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the ledger's concurrency regression suite",
		Long: `test runs every invariant scenario of the ledger in-process and across real
worker processes (this binary re-executed; crashes are SIGKILLs) and prints a
pass/fail table. Without --db it uses a fresh SQLite file in a temporary
directory. Exit 0 when every scenario passed every run, 1 otherwise.`,
		Example: `  readiness ledger test
  readiness ledger test --repeat 50 --run 'lost-output|late-write'
  readiness ledger test --db "postgres://postgres@127.0.0.1/test?sslmode=disable" --processes 6
  readiness ledger test --driver -- python3 tools/ledger_driver.py --db /tmp/router.db`,
		Args: o.Driver.args,
		PreRunE: func(*cobra.Command, []string) error {
			if o.Repeat <= 0 || o.Processes <= 0 || o.MaxConns <= 0 {
				return cli.Usagef("--repeat, --processes and --max-conns must be positive")
			}
			if _, _, err := ledgersuite.ParseSelection(o.Run, o.Modes); err != nil {
				return cli.Usagef("--%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Driver.Argv = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.testRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// testRun runs the suite on --db (default: a fresh SQLite file) or a
// driver and prints its table: exit 1 when a run failed or none passed.
func (a *app) testRun(ctx context.Context, o *ledgerTestOptions) error {
	cfg := ledgersuite.Config{Repeat: o.Repeat, Processes: o.Processes, ScenarioTimeout: o.Timeout, Driver: o.Driver.command(), MaxConns: o.MaxConns}
	if cfg.Driver == nil {
		cleanup, err := o.Ledger.ownStore(a, &cfg.DSN, &cfg.Worker)
		if err != nil {
			return err
		}
		defer cleanup()
	}
	var err error
	if cfg.Run, cfg.Modes, err = ledgersuite.ParseSelection(o.Run, o.Modes); err != nil {
		return cli.Usagef("--%v", err)
	}
	if d, err := ledger.ParseDSN(cfg.DSN); err == nil && d.Driver == ledger.DriverPostgres {
		if err := ledgersuite.CheckBudget(o.MaxConns, o.Processes, cfg.Modes); err != nil {
			return cli.Usagef("--max-conns: %v", err)
		}
	}
	cfg.Progress = a.testProgress(o.Repeat)
	rep, err := ledgersuite.Run(ctx, cfg)
	if a.IO.Live() {
		fmt.Fprint(a.IO.ErrOut, "\r\033[K")
	}
	if err != nil {
		return driverStartErr(err)
	}
	if o.Ledger.JSON {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else if err := writeSuiteTable(a.IO.Out, rep); err != nil {
		return err
	} else if err := writeDriverNotes(a.IO.Out, rep); err != nil {
		return err
	}
	if rep.Failed() > 0 || nothingPassed(rep) {
		return &cli.ExitError{Code: 1}
	}
	return nil
}

// testProgress reports each failed run on stderr as it happens and, on a
// terminal, a running count.
func (a *app) testProgress(repeat int) func(ledgersuite.Outcome) {
	done, failed := 0, 0
	return func(oc ledgersuite.Outcome) {
		done++
		if !oc.Passed && oc.Skipped == "" {
			failed++
			fmt.Fprintf(a.IO.ErrOut, "FAIL %s [%s] run %d: %s\n", oc.Scenario, oc.Mode, oc.Run, cli.OneLine(oc.Error))
		}
		if a.IO.Live() {
			fmt.Fprintf(a.IO.ErrOut, "\r\033[K%d runs, %d failed (round %d of %d)", done, failed, oc.Run, repeat)
		}
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

func writeSuiteTable(w io.Writer, rep *ledgersuite.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMODE\tRUNS\tPASS\tFAIL\tSKIP\tP50\tMAX\tRULE")
	for _, s := range rep.Scenarios {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Scenario, s.Mode, s.Runs, s.Passed, s.Failed, s.Skipped, fmtDur(s.P50), fmtDur(s.Max), s.FindingRule())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	var keys []string
	for k := range rep.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		fmt.Fprintln(w, "observed (all runs):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  METRIC\tN\tP50\tP99\tMAX")
		for _, k := range keys {
			p := rep.Metrics[k]
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", k, p.N, fmtDur(p.P50), fmtDur(p.P99), fmtDur(p.Max))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, s := range rep.Scenarios {
		for _, f := range s.Failures {
			fmt.Fprintf(w, "FAIL %s %s [%s] %s\n", s.Rule, s.Scenario, s.Mode, cli.OneLine(f))
		}
	}
	runs, failed, skipped := 0, 0, 0
	for _, s := range rep.Scenarios {
		runs += s.Runs
		failed += s.Failed
		skipped += s.Skipped
	}
	verdict := "PASS"
	if rep.Failed() > 0 {
		verdict = "FAIL"
	}
	_, err := fmt.Fprintf(w, "%s: %d runs on %s, %d failed, %d skipped, repeat %d, %d processes, in %s\n",
		verdict, runs, rep.Target(), failed, skipped, rep.Repeat, rep.Processes, rep.Duration.Round(100*time.Millisecond))
	return err
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
		if s.NotApplicable > 0 {
			fmt.Fprintf(w, "NOT APPLICABLE %s %s [%s]: %s\n", ledgersuite.RuleNotApplicable, s.Scenario, s.Mode, s.Reason)
		}
		if s.DriverFaults > 0 {
			fmt.Fprintf(w, "DRIVER FAULT %s %s [%s]: %d runs broken by the driver (see FAIL above)\n", ledgersuite.RuleStoreFault, s.Scenario, s.Mode, s.DriverFaults)
		}
	}
	return nil
}
