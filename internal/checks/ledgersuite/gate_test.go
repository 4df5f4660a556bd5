package ledgersuite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/testutil/golden"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/checkstest"
	"github.com/readiness-dev/readiness/internal/config"
)

// TestRulesNamed: every rule the source builds a finding of is in
// rules.yaml (a scenario's rule, chosen at run time, is checked by
// TestRulesCoverScenarios).
func TestRulesNamed(t *testing.T) {
	checkstest.RulesNamed(t, ".", book)
}

func TestRulesCoverScenarios(t *testing.T) {
	rules := map[string]bool{}
	for _, r := range Gate().Rules.Rules() {
		if r.ID != RuleNotApplicable && r.ID != RuleRequiredNotApplicable { // about a driver, not an invariant
			rules[r.ID] = true
		}
	}
	want := []string{RuleLostOutput, RuleWaitUnbounded, RuleDoubleOwner, RuleNoTakeover, RuleFailureLost, RuleEmptyOutput, RuleLateWriteLost, RuleStoreFault}
	if len(rules) != len(want) {
		t.Errorf("rules.yaml has %d rules, want %d", len(rules), len(want))
	}
	covered := map[string]bool{}
	for _, s := range Scenarios() {
		if !rules[s.Rule] {
			t.Errorf("scenario %s has rule %s that rules.yaml does not document", s.Name, s.Rule)
		}
		// A failing scenario is a broken invariant of the ledger: its
		// finding is critical, whatever the scenario.
		if r, _ := book.Rule(s.Rule); r.Severity != checks.SeverityCritical {
			t.Errorf("scenario %s: rule %s is %s in rules.yaml, want critical", s.Name, s.Rule, r.Severity)
		}
		covered[s.Rule] = true
	}
	for _, id := range want {
		if !covered[id] {
			t.Errorf("no scenario exercises %s", id)
		}
	}
}

func spec(t *testing.T, with string) config.CheckSpec {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(with), &doc); err != nil {
		t.Fatal(err)
	}
	s := config.CheckSpec{Name: "ledger", Type: "ledger", Line: 3}
	if len(doc.Content) > 0 {
		s.With = *doc.Content[0]
	}
	return s
}

func TestFromSpec(t *testing.T) {
	dir := t.TempDir()
	env := checks.Env{Dir: dir, ConfigFile: "readiness.yaml", Now: time.Now}
	tests := []struct {
		name, with, wantErr string
		wantDSN             string
	}{
		{name: "empty", with: "{}"},
		{name: "everything", with: "{dsn: 'sqlite:///tmp/l.db?poll=2ms', repeat: 5, run: 'lost-output', processes: 3, modes: [inproc, procs], scenario_timeout: 2m, lease: 2s}", wantDSN: "sqlite:///tmp/l.db?poll=2ms"},
		{name: "relative sqlite path", with: "{dsn: 'sqlite:var/l.db?poll=2ms'}", wantDSN: "sqlite://" + filepath.ToSlash(filepath.Join(dir, "var/l.db")) + "?poll=2ms"},
		{name: "dsn_env", with: "{dsn_env: READINESS_TEST_POSTGRES_DSN}"},
		{name: "unknown key", with: "{dns: x}", wantErr: `readiness.yaml:1: unknown key "dns"`},
		{name: "bad dsn", with: "{dsn: 'mysql://x'}", wantErr: `readiness.yaml:3: check "ledger": dsn: bad ledger DSN`},
		{name: "bad regex", with: "{run: '('}", wantErr: "run: error parsing regexp"},
		{name: "bad mode", with: "{modes: [threads]}", wantErr: `modes: "threads" is not inproc or procs`},
		{name: "negative repeat", with: "{repeat: -1}", wantErr: "repeat, processes and max_connections must be positive"},
		{name: "negative max_connections", with: "{max_connections: -1}", wantErr: "max_connections must be positive"},
		{name: "budget too small for the workers", with: "{dsn: 'postgres://u@h/db', max_connections: 10}", wantErr: "max_connections 10 is too small for 4 worker processes"},
		{name: "router without a driver", with: "{router: {wait: 120s}}", wantErr: "router is only for a driver"},
		{name: "failover without promote", with: "{dsn: 'postgres://u@h1,h2/db', failover: {kill: [./kill-primary.sh]}}", wantErr: "failover needs kill and promote"},
		{name: "bad duration", with: "{lease: soon}", wantErr: "is not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := fromSpec(env, spec(t, tt.with))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("fromSpec(%s) = %v, want an error containing %q", tt.with, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.(*check).o.DSN; got != tt.wantDSN {
				t.Errorf("DSN = %q, want %q", got, tt.wantDSN)
			}
		})
	}
}

func TestEvaluateGolden(t *testing.T) {
	ms := time.Millisecond
	rep := &Report{
		DSN: "sqlite:///tmp/l.db", Driver: "sqlite", Repeat: 50, Processes: 4, Duration: 95 * time.Second,
		Scenarios: []ScenarioReport{
			{Scenario: "lost-output/review-restart", Rule: RuleLostOutput, Mode: Processes, Runs: 50, Passed: 49, Failed: 1,
				Failures: []string{`run 17: waiter (waiting before complete): want output "gen-1", got error (timeout): wait for key "k" timed out after 15s`},
				P50:      12 * ms, Max: 15 * time.Second, Metrics: map[string]Percentiles{"delivery": {N: 49, P50: ms / 2, P99: 2 * ms, Max: 3 * ms}}},
			{Scenario: "empty-output", Rule: RuleEmptyOutput, Mode: InProcess, Runs: 50, Passed: 50, P50: 2 * ms, Max: 4 * ms},
			{Scenario: "store-fault/connection-killed", Rule: RuleStoreFault, Mode: InProcess, Runs: 50, Skipped: 50, Reason: "needs PostgreSQL (pg_terminate_backend)"},
		},
		Metrics: map[string]Percentiles{"procs/delivery": {N: 49, P50: ms / 2, P99: 2 * ms, Max: 3 * ms}},
	}
	res := Evaluate(rep)
	if res.Status != checks.StatusFail || len(res.Findings) != 1 || res.Findings[0].ID != "LEDGER-LOST-OUTPUT/lost-output/review-restart/procs" {
		t.Fatalf("Evaluate: status %s, findings %+v", res.Status, res.Findings)
	}
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "evaluate.golden.json"), append(got, '\n'))
}

// TestGateRun runs the gate for real on a few scenarios in both modes.
func TestGateRun(t *testing.T) {
	t.Parallel()
	c := New(Options{Run: "review-restart|empty-output", Repeat: 2}, Deps{Worker: testWorker(t)})
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != checks.StatusPass || len(res.Findings) != 0 {
		t.Fatalf("gate: %s: %s %+v", res.Status, res.Summary, res.Findings)
	}
	scen := res.Facts["scenarios"].(map[string]any)
	for _, id := range []string{"lost-output/review-restart/inproc", "lost-output/review-restart/procs", "empty-output/inproc", "empty-output/procs"} {
		e, ok := scen[id].(map[string]any)
		if !ok || e["passed"] != 2 || e["runs"] != 2 {
			t.Errorf("facts.scenarios[%s] = %v, want 2 of 2 passed", id, scen[id])
		}
	}
	if _, ok := res.Facts["metrics"].(map[string]any)["procs/delivery"]; !ok {
		t.Errorf("no cross-process delivery latency in facts: %v", res.Facts["metrics"])
	}
	if res.Facts["dsn_source"] != "temporary SQLite file" {
		t.Errorf("dsn_source = %v", res.Facts["dsn_source"])
	}
}

func TestGateDSNEnvUnset(t *testing.T) {
	c := New(Options{DSNEnv: "NOPE"}, Deps{Getenv: func(string) string { return "" }})
	if _, err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "dsn_env NOPE is not set") {
		t.Fatalf("Run = %v, want a dsn_env error", err)
	}
}

func TestGateUnreachableStoreIsAnError(t *testing.T) {
	c := New(Options{DSN: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", Modes: []string{"inproc"}}, Deps{})
	if _, err := c.Run(context.Background()); err == nil {
		t.Fatal("a store that cannot be reached must be an error (status error), not a pass")
	}
}
