package ledger

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
	"github.com/readiness-dev/readiness/internal/cli"
)

// ledgerBenchOptions are the flags and arguments of `readiness ledger
// bench`.
type ledgerBenchOptions struct {
	Ledger *ledgerOptions
	// Preset is --workload: a named shape laid under the flags given.
	Preset            string
	Idle              time.Duration
	Throughput        time.Duration
	Samples           int
	Processes         int
	Waiters           []int
	WaitersPerProcess int
	Round             ledgersuite.Round
	Workload          ledgersuite.Workload
	CPUProfile        string
	MutexProfile      string
	Driver            driverFlags
}

// AddFlags registers the flags.
func (o *ledgerBenchOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Preset, "workload", "", "preset workload: `peer` (the reviewed Python ledger's benchmark; see above)")
	f.DurationVar(&o.Idle, "idle", 10*time.Second, "how long idle waiters are measured")
	f.DurationVar(&o.Throughput, "throughput", 3*time.Second, "how long the timed throughput test runs (without --keys)")
	f.IntVar(&o.Samples, "samples", 1000, "latency samples per figure (at least 3 rounds)")
	f.IntVar(&o.Processes, "processes", 4, "worker processes the cross-process waiters are spread over")
	f.IntSliceVar(&o.Waiters, "waiters", []int{1, 10, 100, 1000}, "waiters per delivery round, one figure each")
	f.IntVar(&o.WaitersPerProcess, "waiters-per-process", 0, "waiters per worker process in a delivery round (sets --waiters to `N` × --processes)")
	f.DurationVar(&o.Round.Spread, "spread", 0, "a delivery round's waiters arrive evenly over this time (0: at once)")
	f.DurationVar(&o.Round.CompleteAfter, "complete-after", 0, "complete this long after a delivery round starts (0: once every waiter is registered)")
	f.IntVar(&o.Workload.Keys, "keys", 0, "throughput as a fixed workload of `N` keys instead of --throughput (the peer's: 1000)")
	f.IntVar(&o.Workload.InFlight, "in-flight", 8, "keys in flight at once in the throughput test")
	f.IntVar(&o.Workload.WaitersPerKey, "waiters-per-key", 4, "waiters per key in the throughput test")
	f.BoolVar(&o.Workload.CompleteAtOnce, "complete-at-once", false, "in the throughput test, complete right after the claim instead of after every waiter registered")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write this process's CPU profile (pprof) to `FILE`, and each worker's to FILE.worker.<i>")
	f.StringVar(&o.MutexProfile, "mutexprofile", "", "write this process's mutex contention profile (pprof) to `FILE`")
	o.Driver.AddFlags(cmd)
}

// newLedgerBenchCmd builds `readiness ledger bench`. runF replaces the
// behaviour in tests of flag parsing.
func newLedgerBenchCmd(app *app, lo *ledgerOptions, runF func(context.Context, *ledgerBenchOptions) error) *cobra.Command {
	o := &ledgerBenchOptions{Ledger: lo}
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
		Args: o.Driver.args,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return o.resolve(cmd.Flags().Changed)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Driver.Argv = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.benchRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// resolve lays --workload under the flags given, turns
// --waiters-per-process into --waiters, and refuses impossible shapes;
// changed says which flags were given.
func (o *ledgerBenchOptions) resolve(changed func(string) bool) error {
	switch o.Preset {
	case "":
	case "peer":
		o.applyPeerWorkload(changed)
	default:
		return cli.Usagef("--workload: unknown workload %q (known: peer)", o.Preset)
	}
	if o.Idle <= 0 || o.Throughput <= 0 || o.Samples <= 0 || o.Processes <= 0 {
		return cli.Usagef("--idle, --throughput, --samples and --processes must be positive")
	}
	if o.Workload.Keys < 0 || o.Workload.InFlight <= 0 || o.Workload.WaitersPerKey < 0 {
		return cli.Usagef("--keys and --waiters-per-key must be 0 or more, --in-flight positive")
	}
	if changed("waiters-per-process") {
		if changed("waiters") {
			return cli.Usagef("give --waiters or --waiters-per-process, not both")
		}
		if o.WaitersPerProcess <= 0 {
			return cli.Usagef("--waiters-per-process must be positive")
		}
		o.Waiters = []int{o.WaitersPerProcess * o.Processes}
	}
	for _, n := range o.Waiters {
		if n <= 0 {
			return cli.Usagef("--waiters must be positive")
		}
	}
	if o.Round.Spread < 0 || o.Round.CompleteAfter < 0 {
		return cli.Usagef("--spread and --complete-after must be 0 or more")
	}
	if o.Round.CompleteAfter > 0 && o.Round.Spread >= o.Round.CompleteAfter {
		return cli.Usagef("--spread must be shorter than --complete-after (every waiter arrives before the output)")
	}
	return nil
}

// applyPeerWorkload sets what --workload peer means on every flag the
// user did not give.
func (o *ledgerBenchOptions) applyPeerWorkload(changed func(string) bool) {
	p := ledgersuite.PeerWorkload()
	set := func(name string, apply func()) {
		if !changed(name) {
			apply()
		}
	}
	set("processes", func() { o.Processes = p.Processes })
	set("samples", func() { o.Samples = p.Samples })
	set("waiters", func() {
		if !changed("waiters-per-process") {
			o.Waiters = p.Waiters
		}
	})
	set("spread", func() { o.Round.Spread = p.Round.Spread })
	set("complete-after", func() { o.Round.CompleteAfter = p.Round.CompleteAfter })
	set("keys", func() { o.Workload.Keys = p.Workload.Keys })
	set("in-flight", func() { o.Workload.InFlight = p.Workload.InFlight })
	set("waiters-per-key", func() { o.Workload.WaitersPerKey = p.Workload.WaitersPerKey })
	set("complete-at-once", func() { o.Workload.CompleteAtOnce = p.Workload.CompleteAtOnce })
}

// benchRun measures the --db store (default: a fresh SQLite file) or a
// driver and prints the figures.
func (a *app) benchRun(ctx context.Context, o *ledgerBenchOptions) error {
	if o.CPUProfile != "" {
		stop, err := ledgersuite.StartCPUProfile(o.CPUProfile)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		defer stop()
	}
	if o.MutexProfile != "" {
		stop := ledgersuite.StartMutexProfile(o.MutexProfile, 5)
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintln(a.IO.ErrOut, err)
			}
		}()
	}
	cfg := ledgersuite.BenchConfig{Idle: o.Idle, Throughput: o.Throughput, Samples: o.Samples, Processes: o.Processes, Waiters: o.Waiters,
		Round: o.Round, Workload: o.Workload, Progress: func(s string) { fmt.Fprintln(a.IO.ErrOut, s) }}
	if o.CPUProfile != "" {
		cfg.WorkerCPUProfile = o.CPUProfile + ".worker"
	}
	var rep *ledgersuite.BenchReport
	if drv := o.Driver.command(); drv != nil {
		var err error
		if rep, err = ledgersuite.DriverBench(ctx, cfg, *drv); err != nil {
			return driverStartErr(err)
		}
	} else {
		cleanup, err := o.Ledger.ownStore(a, &cfg.DSN, &cfg.Worker)
		if err != nil {
			return err
		}
		defer cleanup()
		if rep, err = ledgersuite.Bench(ctx, cfg); err != nil {
			return err
		}
	}
	if o.Ledger.JSON {
		return a.printJSON(rep)
	}
	return writeBench(a.IO.Out, rep)
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
