package ledgersuite

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// pythonDriver is examples/ledger-drivers/python/ledger_driver.py for the
// named ledger (module:Class), on a fresh SQLite file.
func pythonDriver(t *testing.T, ledgerClass string, extra ...string) *ledgerproto.Command {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		need.Skip(t, "python3 is not installed; the Python ledger driver tests need it")
	}
	script, err := filepath.Abs("../../../examples/ledger-drivers/python/ledger_driver.py")
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{py, script, "--ledger", ledgerClass, "--db", filepath.Join(t.TempDir(), "router.db")}, extra...)
	return &ledgerproto.Command{Argv: argv}
}

// The review's bug, in a Python ledger readiness did not write: a
// recreated 'waiting' row hides the preserved success. The suite must
// catch it under LEDGER-LOST-OUTPUT, in one driver process and across
// killed ones, and pass the fixed ledger.
func TestPythonLedgers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ledger string
		// wantRules: the rules the ledger breaks (nil: none, GO).
		wantRules []string
	}{
		{"buggy_ledger:SharedLedger", []string{RuleLostOutput}},
		{"fixed_ledger:SharedLedger", nil},
	} {
		t.Run(tc.ledger, func(t *testing.T) {
			t.Parallel()
			rep := runLogged(t, Config{Driver: pythonDriver(t, tc.ledger), Processes: 3})
			res := Evaluate(rep)
			broken := map[string]map[Mode]bool{}
			for _, f := range res.Findings {
				if f.Severity != checks.SeverityCritical {
					continue
				}
				mode := Mode(f.Properties["mode"].(string))
				if broken[f.Rule] == nil {
					broken[f.Rule] = map[Mode]bool{}
				}
				broken[f.Rule][mode] = true
				t.Logf("%s", f.Message)
			}
			for _, rule := range tc.wantRules {
				if !broken[rule][InProcess] || !broken[rule][Processes] {
					t.Errorf("%s must be caught under %s in both modes, got %v", tc.ledger, rule, broken[rule])
				}
			}
			if len(broken) != len(tc.wantRules) {
				t.Errorf("%s broke %v, want exactly %v", tc.ledger, broken, tc.wantRules)
			}
			if tc.wantRules == nil && res.Status != checks.StatusFail && res.Status != checks.StatusPass {
				t.Errorf("fixed ledger: status %s (%s)", res.Status, res.Error)
			}
			for _, f := range res.Findings {
				if f.Severity != checks.SeverityCritical && f.Rule != RuleNotApplicable {
					t.Errorf("unexpected finding %+v", f)
				}
			}
		})
	}
}

// The developers' buggy ledger, declaring only the core ops, used to be
// GO: the review's scenario became a medium warning. It is required: not
// applicable is a blocking (high) finding naming the missing op and how
// to provide it; what can run still runs.
func TestPythonBuggyLedgerCoreOpsIsNoGo(t *testing.T) {
	t.Parallel()
	rep := runLogged(t, Config{Driver: pythonDriver(t, "buggy_ledger:SharedLedger", "--ops", "claim,complete,fail,wait"),
		Processes: 2, Run: regexp.MustCompile(`review-restart|empty-output`)})
	res := Evaluate(rep)
	var required []string
	for _, f := range res.Findings {
		if f.Rule != RuleRequiredNotApplicable {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		if f.Severity != checks.SeverityHigh {
			t.Errorf("%s: severity %s, want high (blocking)", f.ID, f.Severity)
		}
		for _, want := range []string{"lacks recreate", "init_ok's ops"} {
			if !strings.Contains(f.Message, want) {
				t.Errorf("the finding must name the missing op and how to provide it (%q): %s", want, f.Message)
			}
		}
		required = append(required, f.ID)
	}
	if len(required) != 2 {
		t.Errorf("want review-restart required in both modes, got %v", required)
	}
	if res.Status != checks.StatusFail {
		t.Errorf("status %s, want fail", res.Status)
	}
	if res.Facts["passed"] != 2 {
		t.Errorf("empty-output must have run and passed in both modes, facts %v", res.Facts["passed"])
	}
}

// A ledger without leases (the reviewed one has none) gets its
// lease-dependent scenarios reported not applicable, saying why, never
// failures; no message mentions a lease the driver never reported; the
// lease-free half of late-write still runs; and connection-killed, which
// no driver can run, is not listed at all.
func TestPythonLedgerWithoutLeases(t *testing.T) {
	t.Parallel()
	rep := runLogged(t, Config{Driver: pythonDriver(t, "fixed_ledger:SharedLedger", "--features", "tokens"),
		Processes: 2, Modes: []Mode{InProcess}})
	res := Evaluate(rep)
	na := map[string]bool{}
	for _, f := range res.Findings {
		if f.Rule != RuleNotApplicable {
			t.Errorf("unexpected finding %s: %s", f.ID, f.Message)
			continue
		}
		if !strings.Contains(f.Message, "leases feature") {
			t.Errorf("%s: the reason must say the driver declares no leases: %s", f.ID, f.Message)
		}
		na[f.Properties["scenario"].(string)] = true
	}
	for _, sc := range []string{"no-takeover/owner-killed", "lost-output/first-output-wins", "double-owner/claim-race"} {
		if !na[sc] {
			t.Errorf("%s must be not applicable without leases; not applicable: %v", sc, na)
		}
	}
	if len(na) != 3 {
		t.Errorf("only the lease scenarios may be not applicable, got %v", na)
	}
	for _, s := range rep.Scenarios {
		if s.Scenario == "store-fault/connection-killed" {
			t.Errorf("connection-killed is listed for a driver: %+v", s)
		}
		if s.Scenario == "late-write" && s.Passed != s.Runs {
			t.Errorf("late-write's lease-free half must run and pass: %+v", s)
		}
		for _, f := range s.Failures {
			if strings.Contains(f, "lease") {
				t.Errorf("%s mentions a lease the driver never reported: %s", s.Scenario, f)
			}
		}
	}
	if res.Status != checks.StatusFail || res.Error != "" {
		t.Errorf("status %s (%s), want fail with medium warnings only", res.Status, res.Error)
	}
}

// The gate, configured as in readiness.yaml (driver argv relative to the
// config's directory, env), catches the buggy ledger and records the
// driver in the evidence.
func TestGateWithPythonDriver(t *testing.T) {
	t.Parallel()
	drv := pythonDriver(t, "buggy_ledger:SharedLedger")
	dir, err := filepath.Abs("../../../examples/ledger-drivers")
	if err != nil {
		t.Fatal(err)
	}
	env := checks.Env{Dir: dir, ConfigFile: "readiness.yaml", Now: time.Now}
	with := fmt.Sprintf(`{driver: [%s, python/ledger_driver.py, --ledger, "buggy_ledger:SharedLedger", --db, %s], env: {PYTHONDONTWRITEBYTECODE: "1"}, processes: 2, run: review-restart}`,
		drv.Argv[0], filepath.Join(t.TempDir(), "r.db"))
	c, err := fromSpec(env, spec(t, with))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != checks.StatusFail || len(res.Findings) != 2 || res.Findings[0].Rule != RuleLostOutput {
		t.Fatalf("want LEDGER-LOST-OUTPUT in both modes, got %s %+v", res.Status, res.Findings)
	}
	info := res.Facts["ledger_driver"].(*DriverInfo)
	if info.Command[1] != "python/ledger_driver.py" || !strings.Contains(info.Handshake.Name, "buggy_ledger") {
		t.Errorf("evidence: %+v", info)
	}
}
