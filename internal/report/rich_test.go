package report_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

// richDoc is a NO-GO release that exercises every part of the HTML page:
// a tests gate with a flaky and a failing test over three runs, an image
// scan, an expiring and an expired waiver, and a custom rule that belongs
// to no check. Paths point into testdata so that locations resolve.
func richDoc(t testing.TB) *evidence.Document {
	t.Helper()
	root, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	doc := sampleDoc(t)
	doc.Repository.Root = root
	doc.Repository.Remote = "https://example.com/acme/app.git"
	doc.Config.Path = filepath.Join(root, "readiness.yaml")
	doc.Checks[3].Findings[0].Location.Path = filepath.Join(root, ".github/workflows/release.yml")
	digest := "sha256:" + strings.Repeat("cd", 32)
	doc.Checks[0].Facts = map[string]any{
		"scans": []any{map[string]any{"name": "registry.example/app", "reference": "registry.example/app:1.4.0", "digest": digest, "platform": "linux/amd64",
			"suppressed": []any{map[string]any{"finding": "SCAN-CRITICAL-VULN/CVE-2024-0003/musl/sha256:cdcdcdcdcdcd", "package": "musl",
				"source": filepath.Join(root, "vex/app.cdx.json"), "status": "fixed", "statement": "code_not_reachable | <pipe>"}}}},
		"trivy":  map[string]any{"version": "0.74.0"},
		"counts": map[string]any{"critical": 1, "high": 1},
	}
	doc.Checks[2] = checks.Result{Check: "tests", Type: "tests", Required: true, Status: checks.StatusFail, Summary: "1 suite(s), 3 run(s): 7 passed, 2 failed, 0 errors, 0 skipped",
		StartedAt: t0, DurationMS: 61_500,
		Findings: []checks.Finding{
			{Rule: "TESTS-FLAKY", ID: "TESTS-FLAKY/unit/TestCache", Severity: checks.SeverityHigh, Message: "TestCache failed in 1 of 3 runs"},
			{Rule: "TESTS-FAILED", ID: "TESTS-FAILED/unit/TestLedger<lost>", Severity: checks.SeverityCritical, Message: "TestLedger<lost> failed in every run"},
		},
		Facts: map[string]any{
			"log_dir": "/var/tmp/readiness-tests-1234",
			"suites": []any{map[string]any{
				"name": "unit",
				"runs": []any{
					map[string]any{"run": 1, "exit_code": 1, "duration_ms": 20_100, "log": "/var/tmp/readiness-tests-1234/unit-1.log"},
					map[string]any{"run": 2, "exit_code": 1, "duration_ms": 20_400, "log": "/var/tmp/readiness-tests-1234/unit-2.log"},
					map[string]any{"run": 3, "exit_code": 1, "duration_ms": 21_000, "log": "/var/tmp/readiness-tests-1234/unit-3.log"},
				},
				"tests": map[string]any{
					"pkg/TestCache":        []any{"passed", "failed", "passed"},
					"pkg/TestLedger<lost>": []any{"failed", "failed", "failed"},
					"pkg/TestSlow":         []any{"passed", "skipped", "passed"},
					"pkg/TestFine":         []any{"passed", "passed", "passed"},
				},
			}},
		},
	}
	doc.Waivers = append(doc.Waivers, evidence.WaiverStatus{ID: "KEY-NO-EXPIRY", Reason: "rotated in the next release", Owner: "security",
		Expires: "2026-11-01", State: "expired", DaysLeft: -24, Matched: []string{}, Location: filepath.Join(root, "readiness.yaml") + ":15"})
	doc.Waivers[0].Reason = "not reachable: | we never inflate"
	doc.Waivers[0].Location = filepath.Join(root, "readiness.yaml") + ":11"
	engine, err := policy.Load(context.Background(), []string{"testdata/policy"})
	if err != nil {
		t.Fatal(err)
	}
	engine.Judge(context.Background(), doc)
	return doc
}

func judge(t testing.TB, doc *evidence.Document) {
	t.Helper()
	engine, err := policy.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	engine.Judge(context.Background(), doc)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestMarkdownOneFinding: one finding is not "All 1 findings".
func TestMarkdownOneFinding(t *testing.T) {
	doc := sampleDoc(t)
	n := 0
	for i := range doc.Checks {
		if n > 0 {
			doc.Checks[i].Findings = nil
		}
		if len(doc.Checks[i].Findings) > 0 {
			doc.Checks[i].Findings = doc.Checks[i].Findings[:1]
			n++
		}
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, "markdown", doc, report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "All 1 findings") {
		t.Errorf("markdown says \"All 1 findings\":\n%s", buf.String())
	}
}
