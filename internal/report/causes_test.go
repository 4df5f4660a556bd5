package report_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

// groupedDoc is a NO-GO run whose workflow check found one job signing 12
// images with no scan before it (one cause, 12 places), a reusable
// workflow's unscanned signing step reached from two callers (one cause,
// one place, both callers), and an unrelated ungrouped finding.
func groupedDoc(t testing.TB) *evidence.Document {
	t.Helper()
	doc := sampleDoc(t)
	var fs []checks.Finding
	for i := 1; i <= 12; i++ {
		fs = append(fs, checks.Finding{Rule: "WF-SIGN-BEFORE-SCAN", ID: fmt.Sprintf("WF-SIGN-BEFORE-SCAN/.github/workflows/release.yml/release/sign-%d", i), Severity: checks.SeverityHigh,
			Message:    fmt.Sprintf("Step `sign-%d` in job release signs ghcr.io/acme/svc%d, and no vulnerability scan runs before it: not earlier in job release, not in a job it needs.", i, i),
			Location:   &checks.Location{Path: "/src/app/.github/workflows/release.yml", Line: 20 + 4*i},
			Properties: map[string]any{"workflow": ".github/workflows/release.yml", "job": "release", "step": fmt.Sprintf("sign-%d", i), "target": fmt.Sprintf("ghcr.io/acme/svc%d", i)}})
	}
	for _, caller := range []string{".github/workflows/nightly.yml", ".github/workflows/tag.yml"} {
		fs = append(fs, checks.Finding{Rule: "WF-SCAN-NOT-BLOCKING", ID: "WF-SCAN-NOT-BLOCKING/" + caller + "/call/sign", Severity: checks.SeverityCritical,
			Message:    "Step `sign` in job call/publish signs ghcr.io/acme/base; the scan before it (trivy at .github/workflows/publish.yml:12) cannot stop it: continue-on-error is true.",
			Location:   &checks.Location{Path: "/src/app/.github/workflows/publish.yml", Line: 18},
			Properties: map[string]any{"workflow": caller, "job": "call/publish", "step": "sign", "target": "ghcr.io/acme/base"}})
	}
	doc.Checks[3].Findings = append(doc.Checks[3].Findings, fs...)
	doc.Checks[3].Summary = "3 workflows"
	engine, err := policy.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	engine.Judge(context.Background(), doc)
	doc.Verdict.Policies = []string{"embedded:policies/readiness.rego"}
	doc.Verdict.PolicySet = &evidence.PolicySet{Embedded: evidence.EmbeddedPolicy{Version: "v1.2.3", SHA256: "sha256:" + strings.Repeat("ef", 32)}, Modules: []evidence.PolicyModule{}}
	return doc
}

func groupedRules() map[string]checks.Rule {
	m := rules()
	m["WF-SIGN-BEFORE-SCAN"] = checks.Rule{ID: "WF-SIGN-BEFORE-SCAN", Title: "Images are signed before any vulnerability scan", Severity: "high",
		Description: "d", Remediation: "Add a blocking scan before the signing step, in the same job or a job it needs:\ntrivy image --exit-code 1 --severity CRITICAL,HIGH \"$IMAGE\""}
	m["WF-SCAN-NOT-BLOCKING"] = checks.Rule{ID: "WF-SCAN-NOT-BLOCKING", Title: "The scan cannot stop the signature", Severity: "high", Description: "d", Remediation: "Remove continue-on-error from the scan step."}
	return m
}

// Every human format shows the 12 unscanned signing steps as one blocker
// with 12 places, and the reusable workflow's step once with both callers;
// SARIF keeps one result per location, linked (issue 28, 1 and 2).
func TestGroupedCauses(t *testing.T) {
	doc := groupedDoc(t)
	if n := len(doc.Verdict.Deny); n != 16 {
		t.Fatalf("fixture: %d deny messages, want 16", n)
	}
	opts := report.Options{Rules: groupedRules()}
	for _, tc := range []struct {
		format, file string
		// checks on the rendering, each must hold
		want []*regexp.Regexp
		// count: a pattern and how often it must occur
		count map[string]int
	}{
		{"text", "grouped.txt", []*regexp.Regexp{regexp.MustCompile(`WF-SIGN-BEFORE-SCAN: Images are signed before any vulnerability scan \(job release\)\n   check: workflow\n   12 places:\n`)},
			map[string]int{"WF-SIGN-BEFORE-SCAN": 1, "- .github/workflows/release.yml:": 12, "1 place:": 1, "Add a blocking scan": 1, "publish.yml:18 (": 1, "also from .github/workflows/tag.yml": 1}},
		{"markdown", "grouped.md", []*regexp.Regexp{regexp.MustCompile("12 places:\n  - `.github/workflows/release.yml:24` \\(step sign-1: ghcr.io/acme/svc1\\)"), regexp.MustCompile("```sh\n  trivy image --exit-code 1")},
			map[string]int{"Images are signed before any vulnerability scan": 1, "Add a blocking scan": 1}},
		{"html", "grouped.html", []*regexp.Regexp{regexp.MustCompile(`data-rule="WF-SIGN-BEFORE-SCAN" data-places="12"`), regexp.MustCompile(`Blocking \(4 causes\)`)},
			map[string]int{`data-rule="WF-SIGN-BEFORE-SCAN"`: 1, `data-rule="WF-SCAN-NOT-BLOCKING" data-places="1"`: 1}},
		{"junit", "grouped.junit.xml", []*regexp.Regexp{regexp.MustCompile(`14 blocking findings \(2 causes\)`)},
			map[string]int{"[high] WF-SIGN-BEFORE-SCAN": 1, "at .github/workflows/release.yml:": 12}},
		{"github", "grouped.github.txt", []*regexp.Regexp{regexp.MustCompile(`(?m)^::error file=.github/workflows/release.yml,line=24,title=WF-SIGN-BEFORE-SCAN::.*%0A12 places:`)},
			map[string]int{"title=WF-SIGN-BEFORE-SCAN": 1, "title=WF-SCAN-NOT-BLOCKING": 1}},
		{"sarif", "grouped.sarif", nil,
			map[string]int{`"ruleId": "WF-SIGN-BEFORE-SCAN"`: 12, `"readinessCauseId/v1": "WF-SIGN-BEFORE-SCAN:.github/workflows/release.yml:24"`: 12}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, tc.format, doc, opts); err != nil {
				t.Fatal(err)
			}
			goldenFile(t, tc.file, buf.Bytes())
			out := buf.String()
			for _, re := range tc.want {
				if !re.MatchString(out) {
					t.Errorf("lacks %s", re)
				}
			}
			for s, n := range tc.count {
				if got := strings.Count(out, s); got != n {
					t.Errorf("%q occurs %d times, want %d", s, got, n)
				}
			}
		})
	}
}

// Blockers are ordered by severity, then path, then line.
func TestCauseOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, "text", groupedDoc(t), report.Options{Rules: groupedRules()}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^\d+\. \[(\w+)\] (\S+)`).FindAllStringSubmatch(buf.String(), -1) {
		got = append(got, m[1]+" "+m[2])
	}
	want := []string{"critical WF-SCAN-NOT-BLOCKING:", "critical SCAN-CRITICAL-VULN:", "critical tests", "high WF-SIGN-BEFORE-SCAN:"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("order %q, want %q", got, want)
	}
}

// In a browser: the grouped page shows the 12 signing steps as one blocker,
// names no /tmp/ path, and no gate's badge contradicts the banner (a red
// badge under GO, or a blocker's gate not red under NO-GO).
func TestGroupedHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	for _, tc := range []struct {
		name     string
		doc      *evidence.Document
		verdict  string
		blockers int
		// prev, when set, is compared with (--compare): the page shows
		// what changed first, and nothing else about it moves.
		prev *evidence.Document
	}{
		{"grouped NO-GO", groupedDoc(t), "NO-GO", 4, nil},
		{"GO with findings", goWithFindingsDoc(t), "GO", 0, nil},
		{"grouped NO-GO since an earlier run", groupedDoc(t), "NO-GO", 4, previousDoc(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, "html", tc.doc, report.Options{Rules: groupedRules(), Previous: tc.prev}); err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(t.TempDir(), "page.html")
			if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			dom, _ := browse(t, bin, page, "--dump-dom")
			if !strings.Contains(dom, `data-verdict="`+tc.verdict+`"`) {
				t.Fatalf("banner is not %s", tc.verdict)
			}
			if n := strings.Count(dom, `<li data-rule=`); n != tc.blockers {
				t.Errorf("%d blockers, want %d", n, tc.blockers)
			}
			if tc.blockers > 0 && !strings.Contains(dom, `data-rule="WF-SIGN-BEFORE-SCAN" data-places="12"`) {
				t.Error("the 12 signing steps are not one blocker with 12 places")
			}
			if strings.Contains(dom, "/tmp/") {
				t.Error("the page names a /tmp/ path")
			}
			if tc.prev != nil {
				since, gates := strings.Index(dom, `id="since"`), strings.Index(dom, `id="gates"`)
				if since < 0 || since > gates {
					t.Error("the page does not show what changed since the last run first")
				}
				if n := strings.Count(dom, `data-trend="`); n != tc.blockers {
					t.Errorf("%d of %d blockers marked new or still open", n, tc.blockers)
				}
			}
			for _, g := range tc.doc.Gates() {
				m := regexp.MustCompile(`data-check="` + regexp.QuoteMeta(g.Name) + `" data-status="([a-z-]+)"`).FindStringSubmatch(dom)
				if m == nil {
					t.Fatalf("no card for %s", g.Name)
				}
				red := m[1] == "fail" || m[1] == "error"
				if tc.verdict == "GO" && red || g.Blocking > 0 && !red {
					t.Errorf("%s shows %s under %s with %d blockers", g.Name, m[1], tc.verdict, g.Blocking)
				}
			}
		})
	}
}

// One step that signs a checksum file and images is one cause with two
// fixes: each member's own remedy is given, so none is wrong for it
// (issue 28, 6).
func TestCauseGivesEveryDistinctFix(t *testing.T) {
	doc := sampleDoc(t)
	loc := &checks.Location{Path: "/src/app/.github/workflows/release.yml", Line: 28}
	props := func(target string) map[string]any {
		return map[string]any{"workflow": ".github/workflows/release.yml", "job": "release", "step": "step-5", "target": target}
	}
	doc.Checks[3].Findings = append(doc.Checks[3].Findings,
		checks.Finding{Rule: "WF-SIGN-BEFORE-SCAN", ID: "WF-SIGN-BEFORE-SCAN/a", Severity: checks.SeverityHigh, Message: "signs checksums.txt", Location: loc,
			Remediation: "Scan what the signed file lists.", Properties: props("checksums.txt")},
		checks.Finding{Rule: "WF-SIGN-BEFORE-SCAN", ID: "WF-SIGN-BEFORE-SCAN/b", Severity: checks.SeverityHigh, Message: "signs the images", Location: loc,
			Remediation: "Scan the image.", Properties: props("ghcr.io/acme/app")},
		checks.Finding{Rule: "WF-SIGN-BEFORE-SCAN", ID: "WF-SIGN-BEFORE-SCAN/c", Severity: checks.SeverityHigh, Message: "signs more images", Location: loc,
			Remediation: "Scan the image.", Properties: props("ghcr.io/acme/web")})
	doc = rejudge(t, doc)
	var buf bytes.Buffer
	if err := report.Write(&buf, "text", doc, report.Options{Rules: groupedRules()}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "WF-SIGN-BEFORE-SCAN"); n != 1 {
		t.Errorf("%d blockers for one step, want 1:\n%s", n, out)
	}
	for s, n := range map[string]int{"Scan what the signed file lists.": 1, "Scan the image.": 1} {
		if got := strings.Count(out, s); got != n {
			t.Errorf("%q given %d times, want %d:\n%s", s, got, n, out)
		}
	}
}
