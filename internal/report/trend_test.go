package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

// rejudge runs the real default policy over doc again, as a run would.
func rejudge(t testing.TB, doc *evidence.Document) *evidence.Document {
	t.Helper()
	engine, err := policy.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc.Verdict = evidence.Verdict{}
	engine.Judge(context.Background(), doc)
	doc.Verdict.Policies = []string{"embedded:policies/readiness.rego"}
	doc.Verdict.PolicySet = &evidence.PolicySet{Embedded: evidence.EmbeddedPolicy{Version: "v1.2.3", SHA256: "sha256:" + strings.Repeat("ef", 32)}, Modules: []evidence.PolicyModule{}}
	return doc
}

// previousDoc is the run a week before groupedDoc: the release job signed
// 10 images, not 12, at other lines and in other words; openssl's CVE was
// found in another image build; the tests gate passed and the reusable
// workflow had no finding (so both are new now); and curl's CVE and an
// expired key blocked then, and are fixed now. The key's message carries
// a terminal escape and markup, as an edited file could.
func previousDoc(t testing.TB) *evidence.Document {
	t.Helper()
	doc := groupedDoc(t)
	doc.GeneratedAt = t0.AddDate(0, 0, -7)
	doc.Repository.Commit = "0011223344556677889900112233445566778899"
	img := &doc.Checks[0]
	img.Findings[0].ID = "SCAN-CRITICAL-VULN/CVE-2024-0001/openssl/sha256:1111"
	img.Findings = append(img.Findings, checks.Finding{Rule: "SCAN-CRITICAL-VULN", ID: "SCAN-CRITICAL-VULN/CVE-2023-9999/curl", Severity: checks.SeverityCritical,
		Message: "curl 8.0.0 has CVE-2023-9999 (fixed in 8.0.1)", Properties: map[string]any{"cve": "CVE-2023-9999", "package": "curl"}})
	doc.Checks[1].Status = checks.StatusFail
	doc.Checks[1].Findings = []checks.Finding{{Rule: "KEY-EXPIRED", ID: "KEY-EXPIRED", Severity: checks.SeverityCritical,
		Message: "the key expired\x1b[2J on 2026-11-01 <script>alert(1)</script>", Location: &checks.Location{Path: "/src/app/docs/keys/security.asc", Line: 1}}}
	doc.Checks[2] = checks.Result{Check: "tests", Type: "tests", Required: true, Status: checks.StatusPass, Findings: []checks.Finding{}, StartedAt: doc.GeneratedAt}
	var wf []checks.Finding
	for _, f := range doc.Checks[3].Findings {
		switch {
		case f.Rule == "WF-SCAN-NOT-BLOCKING":
			continue
		case f.Rule == "WF-SIGN-BEFORE-SCAN":
			var n int
			fmt.Sscanf(f.Properties["step"].(string), "sign-%d", &n)
			if n > 10 {
				continue
			}
			f.Location = &checks.Location{Path: f.Location.Path, Line: f.Location.Line + 3}
			f.Message = fmt.Sprintf("Step at line %d signs %s before any scan.", f.Location.Line, f.Properties["target"])
		}
		wf = append(wf, f)
	}
	doc.Checks[3].Findings = wf
	return rejudge(t, doc)
}

// Every format marks each blocker against the earlier run, matched by
// cause and not by line or wording, and lists what was fixed (issue 28, 8).
func TestCompareGolden(t *testing.T) {
	doc, prev := groupedDoc(t), previousDoc(t)
	opts := report.Options{Rules: groupedRules(), Previous: prev}
	for _, tc := range []struct {
		format, file string
		want         []*regexp.Regexp
		count        map[string]int
	}{
		{"text", "compare.txt", []*regexp.Regexp{
			regexp.MustCompile(`Since the last run \(the run of 2026-11-17 09:30 UTC at commit 001122334455\): 2 new, 2 still open, 2 fixed`),
			regexp.MustCompile(`\d\. \[high\] \(still open\) WF-SIGN-BEFORE-SCAN: Images are signed`),
			regexp.MustCompile(`\d\. \[critical\] \(still open\) SCAN-CRITICAL-VULN: openssl`),
			regexp.MustCompile(`\d\. \[critical\] \(new\) WF-SCAN-NOT-BLOCKING`),
			regexp.MustCompile(`\d\. \[critical\] \(new\) tests could not complete`),
			regexp.MustCompile(`- fixed: \[critical\] SCAN-CRITICAL-VULN: curl 8.0.0 has CVE-2023-9999`)},
			map[string]int{"fixed:": 2, "\x1b": 0}},
		{"markdown", "compare.md", []*regexp.Regexp{regexp.MustCompile(`### Since the last run\n\nCompared with the run of 2026-11-17 09:30 UTC at commit 001122334455: 2 new, 2 still open, 2 fixed.`),
			regexp.MustCompile("- \\*\\*high\\*\\* _still open_ · WF-SIGN-BEFORE-SCAN")},
			map[string]int{"🆕 _new_": 2, "_still open_": 2, "_fixed:_": 2, "<script>": 0}},
		{"html", "compare.html", []*regexp.Regexp{regexp.MustCompile(`(?s)id="since".*id="gates".*id="blockers"`),
			regexp.MustCompile(`data-rule="WF-SIGN-BEFORE-SCAN" data-places="12" data-trend="still open"`)},
			map[string]int{`data-trend="new"`: 2, `data-fixed-rule=`: 2, "<script>": 0, "\x1b": 0}},
		{"github", "compare.github.txt", []*regexp.Regexp{regexp.MustCompile(`(?m)^::error file=.github/workflows/release.yml,line=24,title=WF-SIGN-BEFORE-SCAN \(still open\)::`),
			regexp.MustCompile(`(?m)^::notice title=SCAN-CRITICAL-VULN \(fixed since the last run\)::\[critical\] SCAN-CRITICAL-VULN: curl`)},
			map[string]int{"(new)::": 2, "(fixed since the last run)": 2, "\x1b": 0}},
		{"junit", "compare.junit.xml", []*regexp.Regexp{regexp.MustCompile(`\[high\] \(still open\) WF-SIGN-BEFORE-SCAN`)},
			map[string]int{`name="readiness.fixed"`: 2, `name="readiness.new"`: 2}},
		{"sarif", "compare.sarif", nil,
			map[string]int{`"trend": "still-open"`: 13, `"trend": "new"`: 3}},
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

// shown counts, per format, the verdict's blockers a rendering shows and
// says what verdict it prints.
var shown = map[string]struct {
	blockers *regexp.Regexp
	nogo     string
}{
	"text":     {regexp.MustCompile(`(?m)^\d+\. \[`), "\nNO-GO: "},
	"markdown": {regexp.MustCompile(`(?m)^- \*\*`), "## ⛔ readiness: NO-GO"},
	"html":     {regexp.MustCompile(`<li data-rule=`), `data-verdict="NO-GO"`},
	"github":   {regexp.MustCompile(`(?m)^::error `), "\nNO-GO: "},
	"junit":    {regexp.MustCompile(`type="NO-GO"`), `failures="`},
	"sarif":    {regexp.MustCompile(`"blocking": true`), `"verdict": "NO-GO"`},
}

// A comparison is a label, never a judgement: whatever the earlier document
// says (the same blockers, none, a GO, an edit claiming every current
// blocker, a document of another shape), the verdict is unchanged, every
// current blocker is shown, and none is called fixed.
func TestCompareNeverChangesVerdict(t *testing.T) {
	doc := groupedDoc(t)
	want, _ := json.Marshal(doc.Verdict)
	edited := groupedDoc(t)
	// An edit that makes the earlier run claim GO with every current
	// blocker "already known", and more blockers it says were fixed.
	edited.Verdict.Decision, edited.Verdict.Summary = evidence.GO, "GO"
	edited.Verdict.Deny = append(edited.Verdict.Deny, evidence.Message{Msg: "WF-SIGN-BEFORE-SCAN: everything is fixed", Rule: "WF-SIGN-BEFORE-SCAN", Check: "workflow"})
	emptied := groupedDoc(t)
	emptied.Checks, emptied.Verdict = nil, evidence.Verdict{Decision: evidence.GO}
	for _, tc := range []struct {
		name string
		prev *evidence.Document
		// fixed is how many earlier blockers are listed as fixed.
		fixed int
	}{
		{"the same run", groupedDoc(t), 0},
		{"an earlier GO", goWithFindingsDoc(t), 0},
		// Its one extra blocker is listed as fixed; nothing current is.
		{"an edit claiming GO and every blocker", edited, 1},
		{"an emptied document", emptied, 0},
		{"an earlier run with other blockers", previousDoc(t), 2},
	} {
		for format, s := range shown {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				var plain, cmp2 bytes.Buffer
				if err := report.Write(&plain, format, doc, report.Options{Rules: groupedRules()}); err != nil {
					t.Fatal(err)
				}
				if err := report.Write(&cmp2, format, doc, report.Options{Rules: groupedRules(), Previous: tc.prev}); err != nil {
					t.Fatal(err)
				}
				if got, _ := json.Marshal(doc.Verdict); !bytes.Equal(got, want) {
					t.Fatalf("rendering changed the verdict:\n%s", cmp.Diff(string(want), string(got)))
				}
				if !strings.Contains(cmp2.String(), s.nogo) {
					t.Errorf("the comparison lost the NO-GO verdict (%q)", s.nogo)
				}
				if a, b := len(s.blockers.FindAllString(plain.String(), -1)), len(s.blockers.FindAllString(cmp2.String(), -1)); a != b || a == 0 {
					t.Errorf("%d blockers shown with the comparison, %d without", b, a)
				}
				if format == "junit" && plain.String()[:200] != cmp2.String()[:200] {
					t.Errorf("the comparison changed the suite's counts:\n%s\n%s", plain.String()[:200], cmp2.String()[:200])
				}
				if format == "text" {
					if n := strings.Count(cmp2.String(), "fixed: ["); n != tc.fixed {
						t.Errorf("%d earlier blockers listed as fixed, want %d", n, tc.fixed)
					}
					// Every current cause is new or still open, never fixed.
					if n := len(regexp.MustCompile(`(?m)^\d+\. \[\w+\] \((new|still open)\) `).FindAllString(cmp2.String(), -1)); n != 4 {
						t.Errorf("%d of 4 blockers are marked new or still open:\n%s", n, cmp2.String())
					}
				}
			})
		}
	}
}

// What the earlier run is known by: lines that moved and messages that
// quote them do not make a blocker new, and a changed image digest does
// not make a CVE new; a different job or package does.
func TestCompareMatchesByCause(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(f *checks.Finding)
		state string
	}{
		{"lines moved, message reworded", func(f *checks.Finding) {
			if f.Location != nil {
				f.Location.Line += 40
			}
			f.Message = "at line 99: " + f.Message
		}, "still open"},
		{"another image digest", func(f *checks.Finding) { f.ID += "/sha256:ffff" }, "still open"},
		{"another job", func(f *checks.Finding) {
			if f.Properties["job"] != nil {
				f.Properties["job"] = "other"
			}
		}, "new"},
		{"another package", func(f *checks.Finding) {
			if f.Properties["cve"] != nil {
				f.Properties["package"] = "libssl"
			}
		}, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := groupedDoc(t)
			for i := range prev.Checks {
				for j := range prev.Checks[i].Findings {
					f := &prev.Checks[i].Findings[j]
					props := map[string]any{}
					for k, v := range f.Properties {
						props[k] = v
					}
					f.Properties = props
					tc.edit(f)
				}
			}
			prev = rejudge(t, prev)
			var buf bytes.Buffer
			if err := report.Write(&buf, "text", groupedDoc(t), report.Options{Rules: groupedRules(), Previous: prev}); err != nil {
				t.Fatal(err)
			}
			for _, rule := range []string{"WF-SIGN-BEFORE-SCAN", "SCAN-CRITICAL-VULN"} {
				re := regexp.MustCompile(`(?m)^\d+\. \[\w+\] \(([a-z ]+)\) ` + rule)
				m := re.FindStringSubmatch(buf.String())
				if m == nil {
					t.Fatalf("no %s blocker:\n%s", rule, buf.String())
				}
				want := tc.state
				if (tc.name == "another job" && rule != "WF-SIGN-BEFORE-SCAN") || (tc.name == "another package" && rule != "SCAN-CRITICAL-VULN") {
					want = "still open"
				}
				if m[1] != want {
					t.Errorf("%s is %q, want %q", rule, m[1], want)
				}
			}
		})
	}
}

// An earlier blocker whose check gave no result this run (left out by
// --only, errored, skipped) is not "fixed": a partial run must not read as
// progress.
func TestCompareUncheckedIsNotFixed(t *testing.T) {
	errored := groupedDoc(t)
	errored.Checks[3] = checks.Result{Check: "workflow", Type: "workflow", Status: checks.StatusError, Error: "boom", Findings: []checks.Finding{}, StartedAt: t0}
	errored = rejudge(t, errored)
	for _, tc := range []struct {
		name             string
		doc              *evidence.Document
		fixed, unchecked string
	}{
		{"a partial run", partialDoc(t), "0 fixed", "4 earlier blockers not checked again"},
		{"the workflow check errored", errored, "0 fixed", "2 earlier blockers not checked again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{"text", "markdown", "html"} {
				var buf bytes.Buffer
				if err := report.Write(&buf, format, tc.doc, report.Options{Rules: groupedRules(), Previous: groupedDoc(t)}); err != nil {
					t.Fatal(err)
				}
				for _, s := range []string{tc.fixed, tc.unchecked} {
					if !strings.Contains(buf.String(), s) {
						t.Errorf("%s lacks %q", format, s)
					}
				}
				if strings.Contains(buf.String(), "fixed:") || strings.Contains(buf.String(), "t-fixed\">") {
					t.Errorf("%s lists an unchecked blocker as fixed", format)
				}
			}
		})
	}
}
