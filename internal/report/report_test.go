package report_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/testutil/golden"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

var t0 = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)

// sampleDoc is a NO-GO run judged by the real default policy.
func sampleDoc(t testing.TB) *evidence.Document {
	t.Helper()
	doc := &evidence.Document{
		Schema:      evidence.Schema,
		Tool:        buildinfo.Info{Name: "readiness", Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", GoVersion: "go1.26.8"},
		GeneratedAt: t0,
		Repository:  &evidence.Repository{Root: "/src/app", Commit: "89abcdef0123456789abcdef0123456789abcdef", Branch: "main"},
		Config:      evidence.ConfigRef{Path: "/src/app/readiness.yaml", Digest: "sha256:" + strings.Repeat("ab", 32)},
		Settings:    evidence.Settings{BlockOn: []string{"critical", "high"}},
		Checks: []checks.Result{
			{Check: "image-scan", Type: "image-scan", Required: true, Status: checks.StatusFail, Summary: "1 image, 2 vulnerabilities", StartedAt: t0, DurationMS: 4210,
				Subjects: []checks.Subject{{Name: "registry.example/app", Digest: "sha256:" + strings.Repeat("cd", 32)}},
				Findings: []checks.Finding{
					{Rule: "SCAN-CRITICAL-VULN", ID: "SCAN-CRITICAL-VULN/CVE-2024-0001/openssl", Severity: checks.SeverityCritical,
						Message: "openssl 3.0.1 has CVE-2024-0001 (fixed in 3.0.2)", Remediation: "Upgrade openssl to 3.0.2 or later and rebuild the image.",
						Properties: map[string]any{"cve": "CVE-2024-0001", "title": "openssl: buffer overflow in X.509", "primary_url": "https://avd.aquasec.com/nvd/cve-2024-0001", "package": "openssl"}},
					{Rule: "SCAN-HIGH-VULN", ID: "SCAN-HIGH-VULN/CVE-2024-0002/zlib", Severity: checks.SeverityHigh,
						Message: "zlib 1.2.11 has CVE-2024-0002", WaivedBy: "SCAN-HIGH-VULN/CVE-2024-0002/zlib",
						Properties: map[string]any{"cve": "CVE-2024-0002", "title": "zlib: | pipe <and> angle", "package": "zlib"}},
				},
				// A VEX statement answered for musl's CVE: shown apart from
				// the blockers in every format.
				Facts: map[string]any{"scans": []any{map[string]any{"digest": "sha256:" + strings.Repeat("cd", 32), "suppressed": []any{
					map[string]any{"finding": "SCAN-CRITICAL-VULN/CVE-2024-0003/musl/sha256:cdcdcdcdcdcd", "package": "musl", "source": "/src/app/vex/app.openvex.json",
						"status": "not_affected", "statement": "vulnerable_code_not_in_execute_path"},
					map[string]any{"finding": "SCAN-HIGH-VULN/CVE-2024-0004/busybox/sha256:cdcdcdcdcdcd", "package": "busybox", "source": "/src/app/.trivyignore", "status": "ignored"},
				}}}}},
			{Check: "security-key", Type: "security-key", Required: true, Status: checks.StatusPass, Summary: "key 0xABCDEF… valid until 2028-11-01", StartedAt: t0, DurationMS: 12, Findings: []checks.Finding{}},
			{Check: "tests", Type: "tests", Required: true, Status: checks.StatusError, Error: "go: command not found", StartedAt: t0, DurationMS: 3, Findings: []checks.Finding{}},
			{Check: "workflow", Type: "workflow", Required: false, Status: checks.StatusFail, Summary: "2 workflows", StartedAt: t0, DurationMS: 35,
				Findings: []checks.Finding{{Rule: "WF-SCAN-RESULTS-NOT-UPLOADED", ID: "WF-SCAN-RESULTS-NOT-UPLOADED/release.yml/scan", Severity: checks.SeverityLow,
					Message: "scan results are not uploaded", Location: &checks.Location{Path: "/src/app/.github/workflows/release.yml", Line: 42, Column: 9}}}},
		},
		Waivers: []evidence.WaiverStatus{
			{ID: "SCAN-HIGH-VULN/CVE-2024-0002/zlib", Reason: "not reachable", Owner: "platform", Expires: "2026-12-01", State: "expiring", DaysLeft: 7, Matched: []string{"image-scan:SCAN-HIGH-VULN/CVE-2024-0002/zlib"}},
		},
	}
	doc.Subjects = doc.Checks[0].Subjects
	engine, err := policy.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	engine.Judge(context.Background(), doc)
	doc.Verdict.Policies = []string{"embedded:policies/readiness.rego"}
	// A fixed set, so that editing the default policy does not churn goldens.
	doc.Verdict.PolicySet = &evidence.PolicySet{Embedded: evidence.EmbeddedPolicy{Version: "v1.2.3", SHA256: "sha256:" + strings.Repeat("ef", 32)}, Modules: []evidence.PolicyModule{}}
	return doc
}

// partialDoc is a GO run of one of four configured checks, judged with a
// user policy module: the partial-run and policy-set goldens.
func partialDoc(t testing.TB) *evidence.Document {
	t.Helper()
	doc := sampleDoc(t)
	doc.Checks = doc.Checks[1:2]
	doc.Subjects = nil
	doc.Waivers = []evidence.WaiverStatus{}
	doc.Only = []string{"security-key"}
	doc.NotRun = []evidence.CheckRef{{Name: "image-scan", Type: "image-scan"}, {Name: "tests", Type: "tests"}, {Name: "workflow", Type: "workflow"}}
	engine, err := policy.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	engine.Judge(context.Background(), doc)
	doc.Verdict.Policies = []string{"embedded:policies/readiness.rego", "policy/branch.rego"}
	doc.Verdict.PolicySet = &evidence.PolicySet{
		Embedded:   evidence.EmbeddedPolicy{Version: "v1.2.3", SHA256: "sha256:" + strings.Repeat("ef", 32)},
		Modules:    []evidence.PolicyModule{{Path: "policy/branch.rego", SHA256: "sha256:" + strings.Repeat("01", 32)}},
		Namespaces: []string{"main"},
	}
	return doc
}

func rules() map[string]checks.Rule {
	m := map[string]checks.Rule{}
	for _, r := range policy.Rules() {
		m[r.ID] = r
	}
	m["WF-SCAN-RESULTS-NOT-UPLOADED"] = checks.Rule{ID: "WF-SCAN-RESULTS-NOT-UPLOADED", Title: "Scan results are not uploaded", Severity: "low", Description: "d", Remediation: "Upload the SARIF with if: always()."}
	return m
}

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Assert(t, filepath.Join("testdata", name), got)
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		format, file string
		color        bool
	}{
		{"text", "nogo.txt", false},
		{"text", "nogo.color.txt", true},
		{"json", "nogo.json", false},
		{"markdown", "nogo.md", false},
		{"sarif", "nogo.sarif", false},
		{"junit", "nogo.junit.xml", false},
		{"text", "partial.txt", false},
		{"json", "partial.json", false},
		{"markdown", "partial.md", false},
		{"sarif", "partial.sarif", false},
		{"junit", "partial.junit.xml", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			doc := sampleDoc(t)
			if strings.HasPrefix(tc.file, "partial") {
				doc = partialDoc(t)
			}
			var buf bytes.Buffer
			if err := report.Write(&buf, tc.format, doc, report.Options{Color: tc.color, Rules: rules()}); err != nil {
				t.Fatal(err)
			}
			goldenFile(t, tc.file, buf.Bytes())
		})
	}
}

func TestTextVerdictLine(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, "text", sampleDoc(t), report.Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; last != "NO-GO: 2 blocking findings in 2 checks" {
		t.Errorf("last line %q", last)
	}
	if strings.Contains(buf.String(), "\x1b[") {
		t.Error("colour codes without Color")
	}
}

func TestSARIFValidAgainstSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, "sarif", sampleDoc(t), report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	rep, err := sarif.FromBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
	}
	run := rep.Runs[0]
	if got := len(run.Results); got != 5 {
		t.Errorf("results: %d, want one per finding (3), one for the errored check and one for the finding VEX suppressed", got)
	}
	// The finding a VEX statement suppressed is a result with an accepted
	// external suppression, as a waived one is, justified by the statement.
	var vex []string
	for _, r := range run.Results {
		for _, s := range r.Suppressions {
			if s.Justification != nil && strings.HasPrefix(*s.Justification, "VEX ") {
				vex = append(vex, *r.RuleID+" "+*s.Kind+" "+*s.Status+": "+*s.Justification)
			}
		}
	}
	if want := []string{"CVE-2024-0003 external accepted: VEX not_affected: vulnerable_code_not_in_execute_path (VEX document vex/app.openvex.json)"}; !slices.Equal(vex, want) {
		t.Errorf("VEX suppressions %q, want %q", vex, want)
	}
	ids := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		ids[*r.ID] = true
		if r.Properties == nil || r.Properties.Properties["security-severity"] == nil {
			t.Errorf("rule %s has no security-severity", *r.ID)
		}
		if r.Help == nil || r.Help.Text == nil || *r.Help.Text == "" {
			t.Errorf("rule %s has no help text", *r.ID)
		}
	}
	for _, want := range []string{"CVE-2024-0001", "CVE-2024-0002", "WF-SCAN-RESULTS-NOT-UPLOADED"} {
		if !ids[want] {
			t.Errorf("no SARIF rule %s (rules: %v)", want, ids)
		}
	}
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if uri := *loc.ArtifactLocation.URI; strings.HasPrefix(uri, "/") {
			t.Errorf("absolute URI %s; code scanning wants repository-relative paths", uri)
		}
	}
}

// A document with no findings must still validate (empty arrays, no nulls).
func TestSARIFEmptyValid(t *testing.T) {
	doc := sampleDoc(t)
	for i := range doc.Checks {
		doc.Checks[i].Findings = []checks.Finding{}
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, "sarif", doc, report.Options{}); err != nil {
		t.Fatal(err)
	}
	rep, err := sarif.FromBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("empty SARIF invalid: %v", err)
	}
}

func TestJUnitWellFormed(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, "junit", sampleDoc(t), report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	if suites.Tests != 4 || suites.Failures != 1 || suites.Errors != 1 {
		t.Errorf("tests=%d failures=%d errors=%d, want 4/1/1", suites.Tests, suites.Failures, suites.Errors)
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := report.Write(&bytes.Buffer{}, "pdf", sampleDoc(t), report.Options{}); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	p := report.NewProgress(&buf, report.ProgressOptions{})
	p.Event(checks.Event{Kind: checks.EventStarted, Name: "scan", Time: t0})
	p.Event(checks.Event{Kind: checks.EventFinished, Name: "scan", Time: t0, Result: &checks.Result{Status: checks.StatusError, Error: "trivy\nnot found", DurationMS: 1500}})
	// Before the policy has judged, findings are not "fail": the table
	// after the verdict may well say warn.
	p.Event(checks.Event{Kind: checks.EventFinished, Name: "workflow", Time: t0, Result: &checks.Result{Status: checks.StatusFail, Findings: []checks.Finding{{Rule: "R"}}, DurationMS: 109}})
	p.Stop()
	want := "readiness: scan started\nreadiness: scan error (1.5s): trivy not found\nreadiness: workflow finished (109ms), 1 finding\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

// lockedBuffer is written by the progress display's ticker and read by
// the test while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestProgressLive(t *testing.T) {
	var buf lockedBuffer
	p := report.NewProgress(&buf, report.ProgressOptions{Live: true, Interval: time.Millisecond, Now: func() time.Time { return t0.Add(time.Second) }})
	p.Event(checks.Event{Kind: checks.EventStarted, Name: "scan", Time: t0})
	for !strings.Contains(buf.String(), "scan  1s") { // until a live frame was drawn
		time.Sleep(time.Millisecond)
	}
	p.Event(checks.Event{Kind: checks.EventFinished, Name: "scan", Result: &checks.Result{Status: checks.StatusPass, DurationMS: 1000}})
	p.Stop()
	out := buf.String()
	if !strings.Contains(out, "scan  1s") || !strings.HasSuffix(out, "\x1b[2K✓ scan  pass 1.0s\n") {
		t.Errorf("live output: %q", out)
	}
}

// TestPromisedContent: the text report named no low finding of a check it
// showed as fail, and JUnit dropped waived findings and their waivers.
func TestPromisedContent(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"text", []string{"[low] workflow: scan results are not uploaded", ".github/workflows/release.yml:42"}},
		{"junit", []string{"SCAN-HIGH-VULN/CVE-2024-0002/zlib", "not reachable", "owner platform", "expires 2026-12-01"}},
		{"markdown", []string{"not reachable", "platform", "2026-12-01"}},
		{"sarif", []string{"not reachable"}},
		{"github", []string{"not reachable", "owner platform", "2026-12-01"}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, tc.format, sampleDoc(t), report.Options{Rules: rules()}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("%s report lacks %q:\n%s", tc.format, w, buf.String())
				}
			}
		})
	}
	// A passing check's findings stay out of "Other findings".
	doc := sampleDoc(t)
	doc.Checks[1].Findings = []checks.Finding{{Rule: "KEY-INFO", ID: "KEY-INFO", Severity: checks.SeverityInfo, Message: "a note on a passing check"}}
	var buf bytes.Buffer
	if err := report.Write(&buf, "text", doc, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "a note on a passing check") {
		t.Errorf("a passing check's info finding listed:\n%s", buf.String())
	}
}
