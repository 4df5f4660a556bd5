package ledger

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks/ledgersuite"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// parseLedger runs `readiness ledger ARGS` through the real root command,
// with newCmd's command as the group's only subcommand and its runF
// capturing the options: the exit code is the one the tool exits with,
// and got stays nil when the command line was refused.
func parseLedger[O any](t *testing.T, newCmd func(*app, *ledgerOptions, func(context.Context, *O) error) *cobra.Command, args ...string) (got *O, code int, stderr string) {
	t.Helper()
	streams, _, errOut := cli.Test()
	// The environment's DSN must not change what is parsed: DSNs are
	// resolved when a command runs.
	streams.Getenv = func(k string) string {
		if k == ledgerDSNEnv {
			return "sqlite:///from/the/environment.db"
		}
		return ""
	}
	capture := func(_ context.Context, o *O) error { got = o; return nil }
	c := &cli.App{IO: streams, Now: time.Now, Commands: func(c *cli.App) []*cobra.Command {
		lo := &ledgerOptions{}
		return []*cobra.Command{newLedgerGroup(lo, newCmd(&app{c}, lo, capture))}
	}}
	code = cli.Run(context.Background(), c, append([]string{"ledger"}, args...))
	return got, code, errOut.String()
}

// flagCase is one command line: accepted with the options want, or
// refused (want nil) with exit 2 and stderr saying stderr.
type flagCase[O any] struct {
	name   string
	args   []string
	want   *O
	stderr string
}

func testFlags[O any](t *testing.T, newCmd func(*app, *ledgerOptions, func(context.Context, *O) error) *cobra.Command, cases []flagCase[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, code, stderr := parseLedger(t, newCmd, tc.args...)
			if tc.want == nil {
				if code != cli.ExitUsage || got != nil || !strings.Contains(stderr, tc.stderr) {
					t.Errorf("exit %d, ran %v, stderr %q; want exit 2, not run, and %q", code, got != nil, stderr, tc.stderr)
				}
				if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
					t.Errorf("usage error is not one line: %q", stderr)
				}
				return
			}
			if code != cli.ExitGO || got == nil {
				t.Fatalf("exit %d, ran %v, stderr %q; want exit 0", code, got != nil, stderr)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewLedgerBenchCmdFlags(t *testing.T) {
	defaults := func(edit func(*ledgerBenchOptions)) *ledgerBenchOptions {
		o := &ledgerBenchOptions{
			Ledger: &ledgerOptions{}, Idle: 10 * time.Second, Throughput: 3 * time.Second, Samples: 1000, Processes: 4,
			Waiters: []int{1, 10, 100, 1000}, Workload: ledgersuite.Workload{InFlight: 8, WaitersPerKey: 4},
		}
		edit(o)
		return o
	}
	testFlags(t, newLedgerBenchCmd, []flagCase[ledgerBenchOptions]{
		{name: "defaults", args: []string{"bench"}, want: defaults(func(*ledgerBenchOptions) {})},
		{name: "every flag", args: []string{"bench", "--idle", "1s", "--throughput", "2s", "--samples", "30", "--processes", "2",
			"--waiters", "2,3", "--spread", "50ms", "--complete-after", "100ms", "--keys", "7", "--in-flight", "2", "--waiters-per-key", "0",
			"--complete-at-once", "--cpuprofile", "c.prof", "--mutexprofile", "m.prof", "--db", "sqlite:///tmp/b.db", "--json"},
			want: &ledgerBenchOptions{
				Ledger: &ledgerOptions{DB: "sqlite:///tmp/b.db", JSON: true}, Idle: time.Second, Throughput: 2 * time.Second, Samples: 30, Processes: 2,
				Waiters: []int{2, 3}, Round: ledgersuite.Round{Spread: 50 * time.Millisecond, CompleteAfter: 100 * time.Millisecond},
				Workload:   ledgersuite.Workload{Keys: 7, InFlight: 2, CompleteAtOnce: true},
				CPUProfile: "c.prof", MutexProfile: "m.prof",
			}},
		// The peer's shape fills every flag not given; given ones win.
		{name: "peer workload under explicit flags", args: []string{"bench", "--workload", "peer", "--keys", "30", "--samples", "4", "--processes", "2"},
			want: defaults(func(o *ledgerBenchOptions) {
				o.Preset, o.Samples, o.Processes, o.Waiters = "peer", 4, 2, []int{100}
				o.Round = ledgersuite.Round{Spread: 100 * time.Millisecond, CompleteAfter: 200 * time.Millisecond}
				o.Workload = ledgersuite.Workload{Keys: 30, InFlight: 25, WaitersPerKey: 4, CompleteAtOnce: true}
			})},
		{name: "waiters per process", args: []string{"bench", "--waiters-per-process", "5", "--processes", "3"},
			want: defaults(func(o *ledgerBenchOptions) { o.WaitersPerProcess, o.Processes, o.Waiters = 5, 3, []int{15} })},
		{name: "peer workload with waiters per process", args: []string{"bench", "--workload", "peer", "--waiters-per-process", "10"},
			want: defaults(func(o *ledgerBenchOptions) {
				o.Preset, o.WaitersPerProcess, o.Samples, o.Waiters = "peer", 10, 1000, []int{40}
				o.Round = ledgersuite.Round{Spread: 100 * time.Millisecond, CompleteAfter: 200 * time.Millisecond}
				o.Workload = ledgersuite.Workload{Keys: 1000, InFlight: 25, WaitersPerKey: 4, CompleteAtOnce: true}
			})},
		{name: "driver", args: []string{"bench", "--driver", "--driver-env", "A=B", "--", "python3", "d.py", "--db", "x"},
			want: defaults(func(o *ledgerBenchOptions) {
				o.Driver = driverFlags{On: true, Env: []string{"A=B"}, Argv: []string{"python3", "d.py", "--db", "x"}}
			})},
		{name: "unknown workload", args: []string{"bench", "--workload", "python"}, stderr: `--workload: unknown workload "python" (known: peer)`},
		{name: "both fan-out flags", args: []string{"bench", "--waiters", "10", "--waiters-per-process", "5"}, stderr: "give --waiters or --waiters-per-process, not both"},
		{name: "waiters per process 0", args: []string{"bench", "--waiters-per-process", "0"}, stderr: "--waiters-per-process must be positive"},
		{name: "zero waiters", args: []string{"bench", "--waiters", "1,0"}, stderr: "--waiters must be positive"},
		{name: "idle 0", args: []string{"bench", "--idle", "0s"}, stderr: "--idle, --throughput, --samples and --processes must be positive"},
		{name: "processes 0", args: []string{"bench", "--processes", "0"}, stderr: "--idle, --throughput, --samples and --processes must be positive"},
		{name: "in-flight 0", args: []string{"bench", "--in-flight", "0"}, stderr: "--keys and --waiters-per-key must be 0 or more, --in-flight positive"},
		{name: "keys -1", args: []string{"bench", "--keys", "-1"}, stderr: "--keys and --waiters-per-key must be 0 or more"},
		{name: "negative spread", args: []string{"bench", "--spread", "-1ms"}, stderr: "--spread and --complete-after must be 0 or more"},
		{name: "arrivals after the output", args: []string{"bench", "--spread", "300ms", "--complete-after", "200ms"}, stderr: "--spread must be shorter than --complete-after"},
		{name: "peer output before an explicit spread", args: []string{"bench", "--workload", "peer", "--spread", "300ms"}, stderr: "--spread must be shorter than --complete-after"},
		{name: "driver without command", args: []string{"bench", "--driver"}, stderr: "--driver needs the driver command after --"},
		{name: "command without driver", args: []string{"bench", "--", "true"}, stderr: `unexpected arguments ["true"] (a driver command needs --driver)`},
		{name: "driver-env without driver", args: []string{"bench", "--driver-env", "A=B"}, stderr: "--driver-env needs --driver"},
		{name: "bad duration", args: []string{"bench", "--idle", "soon"}, stderr: `invalid argument "soon" for "--idle" flag`},
		{name: "unknown flag", args: []string{"bench", "--waiters-per-round", "3"}, stderr: "unknown flag: --waiters-per-round"},
	})
}

func TestNewLedgerTestCmdFlags(t *testing.T) {
	defaults := &ledgerTestOptions{Ledger: &ledgerOptions{}, Repeat: 1, Processes: 4, Timeout: time.Minute, MaxConns: ledgersuite.DefaultMaxConns}
	testFlags(t, newLedgerTestCmd, []flagCase[ledgerTestOptions]{
		{name: "defaults", args: []string{"test"}, want: defaults},
		{name: "every flag", args: []string{"test", "--repeat", "50", "--run", "lost-output|late-write", "--processes", "6", "--modes", "inproc,procs",
			"--scenario-timeout", "10s", "--max-conns", "40", "--db", "postgres://postgres@127.0.0.1/test?sslmode=disable", "--json"},
			want: &ledgerTestOptions{Ledger: &ledgerOptions{DB: "postgres://postgres@127.0.0.1/test?sslmode=disable", JSON: true}, Repeat: 50,
				Run: "lost-output|late-write", Processes: 6, Modes: []string{"inproc", "procs"}, Timeout: 10 * time.Second, MaxConns: 40}},
		// --db after -- is the driver's, not readiness's.
		{name: "driver", args: []string{"test", "--driver", "--driver-env", "K=V", "--driver-env", "EMPTY=", "--", "readiness", "ledger", "driver", "--db", "sqlite:///tmp/l.db"},
			want: &ledgerTestOptions{Ledger: &ledgerOptions{}, Repeat: 1, Processes: 4, Timeout: time.Minute, MaxConns: ledgersuite.DefaultMaxConns,
				Driver: driverFlags{On: true, Env: []string{"K=V", "EMPTY="}, Argv: []string{"readiness", "ledger", "driver", "--db", "sqlite:///tmp/l.db"}}}},
		{name: "repeat 0", args: []string{"test", "--repeat", "0"}, stderr: "--repeat, --processes and --max-conns must be positive"},
		{name: "processes 0", args: []string{"test", "--processes", "0"}, stderr: "--repeat, --processes and --max-conns must be positive"},
		{name: "max-conns 0", args: []string{"test", "--max-conns", "0"}, stderr: "--repeat, --processes and --max-conns must be positive"},
		{name: "bad regexp", args: []string{"test", "--run", "("}, stderr: "--run: error parsing regexp"},
		{name: "unknown mode", args: []string{"test", "--modes", "threads"}, stderr: `--modes: "threads" is not inproc or procs`},
		{name: "driver without command", args: []string{"test", "--driver"}, stderr: "--driver needs the driver command after --"},
		{name: "command without driver", args: []string{"test", "python3", "x.py"}, stderr: "(a driver command needs --driver)"},
		{name: "driver-env without driver", args: []string{"test", "--driver-env", "A=B"}, stderr: "--driver-env needs --driver"},
		{name: "driver-env without =", args: []string{"test", "--driver", "--driver-env", "NOEQUALS", "--", "true"}, stderr: `--driver-env "NOEQUALS": want KEY=VALUE`},
		{name: "driver-env without key", args: []string{"test", "--driver", "--driver-env", "=v", "--", "true"}, stderr: `--driver-env "=v": want KEY=VALUE`},
		{name: "bad duration", args: []string{"test", "--scenario-timeout", "1 minute"}, stderr: `invalid argument "1 minute" for "--scenario-timeout" flag`},
		{name: "bad number", args: []string{"test", "--repeat", "many"}, stderr: `--repeat "many": expected a whole number`},
	})
}

func TestNewLedgerWaitCmdFlags(t *testing.T) {
	long := strings.Repeat("k", ledger.MaxKeySize+1)
	testFlags(t, newLedgerWaitCmd, []flagCase[ledgerWaitOptions]{
		{name: "defaults", args: []string{"wait", "prompt-42"}, want: &ledgerWaitOptions{Ledger: &ledgerOptions{}, Key: "prompt-42", Timeout: 30 * time.Second}},
		{name: "every flag", args: []string{"wait", "prompt-42", "--timeout", "10s", "--after", "3", "--db", "sqlite:///tmp/l.db", "--json"},
			want: &ledgerWaitOptions{Ledger: &ledgerOptions{DB: "sqlite:///tmp/l.db", JSON: true}, Key: "prompt-42", Timeout: 10 * time.Second, After: 3}},
		{name: "group flags before the command", args: []string{"--json", "wait", "--db", "sqlite:///tmp/l.db", "k"},
			want: &ledgerWaitOptions{Ledger: &ledgerOptions{DB: "sqlite:///tmp/l.db", JSON: true}, Key: "k", Timeout: 30 * time.Second}},
		{name: "timeout 0", args: []string{"wait", "k", "--timeout", "0s"}, stderr: "--timeout must be positive"},
		{name: "negative timeout", args: []string{"wait", "k", "--timeout", "-1s"}, stderr: "--timeout must be positive"},
		{name: "negative after", args: []string{"wait", "k", "--after", "-5"}, stderr: "--after must be a token (0 or more), not -5"},
		{name: "no key", args: []string{"wait"}, stderr: "accepts exactly one KEY, received 0"},
		{name: "two keys", args: []string{"wait", "a", "b"}, stderr: "accepts exactly one KEY, received 2"},
		{name: "empty key", args: []string{"wait", ""}, stderr: "KEY: invalid argument: the key is empty"},
		{name: "key too long", args: []string{"wait", long}, stderr: "over the 2048-byte limit"},
		{name: "bad duration", args: []string{"wait", "k", "--timeout", "10"}, stderr: `invalid argument "10" for "--timeout" flag`},
	})
}

// claim checks its KEY as every other key command does: before a store is
// opened or created.
func TestNewLedgerClaimCmdFlags(t *testing.T) {
	testFlags(t, newLedgerClaimCmd, []flagCase[ledgerClaimOptions]{
		{name: "defaults", args: []string{"claim", "k", "--owner", "r1"},
			want: &ledgerClaimOptions{Ledger: &ledgerOptions{}, Key: "k", Owner: "r1", Lease: ledger.DefaultLease}},
		{name: "no owner", args: []string{"claim", "k"}, stderr: "--owner is required"},
		{name: "zero lease", args: []string{"claim", "k", "--owner", "r1", "--lease", "0s"}, stderr: "--lease must be positive"},
		{name: "no key", args: []string{"claim", "--owner", "r1"}, stderr: "accepts exactly one KEY, received 0"},
		{name: "empty key", args: []string{"claim", "", "--owner", "r1"}, stderr: "KEY: invalid argument: the key is empty"},
		{name: "key too long", args: []string{"claim", strings.Repeat("k", ledger.MaxKeySize+1), "--owner", "r1"}, stderr: "over the 2048-byte limit"},
	})
}

// complete takes exactly one output: --output "" is one (empty), so it
// counts as given.
func TestNewLedgerCompleteCmdFlags(t *testing.T) {
	testFlags(t, newLedgerCompleteCmd, []flagCase[ledgerCompleteOptions]{
		{name: "empty output", args: []string{"complete", "k", "--owner", "a", "--output", ""},
			want: &ledgerCompleteOptions{Ledger: &ledgerOptions{}, Key: "k", Owner: "a"}},
		{name: "output from stdin", args: []string{"complete", "k", "--owner", "a", "--output-file", "-"},
			want: &ledgerCompleteOptions{Ledger: &ledgerOptions{}, Key: "k", Owner: "a", OutputFile: "-"}},
		{name: "no output", args: []string{"complete", "k", "--owner", "a"}, stderr: "give exactly one of --output and --output-file"},
		{name: "both outputs", args: []string{"complete", "k", "--owner", "a", "--output", "", "--output-file", "f"}, stderr: "give exactly one of --output and --output-file"},
		{name: "no owner", args: []string{"complete", "k", "--output", "x"}, stderr: "--owner is required"},
	})
}
