package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
)

func doc(results ...checks.Result) *evidence.Document {
	for i := range results {
		if results[i].Findings == nil {
			results[i].Findings = []checks.Finding{}
		}
	}
	return &evidence.Document{Schema: evidence.Schema, Checks: results, Waivers: []evidence.WaiverStatus{},
		Settings: evidence.Settings{BlockOn: []string{"critical", "high"}}}
}

func result(name string, status checks.Status, fs ...checks.Finding) checks.Result {
	return checks.Result{Check: name, Type: name, Required: true, Status: status, Findings: fs}
}

func writePolicy(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDefaultPolicy(t *testing.T) {
	ctx := context.Background()
	engine, err := policy.Load(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	high := checks.Finding{Rule: "KEY-EXPIRED", ID: "KEY-EXPIRED", Severity: checks.SeverityHigh, Message: "the key expired", Location: &checks.Location{Path: "docs/keys/security.asc", Line: 1}}
	medium := checks.Finding{Rule: "WF-X", ID: "WF-X", Severity: checks.SeverityMedium, Message: "meh"}
	waived := checks.Finding{Rule: "SCAN-CRITICAL-VULN", ID: "SCAN-CRITICAL-VULN/CVE-1", Severity: checks.SeverityCritical, Message: "cve", WaivedBy: "CVE-1"}
	tests := []struct {
		name     string
		doc      *evidence.Document
		decision string
		summary  string
		deny     []string
		warn     []string
	}{
		{"all pass", doc(result("a", checks.StatusPass), result("b", checks.StatusPass)), evidence.GO, "GO", nil, nil},
		{"high finding", doc(result("key", checks.StatusFail, high)), evidence.NOGO, "NO-GO: 1 blocking finding in 1 check",
			[]string{"KEY-EXPIRED: the key expired (docs/keys/security.asc:1)"}, nil},
		{"medium warns", doc(result("wf", checks.StatusFail, medium)), evidence.GO, "GO", nil, []string{"WF-X: meh"}},
		{"waived critical", doc(result("scan", checks.StatusFail, waived)), evidence.GO, "GO", nil, nil},
		{"error", doc(checks.Result{Check: "scan", Status: checks.StatusError, Error: "trivy not found", Findings: []checks.Finding{}}), evidence.NOGO,
			"NO-GO: 1 blocking finding in 1 check", []string{"scan could not complete: trivy not found"}, nil},
		{"two checks", doc(result("key", checks.StatusFail, high), checks.Result{Check: "scan", Status: checks.StatusError, Error: "x", Findings: []checks.Finding{}}),
			evidence.NOGO, "NO-GO: 2 blocking findings in 2 checks", []string{"KEY-EXPIRED: the key expired (docs/keys/security.asc:1)", "scan could not complete: x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			engine.Judge(ctx, tt.doc)
			v := tt.doc.Verdict
			if v.Decision != tt.decision || v.Summary != tt.summary {
				t.Errorf("verdict %s / %q, want %s / %q (policy error %q)", v.Decision, v.Summary, tt.decision, tt.summary, v.PolicyError)
			}
			if d := cmp.Diff(tt.deny, msgs(v.Deny)); d != "" {
				t.Errorf("deny (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.warn, msgs(v.Warn)); d != "" {
				t.Errorf("warn (-want +got):\n%s", d)
			}
		})
	}
}

func msgs(ms []evidence.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Msg)
	}
	return out
}

func TestUserPolicyAddsDeny(t *testing.T) {
	ctx := context.Background()
	dir := writePolicy(t, "custom.rego", `package readiness

import rego.v1

deny contains msg if {
	some c in input.checks
	c.name == "scan"
	c.facts.db_age_hours > 24
	msg := {"msg": sprintf("trivy DB is %d hours old; we allow 24", [c.facts.db_age_hours]), "check": c.name, "rule": "ORG-DB-AGE", "team": "platform"}
}

deny contains "plain string denies too" if input.tool.version == "dev"
`)
	engine, err := policy.Load(ctx, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	r := result("scan", checks.StatusPass)
	r.Facts = map[string]any{"db_age_hours": 48}
	d := doc(r)
	d.Tool.Version = "dev"
	engine.Judge(ctx, d)
	if d.Verdict.Decision != evidence.NOGO {
		t.Fatalf("decision %s, want NO-GO", d.Verdict.Decision)
	}
	want := []string{"plain string denies too", "trivy DB is 48 hours old; we allow 24"}
	if diff := cmp.Diff(want, msgs(d.Verdict.Deny)); diff != "" {
		t.Errorf("deny (-want +got):\n%s", diff)
	}
	if d.Verdict.Deny[1].Meta["team"] != "platform" || d.Verdict.Deny[1].Rule != "ORG-DB-AGE" {
		t.Errorf("metadata lost: %+v", d.Verdict.Deny[1])
	}
	if !strings.Contains(strings.Join(d.Verdict.Policies, ","), "custom.rego") {
		t.Errorf("policies in effect %v do not list custom.rego", d.Verdict.Policies)
	}
}

func TestPolicyLoadErrors(t *testing.T) {
	ctx := context.Background()
	syntax := writePolicy(t, "bad.rego", "package readiness\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n")
	compileErr := writePolicy(t, "undef.rego", "package readiness\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := no_such_var\n}\n")
	empty := t.TempDir()
	tests := []struct {
		name, dir, want string
	}{
		{"syntax", syntax, filepath.Join(syntax, "bad.rego") + ":"},
		{"compile", compileErr, filepath.Join(compileErr, "undef.rego") + ":6: var no_such_var is unsafe"},
		{"empty dir", empty, "no policies found in " + empty},
		{"missing dir", filepath.Join(empty, "nope"), "policy directory " + filepath.Join(empty, "nope") + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Load(ctx, []string{tt.dir})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// A policy that fails at evaluation time must yield NO-GO, never GO.
func TestPolicyRuntimeErrorIsNOGO(t *testing.T) {
	ctx := context.Background()
	for name, src := range map[string]string{
		"builtin error": `package readiness
import rego.v1
deny contains msg if {
	x := to_number("not a number")
	msg := sprintf("%v", [x])
}`,
		"object without msg": `package readiness
import rego.v1
deny contains {"text": "forgot msg"} if true`,
		"conflict": `package readiness
import rego.v1
deny contains "a" if true
warn := {"x"} if true`,
	} {
		t.Run(name, func(t *testing.T) {
			engine, err := policy.Load(ctx, []string{writePolicy(t, "p.rego", src)})
			if err != nil {
				// A conflict may be caught at compile time: still not a GO.
				t.Logf("rejected at load: %v", err)
				return
			}
			d := doc(result("a", checks.StatusPass))
			engine.Judge(ctx, d)
			if d.Verdict.Decision != evidence.NOGO || d.Verdict.PolicyError == "" {
				t.Errorf("decision %s, policy error %q; want NO-GO with an error", d.Verdict.Decision, d.Verdict.PolicyError)
			}
		})
	}
}

func TestEmbeddedPolicyTests(t *testing.T) {
	res, err := policy.Test(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	passed, failed := policy.Count(res)
	if failed > 0 || passed < 10 {
		t.Errorf("embedded policy tests: %d passed, %d failed: %+v", passed, failed, res)
	}
}

func TestUserPolicyTestsRun(t *testing.T) {
	dir := writePolicy(t, "x_test.rego", "package x_test\nimport rego.v1\ntest_fails if { 1 == 2 }\ntest_passes if { 1 == 1 }\n")
	res, err := policy.Test(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var failedNames []string
	for _, r := range res {
		if !r.Pass {
			failedNames = append(failedNames, r.Name)
		}
	}
	if d := cmp.Diff([]string{"data.x_test.test_fails"}, failedNames); d != "" {
		t.Errorf("failed tests (-want +got):\n%s", d)
	}
}

func TestRulesDocumented(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range policy.Rules() {
		ids[r.ID] = true
	}
	for _, id := range []string{"CHECK-ERROR", "CHECK-NOT-RUN", "RUN-INTERRUPTED", "WAIVER-EXPIRED", "WAIVER-EXPIRING", "WAIVER-UNUSED", "POLICY-ERROR"} {
		if !ids[id] {
			t.Errorf("rule %s is not documented in policies/rules.yaml", id)
		}
	}
}

func BenchmarkJudge(b *testing.B) {
	ctx := context.Background()
	engine, err := policy.Load(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	var rs []checks.Result
	for i := range 5 {
		var fs []checks.Finding
		for j := range 40 {
			fs = append(fs, checks.Finding{Rule: "R", ID: "R/" + string(rune('a'+i)) + string(rune('a'+j%26)), Severity: checks.Severities[j%5], Message: "m"})
		}
		rs = append(rs, result(string(rune('a'+i)), checks.StatusFail, fs...))
	}
	for b.Loop() {
		engine.Judge(ctx, doc(rs...))
	}
}
