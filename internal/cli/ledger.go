package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
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
func (o *ledgerOptions) dsn(app *App, required bool) (string, func(), error) {
	dsn := o.DB
	if dsn == "" {
		dsn = app.IO.Getenv(ledgerDSNEnv)
	}
	if dsn != "" {
		if _, err := ledger.ParseDSN(dsn); err != nil {
			return "", nil, usageErr("--db: %v", err)
		}
		return dsn, func() {}, nil
	}
	if required {
		return "", nil, usageErr("no ledger: pass --db DSN or set %s (e.g. sqlite:///var/lib/router/ledger.db)", ledgerDSNEnv)
	}
	tmp, cleanup, err := ledgersuite.TempSQLiteDSN()
	return tmp, cleanup, err
}

// open opens the ledger named by --db. Commands that must not create one
// (wait, inspect, complete, fail) set MustExist; readers set ReadOnly.
func (o *ledgerOptions) open(ctx context.Context, app *App, lo ledger.Options) (*ledger.Ledger, error) {
	dsn, _, err := o.dsn(app, true)
	if err != nil {
		return nil, err
	}
	l, err := ledger.Open(ctx, dsn, lo)
	if err != nil {
		return nil, usageErr("cannot use the ledger: %v", err)
	}
	return l, nil
}

// keyArg takes exactly one KEY that the ledger accepts (not empty, at most
// ledger.MaxKeySize bytes): a bad key is a usage error before any store is
// opened or created.
func keyArg(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErr("accepts exactly one KEY, received %d", len(args))
	}
	if err := ledger.CheckKey(args[0]); err != nil {
		return usageErr("KEY: %v", err)
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
			c.RunE = func(cmd *cobra.Command, args []string) error { return asUsage(run(cmd, args)) }
		}
	}
}

func newLedgerCmd(app *App) *cobra.Command {
	opts := &ledgerOptions{}
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
	opts.AddFlags(cmd)
	cmd.AddCommand(
		newLedgerTestCmd(app, opts),
		newLedgerBenchCmd(app, opts),
		newLedgerClaimCmd(app, opts),
		newLedgerCompleteCmd(app, opts),
		newLedgerFailCmd(app, opts),
		newLedgerWaitCmd(app, opts),
		newLedgerInspectCmd(app, opts),
		newLedgerWorkerCmd(app),
		newLedgerDriverCmd(app),
	)
	ledgerExit(cmd)
	return cmd
}

func (a *App) printJSON(v any) error {
	enc := json.NewEncoder(a.IO.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeOutput prints an output exactly; a terminal gets a final newline.
func (a *App) writeOutput(b []byte) error {
	if _, err := a.IO.Out.Write(b); err != nil {
		return err
	}
	if a.IO.OutTTY && (len(b) == 0 || b[len(b)-1] != '\n') {
		_, err := io.WriteString(a.IO.Out, "\n")
		return err
	}
	return nil
}

// --- claim ---

type ledgerClaimOptions struct {
	Owner string
	Lease time.Duration
}

func newLedgerClaimCmd(app *App, lo *ledgerOptions) *cobra.Command {
	o := &ledgerClaimOptions{}
	cmd := &cobra.Command{
		Use:   "claim KEY --owner ID",
		Short: "Become the generator of KEY, or report its retained output",
		Long: `claim makes --owner the generator of KEY for --lease. Exit 0: you own it.
Exit 1: you do not, because KEY already has a retained output (printed on
stdout, as wait would) or another owner's lease is live (named on stderr).`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error {
			if o.Owner == "" {
				return usageErr("--owner is required")
			}
			if o.Lease <= 0 {
				return usageErr("--lease must be positive, not %s", o.Lease)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := lo.open(cmd.Context(), app, ledger.Options{})
			if err != nil {
				return err
			}
			defer l.Close()
			c, err := l.Claim(cmd.Context(), args[0], o.Owner, o.Lease)
			if err != nil {
				return err
			}
			if lo.JSON {
				if err := app.printJSON(c); err != nil {
					return err
				}
			}
			switch {
			case c.Owned:
				if !lo.JSON {
					fmt.Fprintf(app.IO.Out, "owner: %s owns %s (attempt %d, lease until %s)\n", o.Owner, ledger.KeyRef(args[0]), c.State.Attempt.Token, c.State.Attempt.LeaseUntil.Format(time.RFC3339Nano))
				}
				return nil
			case c.State.Phase() == ledger.PhaseCompleted:
				fmt.Fprintf(app.IO.ErrOut, "readiness: %s already has an output (%s); not claimed\n", ledger.KeyRef(args[0]), c.State.Describe())
				if !lo.JSON {
					if err := app.writeOutput(c.State.Output.Data); err != nil {
						return err
					}
				}
				return &ExitError{Code: 1}
			default:
				return &ExitError{Code: 1, Err: fmt.Errorf("%s is %s; not claimed", ledger.KeyRef(args[0]), c.State.Describe())}
			}
		},
	}
	cmd.Flags().StringVar(&o.Owner, "owner", "", "owner `ID` (unique per router and request)")
	cmd.Flags().DurationVar(&o.Lease, "lease", ledger.DefaultLease, "how long the claim lasts without renewal")
	return cmd
}

// --- complete ---

type ledgerCompleteOptions struct {
	Owner      string
	Output     string
	OutputFile string
	set        bool
}

func newLedgerCompleteCmd(app *App, lo *ledgerOptions) *cobra.Command {
	o := &ledgerCompleteOptions{}
	cmd := &cobra.Command{
		Use:   "complete KEY --owner ID (--output TEXT | --output-file FILE)",
		Short: "Store KEY's output and wake its waiters",
		Long: `complete stores the output of KEY. The first output wins: if KEY already has
one, nothing is written and that one is reported. --output-file - reads stdin.
The ledger must exist (a mistyped --db is an error, not a new ledger).`,
		Args: keyArg,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if o.Owner == "" {
				return usageErr("--owner is required")
			}
			o.set = cmd.Flags().Changed("output")
			if o.set == (o.OutputFile != "") {
				return usageErr("give exactly one of --output and --output-file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := []byte(o.Output)
			if o.OutputFile != "" {
				var err error
				if o.OutputFile == "-" {
					out, err = io.ReadAll(app.IO.In)
				} else {
					out, err = os.ReadFile(o.OutputFile)
				}
				if err != nil {
					return usageErr("--output-file: %v", err)
				}
			}
			l, err := lo.open(cmd.Context(), app, ledger.Options{MustExist: true})
			if err != nil {
				return err
			}
			defer l.Close()
			st, stored, err := l.Complete(cmd.Context(), args[0], o.Owner, out)
			if err != nil {
				return err
			}
			if lo.JSON {
				return app.printJSON(map[string]any{"stored": stored, "state": st})
			}
			if stored {
				fmt.Fprintf(app.IO.Out, "stored: %s completed by %s (%d bytes, retained until %s)\n", ledger.KeyRef(args[0]), o.Owner, len(out), st.Output.ExpiresAt.Format(time.RFC3339))
			} else {
				fmt.Fprintf(app.IO.Out, "kept: %s already had an output (%s); yours was not stored\n", ledger.KeyRef(args[0]), st.Describe())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Owner, "owner", "", "owner `ID`")
	cmd.Flags().StringVar(&o.Output, "output", "", "the output `TEXT` (may be empty)")
	cmd.Flags().StringVar(&o.OutputFile, "output-file", "", "read the output from `FILE` (- for stdin)")
	return cmd
}

// --- fail ---

func newLedgerFailCmd(app *App, lo *ledgerOptions) *cobra.Command {
	var owner, msg string
	cmd := &cobra.Command{
		Use:   "fail KEY --owner ID --error TEXT",
		Short: "Record that the owner's generation of KEY failed, and tell its waiters",
		Long: `fail records the failure of --owner's running attempt; waiters receive it as
an error. Exit 1 when nothing was recorded: KEY already has an output (the
waiters get that), or --owner does not hold the running attempt.`,
		Args: keyArg,
		PreRunE: func(*cobra.Command, []string) error {
			if owner == "" || msg == "" {
				return usageErr("--owner and --error are required")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := lo.open(cmd.Context(), app, ledger.Options{MustExist: true})
			if err != nil {
				return err
			}
			defer l.Close()
			st, err := l.Fail(cmd.Context(), args[0], owner, msg)
			if lo.JSON {
				doc := map[string]any{"recorded": err == nil, "state": st}
				if err != nil {
					doc["error"] = err.Error()
				}
				if perr := app.printJSON(doc); perr != nil {
					return perr
				}
			}
			switch {
			case err == nil:
				if !lo.JSON {
					fmt.Fprintf(app.IO.Out, "failed: %s attempt %d by %s: %s\n", ledger.KeyRef(args[0]), st.Attempt.Token, owner, msg)
				}
				return nil
			case errors.Is(err, ledger.ErrCompleted):
				return &ExitError{Code: 1, Err: fmt.Errorf("%s already has an output (%s); the failure was not recorded and waiters get the output", ledger.KeyRef(args[0]), st.Describe())}
			case errors.Is(err, ledger.ErrNotOwner):
				return &ExitError{Code: 1, Err: fmt.Errorf("%s does not hold the running attempt of %s (%s); nothing recorded", owner, ledger.KeyRef(args[0]), st.Describe())}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&owner, "owner", "", "owner `ID`")
	cmd.Flags().StringVar(&msg, "error", "", "the failure `TEXT` the waiters receive")
	return cmd
}

// --- wait ---

func newLedgerWaitCmd(app *App, lo *ledgerOptions) *cobra.Command {
	var timeout time.Duration
	var after int64
	cmd := &cobra.Command{
		Use:   "wait KEY [--timeout D]",
		Short: "Wait for KEY's output and print it",
		Long: `wait prints KEY's output on stdout and exits 0 as soon as it is stored (at
once if it already is). It exits 1 with a message naming the key, the last
state and the time waited when the owner fails or --timeout passes. A key
with no claim yet is waited for. The ledger is opened read-only and must
exist.`,
		Args: keyArg,
		PreRunE: func(*cobra.Command, []string) error {
			if timeout <= 0 {
				return usageErr("--timeout must be positive")
			}
			if after < 0 {
				return usageErr("--after must be a token (0 or more), not %d", after)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := lo.open(cmd.Context(), app, ledger.Options{MustExist: true, ReadOnly: true})
			if err != nil {
				return err
			}
			defer l.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := l.Wait(ctx, args[0], ledger.After(after))
			if err != nil {
				var fe *ledger.FailedError
				var te *ledger.TimeoutError
				// Both As calls run whatever --json says: a failure or a
				// timeout is a ledger outcome (exit 1), anything else is not.
				isFailed, isTimeout := errors.As(err, &fe), errors.As(err, &te)
				if lo.JSON && (isFailed || isTimeout) {
					doc := map[string]any{"error": err.Error()}
					if fe != nil {
						doc["failed"] = map[string]any{"owner": fe.Owner, "token": fe.Token, "message": fe.Message}
					} else {
						doc["timeout"] = map[string]any{"elapsed_ms": te.Elapsed.Milliseconds(), "last_state": te.Last}
					}
					_ = app.printJSON(doc)
				}
				if isFailed || isTimeout {
					return &ExitError{Code: 1, Err: err}
				}
				return err
			}
			if lo.JSON {
				return app.printJSON(res)
			}
			return app.writeOutput(res.Output)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after `D`")
	cmd.Flags().Int64Var(&after, "after", 0, "ignore failed attempts up to this `TOKEN` (wait for a retry)")
	return cmd
}

// --- inspect ---

func newLedgerInspectCmd(app *App, lo *ledgerOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect KEY",
		Short: "Show what the ledger holds for KEY (read-only; the ledger must exist)",
		Args:  keyArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := lo.open(cmd.Context(), app, ledger.Options{MustExist: true, ReadOnly: true})
			if err != nil {
				return err
			}
			defer l.Close()
			st, err := l.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if lo.JSON {
				return app.printJSON(st)
			}
			w := tabwriter.NewWriter(app.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "key:\t%s\n", st.Key)
			fmt.Fprintf(w, "state:\t%s\n", st.Phase())
			if o := st.Output; o != nil {
				fmt.Fprintf(w, "output:\t%d bytes by %s at %s, retained until %s\n", len(o.Data), o.Owner, o.CompletedAt.Format(time.RFC3339Nano), o.ExpiresAt.Format(time.RFC3339))
			}
			if a := st.Attempt; a != nil {
				fmt.Fprintf(w, "attempt:\t%d by %s, %s, lease until %s\n", a.Token, a.Owner, a.Status, a.LeaseUntil.Format(time.RFC3339Nano))
				if a.Error != "" {
					fmt.Fprintf(w, "error:\t%s\n", a.Error)
				}
			}
			fmt.Fprintf(w, "summary:\t%s\n", st.Describe())
			return w.Flush()
		},
	}
}

// --- test ---

type ledgerTestOptions struct {
	Repeat    int
	Run       string
	Processes int
	Modes     []string
	Timeout   time.Duration
}

func newLedgerTestCmd(app *App, lo *ledgerOptions) *cobra.Command {
	o := &ledgerTestOptions{}
	df := &driverFlags{}
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
		Args: df.args,
		PreRunE: func(*cobra.Command, []string) error {
			if o.Repeat <= 0 || o.Processes <= 0 {
				return usageErr("--repeat and --processes must be positive")
			}
			if _, _, err := ledgersuite.ParseSelection(o.Run, o.Modes); err != nil {
				return usageErr("--%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := ledgersuite.Config{Repeat: o.Repeat, Processes: o.Processes, ScenarioTimeout: o.Timeout, Driver: df.command(args)}
			if cfg.Driver == nil {
				dsn, cleanup, err := lo.dsn(app, false)
				if err != nil {
					return err
				}
				defer cleanup()
				if cfg.Worker, err = ledgersuite.SelfWorker(); err != nil {
					return err
				}
				cfg.DSN = dsn
			}
			var err error
			if cfg.Run, cfg.Modes, err = ledgersuite.ParseSelection(o.Run, o.Modes); err != nil {
				return usageErr("--%v", err)
			}
			done, failed := 0, 0
			cfg.Progress = func(oc ledgersuite.Outcome) {
				done++
				if !oc.Passed && oc.Skipped == "" {
					failed++
					fmt.Fprintf(app.IO.ErrOut, "FAIL %s [%s] run %d: %s\n", oc.Scenario, oc.Mode, oc.Run, oneLine(oc.Error))
				}
				if app.IO.Live() {
					fmt.Fprintf(app.IO.ErrOut, "\r\033[K%d runs, %d failed (round %d of %d)", done, failed, oc.Run, o.Repeat)
				}
			}
			rep, err := ledgersuite.Run(cmd.Context(), cfg)
			if app.IO.Live() {
				fmt.Fprint(app.IO.ErrOut, "\r\033[K")
			}
			if err != nil {
				return driverStartErr(err)
			}
			if lo.JSON {
				if err := app.printJSON(rep); err != nil {
					return err
				}
			} else if err := writeSuiteTable(app.IO.Out, rep); err != nil {
				return err
			} else if err := writeDriverNotes(app.IO.Out, rep); err != nil {
				return err
			}
			if rep.Failed() > 0 || nothingPassed(rep) {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&o.Repeat, "repeat", 1, "run every scenario `N` times; one failure fails it")
	cmd.Flags().StringVar(&o.Run, "run", "", "run only scenarios whose name matches `REGEX`")
	cmd.Flags().IntVar(&o.Processes, "processes", 4, "worker processes for the many-process scenarios")
	cmd.Flags().StringSliceVar(&o.Modes, "modes", nil, "modes to run: inproc, procs (default both)")
	cmd.Flags().DurationVar(&o.Timeout, "scenario-timeout", time.Minute, "deadline of one scenario run")
	df.AddFlags(cmd)
	return cmd
}

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

func writeSuiteTable(w io.Writer, rep *ledgersuite.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMODE\tRUNS\tPASS\tFAIL\tSKIP\tP50\tMAX\tRULE")
	for _, s := range rep.Scenarios {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Scenario, s.Mode, s.Runs, s.Passed, s.Failed, s.Skipped, fmtDur(s.P50), fmtDur(s.Max), s.Rule)
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
			fmt.Fprintf(w, "FAIL %s %s [%s] %s\n", s.Rule, s.Scenario, s.Mode, oneLine(f))
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
	_, err := fmt.Fprintf(w, "%s: %d runs on %s (%s), %d failed, %d skipped, repeat %d, %d processes, in %s\n",
		verdict, runs, rep.Driver, rep.DSN, failed, skipped, rep.Repeat, rep.Processes, rep.Duration.Round(100*time.Millisecond))
	return err
}

// --- bench ---

func newLedgerBenchCmd(app *App, lo *ledgerOptions) *cobra.Command {
	var idle, throughput time.Duration
	var samples, processes int
	var wl ledgersuite.Workload
	df := &driverFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure delivery latency, throughput and idle cost of the ledger",
		Long: `bench measures, on the --db store (default: a fresh SQLite file):
  - delivery latency (from Complete returning to each waiter returning),
    p50/p99/max for 1, 10, 100 and 1000 waiters, in-process and spread over
    4 worker processes;
  - throughput in keys per second, each key a claim, a complete and 4 waiters;
  - the CPU 1000 idle waiters use over 10 s (getrusage), in-process and
    across the worker processes.
--json prints one document, so that runs can be compared side by side.
With --driver, the same delivery and throughput workload runs through a
ledger driver (docs/gates/ledger-driver.md); idle CPU is not measured.`,
		Args: df.args,
		PreRunE: func(*cobra.Command, []string) error {
			if idle <= 0 || throughput <= 0 || samples <= 0 || processes <= 0 {
				return usageErr("--idle, --throughput, --samples and --processes must be positive")
			}
			if wl.Keys < 0 || wl.InFlight <= 0 || wl.WaitersPerKey < 0 {
				return usageErr("--keys and --waiters-per-key must be 0 or more, --in-flight positive")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if drv := df.command(args); drv != nil {
				cfg := ledgersuite.BenchConfig{Throughput: throughput, Samples: samples, Progress: func(s string) { fmt.Fprintln(app.IO.ErrOut, s) }}
				rep, err := ledgersuite.DriverBench(cmd.Context(), cfg, *drv)
				if err != nil {
					return driverStartErr(err)
				}
				if lo.JSON {
					return app.printJSON(rep)
				}
				return writeBench(app.IO.Out, rep)
			}
			dsn, cleanup, err := lo.dsn(app, false)
			if err != nil {
				return err
			}
			defer cleanup()
			worker, err := ledgersuite.SelfWorker()
			if err != nil {
				return err
			}
			cfg := ledgersuite.BenchConfig{DSN: dsn, Worker: worker, Idle: idle, Throughput: throughput, Samples: samples, Processes: processes, Workload: wl,
				Progress: func(s string) { fmt.Fprintln(app.IO.ErrOut, s) }}
			rep, err := ledgersuite.Bench(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if lo.JSON {
				return app.printJSON(rep)
			}
			return writeBench(app.IO.Out, rep)
		},
	}
	cmd.Flags().DurationVar(&idle, "idle", 10*time.Second, "how long idle waiters are measured")
	cmd.Flags().DurationVar(&throughput, "throughput", 3*time.Second, "how long the throughput test runs")
	cmd.Flags().IntVar(&samples, "samples", 1000, "latency samples per figure (at least 3 rounds)")
	cmd.Flags().IntVar(&processes, "processes", 4, "worker processes the cross-process waiters are spread over")
	cmd.Flags().IntVar(&wl.Keys, "keys", 0, "throughput as a fixed workload of `N` keys instead of --throughput (the peer's: 1000)")
	cmd.Flags().IntVar(&wl.InFlight, "in-flight", 25, "keys in flight at once in the --keys workload")
	cmd.Flags().IntVar(&wl.WaitersPerKey, "waiters-per-key", 4, "waiters per key in the --keys workload")
	cmd.Flags().BoolVar(&wl.CompleteAtOnce, "complete-at-once", false, "in the --keys workload, complete right after the claim instead of after every waiter registered")
	df.AddFlags(cmd)
	return cmd
}

func writeBench(w io.Writer, rep *ledgersuite.BenchReport) error {
	fmt.Fprintf(w, "ledger bench on %s (%s), %d worker processes, in %s\n\n", rep.Driver, rep.DSN, rep.Processes, rep.Duration.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELIVERY\tWAITERS\tSAMPLES\tP50\tP99\tMAX\tCOMMIT P50\tP99 FROM CALL\tMAX FROM CALL")
	for _, d := range rep.Delivery {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Mode, d.Waiters, d.Samples, fmtDur(d.P50), fmtDur(d.P99), fmtDur(d.Max), fmtDur(d.Commit),
			fmtDur(d.P99FromCall), fmtDur(d.MaxFromCall))
	}
	fmt.Fprintln(tw, "(latency from Complete returning to each waiter returning; FROM CALL: from Complete being called)")
	if err := tw.Flush(); err != nil {
		return err
	}
	t := rep.Throughput
	when := "after its waiters registered"
	if t.AtOnce {
		when = "at once"
	}
	fmt.Fprintf(w, "\nthroughput: %.0f keys/s (%d keys in %s; %d in flight; claim + complete %s + %d waiters per key)\n\n",
		t.KeysPerSec, t.Keys, t.Duration.Round(time.Millisecond), t.Concurrency, when, t.WaitersPer)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IDLE\tWAITERS\tWALL\tCPU\tSHARE OF ONE CORE")
	for _, i := range rep.Idle {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.2f%%\n", i.Mode, i.Waiters, i.Wall.Round(time.Millisecond), i.CPU.Round(time.Millisecond), i.CorePercent)
	}
	return tw.Flush()
}

// --- worker (hidden) ---

func newLedgerWorkerCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:                "worker",
		Short:              "Serve ledger operations on stdin/stdout (used by `ledger test` and `ledger bench`)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return ledgersuite.WorkerMain(cmd.Context(), args, app.IO.In, app.IO.Out)
		},
	}
}
