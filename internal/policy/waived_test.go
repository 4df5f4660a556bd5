package policy_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/policy"
)

// Issue 23 section 4: policy code that waives findings is visible. A
// module defining waived(f) turned every blocking finding into GO with
// waived_by "", so no report said anything had been waived.
func TestPolicyCodeWaiversAreNamedAndCounted(t *testing.T) {
	ctx := context.Background()
	crit := checks.Finding{Rule: "SCAN-CRITICAL-VULN", ID: "SCAN-CRITICAL-VULN/CVE-1", Severity: checks.SeverityCritical, Message: "cve"}
	high := checks.Finding{Rule: "SCAN-HIGH-VULN", ID: "SCAN-HIGH-VULN/CVE-2", Severity: checks.SeverityHigh, Message: "cve"}
	low := checks.Finding{Rule: "SCAN-LOW-VULN", ID: "SCAN-LOW-VULN/CVE-3", Severity: checks.SeverityLow, Message: "cve"}
	byWaiver := checks.Finding{Rule: "SCAN-HIGH-VULN", ID: "SCAN-HIGH-VULN/CVE-4", Severity: checks.SeverityHigh, Message: "cve", WaivedBy: "CVE-4"}
	tests := []struct {
		name    string
		src     string
		summary string
		// marked are the IDs marked as waived by policy code.
		marked []string
	}{
		{"waived(f) if true", "package readiness\n\nimport rego.v1\n\nwaived(f) if true\n", "GO, 2 blocking findings waived by %s:5", []string{crit.ID, high.ID, low.ID}},
		{"waived for one rule", "package readiness\n\nimport rego.v1\n\n# accepted risk\nwaived(f) if {\n\tf.rule == \"SCAN-CRITICAL-VULN\"\n}\n", "NO-GO: 1 blocking finding in 1 check", []string{crit.ID}},
		{"no waiving code", "package readiness\n\nimport rego.v1\n\ndeny contains \"x\" if false\n", "NO-GO: 2 blocking findings in 1 check", nil},
		{"waived in another package is not the default policy's", "package other\n\nimport rego.v1\n\nwaived(f) if true\n", "NO-GO: 2 blocking findings in 1 check", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writePolicy(t, "x.rego", tc.src)
			engine, err := policy.Load(ctx, []string{dir})
			if err != nil {
				t.Fatal(err)
			}
			d := doc(result("scan", checks.StatusFail, crit, high, low, byWaiver))
			// A mark left by an earlier judgement is not believed.
			d.Checks[0].Findings[1].WaivedBy = policy.PolicyWaiverPrefix + "elsewhere.rego:1"
			engine.Judge(ctx, d)
			want := tc.summary
			if len(tc.marked) > 0 && tc.summary[:2] == "GO" {
				want = sprintf(tc.summary, filepath.Join(dir, "x.rego"))
			}
			if d.Verdict.Summary != want {
				t.Errorf("summary %q, want %q (policy error %q)", d.Verdict.Summary, want, d.Verdict.PolicyError)
			}
			var marked []string
			for _, f := range d.Checks[0].Findings {
				if len(f.WaivedBy) > len(policy.PolicyWaiverPrefix) && f.WaivedBy[:len(policy.PolicyWaiverPrefix)] == policy.PolicyWaiverPrefix {
					marked = append(marked, f.ID)
					if f.WaivedBy != policy.PolicyWaiverPrefix+filepath.Join(dir, "x.rego")+":"+line(tc.src) {
						t.Errorf("%s waived_by %q does not name the module and line", f.ID, f.WaivedBy)
					}
				}
			}
			if diff := cmp.Diff(tc.marked, marked); diff != "" {
				t.Errorf("findings marked as waived by policy code (-want +got):\n%s", diff)
			}
			if got := d.Checks[0].Findings[3].WaivedBy; got != "CVE-4" {
				t.Errorf("a readiness.yaml waiver's mark became %q", got)
			}
		})
	}
}

func sprintf(format, s string) string { return fmt.Sprintf(format, s) }

// line is the line of the first definition of waived in src.
func line(src string) string {
	for i, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "waived(") {
			return fmt.Sprint(i + 1)
		}
	}
	return "?"
}
