package report_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

// Issue 23 section 4: a finding waived by policy code names the module and
// line in every format, and the verdict line counts it.
func TestEveryFormatNamesPolicyCodeWaivers(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "x.rego")
	if err := os.WriteFile(mod, []byte("package readiness\n\nimport rego.v1\n\nwaived(f) if true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Load(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	doc := &evidence.Document{Schema: evidence.Schema, GeneratedAt: t0, Settings: evidence.Settings{BlockOn: []string{"critical", "high"}}, Waivers: []evidence.WaiverStatus{},
		Checks: []checks.Result{{Check: "image-scan", Type: "image-scan", Required: true, Status: checks.StatusFail, Findings: []checks.Finding{
			{Rule: "SCAN-CRITICAL-VULN", ID: "SCAN-CRITICAL-VULN/CVE-2099-0001/musl", Severity: checks.SeverityCritical, Message: "musl has CVE-2099-0001"},
		}}}}
	engine.Judge(context.Background(), doc)
	at := mod + ":5"
	if want := "GO, 1 blocking finding waived by " + at; report.VerdictLine(doc) != want {
		t.Fatalf("verdict line %q, want %q", report.VerdictLine(doc), want)
	}
	for _, format := range report.Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, format, doc, report.Options{}); err != nil {
				t.Fatal(err)
			}
			// JSON escapes nothing in a path like this one.
			if !strings.Contains(buf.String(), at) {
				t.Errorf("%s output does not name %s:\n%s", format, at, buf.String())
			}
		})
	}
}
