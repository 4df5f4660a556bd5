package report_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

// goWithFindingsDoc is a GO run whose workflow check found something the
// policy does not block on: the check itself reports "fail" (it found
// something), the gate is warn.
func goWithFindingsDoc(t testing.TB) *evidence.Document {
	t.Helper()
	doc := sampleDoc(t)
	doc.Checks = []checks.Result{doc.Checks[1], doc.Checks[3]}
	doc.Subjects, doc.Waivers = nil, []evidence.WaiverStatus{}
	engine, err := policy.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	engine.Judge(context.Background(), doc)
	if !doc.GO() || doc.Checks[1].Status != checks.StatusFail {
		t.Fatalf("fixture: %s, workflow %s", doc.Verdict.Decision, doc.Checks[1].Status)
	}
	return doc
}

// No format shows a red status for a gate under GO, nor a green or amber
// one beside that gate's blocker (issue 28, 3).
func TestStatusNeverContradictsVerdict(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  func(testing.TB) *evidence.Document
		// want per format: what must appear; not: what must not.
		want, not map[string]*regexp.Regexp
	}{
		{"GO with non-blocking findings", goWithFindingsDoc,
			map[string]*regexp.Regexp{
				"text":     regexp.MustCompile(`(?m)^workflow +warn +0 `),
				"markdown": regexp.MustCompile(`\| workflow \| ⚠️ warn \| 0 \|`),
				"html":     regexp.MustCompile(`data-check="workflow" data-status="warn"`),
				"sarif":    regexp.MustCompile(`"workflow": "warn"`),
				"junit":    regexp.MustCompile(`not blocking \[low\] WF-SCAN-RESULTS-NOT-UPLOADED`),
				"json":     regexp.MustCompile(`"name": "workflow",\s+"type": "workflow",\s+"status": "warn"`),
			},
			map[string]*regexp.Regexp{
				"text":     regexp.MustCompile(`(?m) (fail|error) `),
				"markdown": regexp.MustCompile(`❌|💥`),
				"html":     regexp.MustCompile(`data-status="(fail|error)"|b-fail"|b-error"`),
				"sarif":    regexp.MustCompile(`"(workflow|security-key)": "(fail|error)"`),
				"junit":    regexp.MustCompile(`<failure|<error`),
			}},
		{"NO-GO: the blocking gates are red", sampleDoc,
			map[string]*regexp.Regexp{
				"text":     regexp.MustCompile(`(?m)^image-scan +fail +1 `),
				"markdown": regexp.MustCompile(`\| image-scan \| ❌ fail \| 1 \|`),
				"html":     regexp.MustCompile(`data-check="image-scan" data-status="fail"`),
				"sarif":    regexp.MustCompile(`"image-scan": "fail"`),
				"junit":    regexp.MustCompile(`<failure message="1 blocking finding"`),
			},
			map[string]*regexp.Regexp{
				"html": regexp.MustCompile(`data-check="image-scan" data-status="(pass|warn)"`),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc(t)
			for _, format := range report.Formats {
				var buf bytes.Buffer
				if err := report.Write(&buf, format, doc, report.Options{Rules: rules()}); err != nil {
					t.Fatal(err)
				}
				out := buf.String()
				if re := tc.want[format]; re != nil && !re.MatchString(out) {
					t.Errorf("%s lacks %s:\n%s", format, re, out)
				}
				if re := tc.not[format]; re != nil && re.MatchString(out) {
					t.Errorf("%s shows %q under %s", format, re.FindString(out), doc.Verdict.Decision)
				}
			}
		})
	}
}

// Every gate status the verdict can give renders in every human format
// with its own word, and the page's badges only in colours that agree.
func TestEveryGateStatusRenders(t *testing.T) {
	for _, st := range []string{evidence.GatePass, evidence.GateWarn, evidence.GateFail, evidence.GateError, evidence.GateSkipped, evidence.GateNotRun} {
		if !strings.Contains(renderHTMLCSS(t), ".b-"+st) {
			t.Errorf("the page has no badge style for %s", st)
		}
	}
}

func renderHTMLCSS(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Write(&buf, "html", goWithFindingsDoc(t), report.Options{}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	return s[strings.Index(s, "<style>"):strings.Index(s, "</style>")]
}
