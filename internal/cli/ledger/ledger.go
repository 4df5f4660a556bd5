package ledger

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

func newLedgerCmd(app *app) *cobra.Command {
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

// --- claim ---

type ledgerClaimOptions struct {
	Owner string
	Lease time.Duration
}

func newLedgerClaimCmd(app *app, lo *ledgerOptions) *cobra.Command {
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
				return cli.Usagef("--owner is required")
			}
			if o.Lease <= 0 {
				return cli.Usagef("--lease must be positive, not %s", o.Lease)
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
				return &cli.ExitError{Code: 1}
			default:
				return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s is %s; not claimed", ledger.KeyRef(args[0]), c.State.Describe())}
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

func newLedgerCompleteCmd(app *app, lo *ledgerOptions) *cobra.Command {
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
				return cli.Usagef("--owner is required")
			}
			o.set = cmd.Flags().Changed("output")
			if o.set == (o.OutputFile != "") {
				return cli.Usagef("give exactly one of --output and --output-file")
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
					return cli.Usagef("--output-file: %v", err)
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

func newLedgerFailCmd(app *app, lo *ledgerOptions) *cobra.Command {
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
				return cli.Usagef("--owner and --error are required")
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
				return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s already has an output (%s); the failure was not recorded and waiters get the output", ledger.KeyRef(args[0]), st.Describe())}
			case errors.Is(err, ledger.ErrNotOwner):
				return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s does not hold the running attempt of %s (%s); nothing recorded", owner, ledger.KeyRef(args[0]), st.Describe())}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&owner, "owner", "", "owner `ID`")
	cmd.Flags().StringVar(&msg, "error", "", "the failure `TEXT` the waiters receive")
	return cmd
}

// --- wait ---

func newLedgerWaitCmd(app *app, lo *ledgerOptions) *cobra.Command {
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
				return cli.Usagef("--timeout must be positive")
			}
			if after < 0 {
				return cli.Usagef("--after must be a token (0 or more), not %d", after)
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
					return &cli.ExitError{Code: 1, Err: err}
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

func newLedgerInspectCmd(app *app, lo *ledgerOptions) *cobra.Command {
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
	MaxConns  int
}

func newLedgerTestCmd(app *app, lo *ledgerOptions) *cobra.Command {
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
			if o.Repeat <= 0 || o.Processes <= 0 || o.MaxConns <= 0 {
				return cli.Usagef("--repeat, --processes and --max-conns must be positive")
			}
			if _, _, err := ledgersuite.ParseSelection(o.Run, o.Modes); err != nil {
				return cli.Usagef("--%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := ledgersuite.Config{Repeat: o.Repeat, Processes: o.Processes, ScenarioTimeout: o.Timeout, Driver: df.command(args), MaxConns: o.MaxConns}
			if cfg.Driver == nil {
				cleanup, err := lo.ownStore(app, &cfg.DSN, &cfg.Worker)
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
			done, failed := 0, 0
			cfg.Progress = func(oc ledgersuite.Outcome) {
				done++
				if !oc.Passed && oc.Skipped == "" {
					failed++
					fmt.Fprintf(app.IO.ErrOut, "FAIL %s [%s] run %d: %s\n", oc.Scenario, oc.Mode, oc.Run, cli.OneLine(oc.Error))
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
				return &cli.ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&o.Repeat, "repeat", 1, "run every scenario `N` times; one failure fails it")
	cmd.Flags().StringVar(&o.Run, "run", "", "run only scenarios whose name matches `REGEX`")
	cmd.Flags().IntVar(&o.Processes, "processes", 4, "worker processes for the many-process scenarios")
	cmd.Flags().StringSliceVar(&o.Modes, "modes", nil, "modes to run: inproc, procs (default both)")
	cmd.Flags().DurationVar(&o.Timeout, "scenario-timeout", time.Minute, "deadline of one scenario run")
	cmd.Flags().IntVar(&o.MaxConns, "max-conns", ledgersuite.DefaultMaxConns, "PostgreSQL: the most server connections the suite (this process and its workers) holds at once")
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

// --- bench ---

func newLedgerBenchCmd(app *app, lo *ledgerOptions) *cobra.Command {
	var idle, throughput time.Duration
	var samples, processes, perProcess int
	var waiters []int
	var wl ledgersuite.Workload
	var round ledgersuite.Round
	var workload, cpuprofile, mutexprofile string
	df := &driverFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure delivery latency, throughput and idle cost of the ledger",
		Long: `bench measures, on the --db store (default: a fresh SQLite file):
  - delivery latency (from Complete returning to each waiter returning, on
    the host's monotonic clock), p50/p99/max for --waiters waiters per
    round (1, 10, 100 and 1000), in-process and spread over --processes
    worker processes; a waiter that returned before Complete returned
    counts as a negative latency and is reported, not clamped;
  - throughput in keys per second, each key a claim, a complete and
    --waiters-per-key waiters (--keys: a fixed number of keys);
  - the CPU 1000 idle waiters use over 10 s (getrusage), in-process and
    across the worker processes.
--workload peer runs the reviewed Python ledger's benchmark: --keys 1000
--in-flight 25 --waiters-per-key 4 --complete-at-once, delivery rounds of
--waiters-per-process 25 on --processes 4 arriving over --spread 100ms with
--complete-after 200ms; flags given explicitly override it.
--json prints one document, so that runs can be compared side by side.
With --driver, the same delivery and throughput workload runs through a
ledger driver (docs/gates/ledger-driver.md); idle CPU is not measured.`,
		Args: df.args,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			switch workload {
			case "":
			case "peer":
				applyPeerWorkload(cmd, &waiters, &processes, &samples, &round, &wl)
			default:
				return cli.Usagef("--workload: unknown workload %q (known: peer)", workload)
			}
			if idle <= 0 || throughput <= 0 || samples <= 0 || processes <= 0 {
				return cli.Usagef("--idle, --throughput, --samples and --processes must be positive")
			}
			if wl.Keys < 0 || wl.InFlight <= 0 || wl.WaitersPerKey < 0 {
				return cli.Usagef("--keys and --waiters-per-key must be 0 or more, --in-flight positive")
			}
			if cmd.Flags().Changed("waiters-per-process") {
				if cmd.Flags().Changed("waiters") {
					return cli.Usagef("give --waiters or --waiters-per-process, not both")
				}
				if perProcess <= 0 {
					return cli.Usagef("--waiters-per-process must be positive")
				}
				waiters = []int{perProcess * processes}
			}
			for _, n := range waiters {
				if n <= 0 {
					return cli.Usagef("--waiters must be positive")
				}
			}
			if round.Spread < 0 || round.CompleteAfter < 0 {
				return cli.Usagef("--spread and --complete-after must be 0 or more")
			}
			if round.CompleteAfter > 0 && round.Spread >= round.CompleteAfter {
				return cli.Usagef("--spread must be shorter than --complete-after (every waiter arrives before the output)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if cpuprofile != "" {
				stop, err := ledgersuite.StartCPUProfile(cpuprofile)
				if err != nil {
					return cli.Usagef("%v", err)
				}
				defer stop()
			}
			if mutexprofile != "" {
				stop := ledgersuite.StartMutexProfile(mutexprofile, 5)
				defer func() {
					if err := stop(); err != nil {
						fmt.Fprintln(app.IO.ErrOut, err)
					}
				}()
			}
			cfg := ledgersuite.BenchConfig{Idle: idle, Throughput: throughput, Samples: samples, Processes: processes, Waiters: waiters,
				Round: round, Workload: wl, Progress: func(s string) { fmt.Fprintln(app.IO.ErrOut, s) }}
			if cpuprofile != "" {
				cfg.WorkerCPUProfile = cpuprofile + ".worker"
			}
			var rep *ledgersuite.BenchReport
			if drv := df.command(args); drv != nil {
				var err error
				if rep, err = ledgersuite.DriverBench(cmd.Context(), cfg, *drv); err != nil {
					return driverStartErr(err)
				}
			} else {
				cleanup, err := lo.ownStore(app, &cfg.DSN, &cfg.Worker)
				if err != nil {
					return err
				}
				defer cleanup()
				if rep, err = ledgersuite.Bench(cmd.Context(), cfg); err != nil {
					return err
				}
			}
			if lo.JSON {
				return app.printJSON(rep)
			}
			return writeBench(app.IO.Out, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&workload, "workload", "", "preset workload: `peer` (the reviewed Python ledger's benchmark; see above)")
	f.DurationVar(&idle, "idle", 10*time.Second, "how long idle waiters are measured")
	f.DurationVar(&throughput, "throughput", 3*time.Second, "how long the timed throughput test runs (without --keys)")
	f.IntVar(&samples, "samples", 1000, "latency samples per figure (at least 3 rounds)")
	f.IntVar(&processes, "processes", 4, "worker processes the cross-process waiters are spread over")
	f.IntSliceVar(&waiters, "waiters", []int{1, 10, 100, 1000}, "waiters per delivery round, one figure each")
	f.IntVar(&perProcess, "waiters-per-process", 0, "waiters per worker process in a delivery round (sets --waiters to `N` × --processes)")
	f.DurationVar(&round.Spread, "spread", 0, "a delivery round's waiters arrive evenly over this time (0: at once)")
	f.DurationVar(&round.CompleteAfter, "complete-after", 0, "complete this long after a delivery round starts (0: once every waiter is registered)")
	f.IntVar(&wl.Keys, "keys", 0, "throughput as a fixed workload of `N` keys instead of --throughput (the peer's: 1000)")
	f.IntVar(&wl.InFlight, "in-flight", 8, "keys in flight at once in the throughput test")
	f.IntVar(&wl.WaitersPerKey, "waiters-per-key", 4, "waiters per key in the throughput test")
	f.BoolVar(&wl.CompleteAtOnce, "complete-at-once", false, "in the throughput test, complete right after the claim instead of after every waiter registered")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write this process's CPU profile (pprof) to `FILE`, and each worker's to FILE.worker.<i>")
	f.StringVar(&mutexprofile, "mutexprofile", "", "write this process's mutex contention profile (pprof) to `FILE`")
	df.AddFlags(cmd)
	return cmd
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

// applyPeerWorkload sets what --workload peer means on every flag the
// user did not give.
func applyPeerWorkload(cmd *cobra.Command, waiters *[]int, processes, samples *int, round *ledgersuite.Round, wl *ledgersuite.Workload) {
	p := ledgersuite.PeerWorkload()
	set := func(name string, apply func()) {
		if !cmd.Flags().Changed(name) {
			apply()
		}
	}
	set("processes", func() { *processes = p.Processes })
	set("samples", func() { *samples = p.Samples })
	set("waiters", func() {
		if !cmd.Flags().Changed("waiters-per-process") {
			*waiters = p.Waiters
		}
	})
	set("spread", func() { round.Spread = p.Round.Spread })
	set("complete-after", func() { round.CompleteAfter = p.Round.CompleteAfter })
	set("keys", func() { wl.Keys = p.Workload.Keys })
	set("in-flight", func() { wl.InFlight = p.Workload.InFlight })
	set("waiters-per-key", func() { wl.WaitersPerKey = p.Workload.WaitersPerKey })
	set("complete-at-once", func() { wl.CompleteAtOnce = p.Workload.CompleteAtOnce })
}

func writeBench(w io.Writer, rep *ledgersuite.BenchReport) error {
	fmt.Fprintf(w, "ledger bench on %s (%s), %d worker processes, in %s\n\n", rep.Driver, rep.DSN, rep.Processes, rep.Duration.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELIVERY\tWAITERS\tSAMPLES\tMIN\tP50\tP99\tMAX\tNEGATIVE\tCOMMIT P50\tP99 FROM CALL\tMAX FROM CALL")
	for _, d := range rep.Delivery {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.Mode, d.Waiters, d.Samples, fmtDur(d.Min), fmtDur(d.P50), fmtDur(d.P99), fmtDur(d.Max),
			d.Negative, fmtDur(d.Commit), fmtDur(d.P99FromCall), fmtDur(d.MaxFromCall))
	}
	fmt.Fprintln(tw, "(latency from Complete returning to each waiter returning, monotonic clock; NEGATIVE: waiters that returned before")
	fmt.Fprintln(tw, "Complete did, kept as negative latencies; FROM CALL: from Complete being called)")
	if len(rep.Delivery) > 0 {
		if r := rep.Delivery[0].Round; r != (ledgersuite.Round{}) {
			fmt.Fprintf(tw, "(each round: waiters arrive over %s, complete at +%s)\n", r.Spread, r.CompleteAfter)
		}
	}
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

func newLedgerWorkerCmd(app *app) *cobra.Command {
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
