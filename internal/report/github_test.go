package report_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
)

// A workflow command as the runner parses it: ::name key=value,...::data.
// Property values may not hold raw ':' or ',' (they end the value) and no
// part may hold a raw newline; '%' only starts an escape.
var commandRE = regexp.MustCompile(`^::(error|warning|notice)( ([a-zA-Z]+=[^:,\r\n]*)(,[a-zA-Z]+=[^:,\r\n]*)*)?::([^\r\n]*)$`)

// unescape reverses @actions/core's escaping.
func unescape(s string, property bool) string {
	pairs := []string{"%0D", "\r", "%0A", "\n"}
	if property {
		pairs = append(pairs, "%3A", ":", "%2C", ",")
	}
	return strings.NewReplacer(append(pairs, "%25", "%")...).Replace(s)
}

func TestGitHubAnnotations(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, "github", richDoc(t), report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "rich.github.txt", buf.Bytes())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	kinds := map[string]int{}
	titles := map[string]string{}
	for _, l := range lines[:len(lines)-1] {
		m := commandRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a workflow command: %q", l)
		}
		kinds[m[1]]++
		props := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSpace(m[2]), ",") {
			k, v, _ := strings.Cut(kv, "=")
			props[k] = unescape(v, true)
		}
		if props["file"] == "" || strings.HasPrefix(props["file"], "/") {
			t.Errorf("annotation without a repository-relative file: %q", l)
		}
		titles[props["title"]] = props["file"] + ":" + props["line"]
		_ = unescape(m[5], false)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "NO-GO") {
		t.Errorf("last line %q, want the verdict", last)
	}
	if kinds["error"] != 5 || kinds["warning"] == 0 || kinds["notice"] != 2 {
		t.Errorf("commands %v, want 5 errors, warnings, 2 notices (the waived finding, the one VEX suppressed)", kinds)
	}
	for title, want := range map[string]string{
		"ORG-FREEZE":                             "testdata/policy/freeze.rego:8",
		"WAIVER-EXPIRED":                         "readiness.yaml:15",
		"SCAN-CRITICAL-VULN":                     "readiness.yaml:3",
		"SCAN-CRITICAL-VULN (suppressed by VEX)": "readiness.yaml:3",
	} {
		if got := titles[title]; got != want {
			t.Errorf("%s located at %q, want %q", title, got, want)
		}
	}
}

func TestGitHubEscaping(t *testing.T) {
	doc := richDoc(t)
	doc.Verdict.Deny[0].Msg = "100% broken:\r\nline two, and more"
	doc.Verdict.Deny[0].Rule = "A:B,C%"
	var buf bytes.Buffer
	if err := report.Write(&buf, "github", doc, report.Options{}); err != nil {
		t.Fatal(err)
	}
	// Blockers are ordered by severity and place, so find the one edited.
	var first string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "broken") {
			first = l
		}
	}
	m := commandRE.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("not a workflow command: %q", first)
	}
	if !strings.Contains(first, "title=A%3AB%2CC%25") {
		t.Errorf("title not escaped as a property: %q", first)
	}
	if got := unescape(m[5], false); !strings.HasPrefix(got, "100% broken:\r\nline two, and more") {
		t.Errorf("message round-trips to %q", got)
	}
}

// Issue 13 item 7: a deny that belongs to no finding still becomes a SARIF
// result, located where it was caused, and the run is not reported as a
// clean execution with no results.
func TestSARIFVerdictResults(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, "sarif", richDoc(t), report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "rich.sarif", buf.Bytes())
	rep, err := sarif.FromBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("SARIF invalid: %v", err)
	}
	at := map[string]string{}
	for _, r := range rep.Runs[0].Results {
		loc := r.Locations[0].PhysicalLocation
		at[*r.RuleID] = *loc.ArtifactLocation.URI + ":" + itoa(*loc.Region.StartLine)
	}
	for rule, want := range map[string]string{"ORG-FREEZE": "testdata/policy/freeze.rego:8", "WAIVER-EXPIRED": "readiness.yaml:15"} {
		if at[rule] != want {
			t.Errorf("%s at %q, want %q (results: %v)", rule, at[rule], want, at)
		}
	}
	// An expired waiver alone: once `results: []`.
	doc := sampleDoc(t)
	for i := range doc.Checks {
		doc.Checks[i].Findings = []checks.Finding{}
		doc.Checks[i].Status = "pass"
		doc.Checks[i].Facts = nil
	}
	doc.Waivers[0].State, doc.Waivers[0].Location = "expired", "/src/app/readiness.yaml:9"
	judge(t, doc)
	buf.Reset()
	if err := report.Write(&buf, "sarif", doc, report.Options{}); err != nil {
		t.Fatal(err)
	}
	rep, _ = sarif.FromBytes(buf.Bytes())
	if n := len(rep.Runs[0].Results); n != 1 || *rep.Runs[0].Results[0].RuleID != "WAIVER-EXPIRED" {
		t.Fatalf("expired waiver alone gives %d results, want one WAIVER-EXPIRED\n%s", n, buf.String())
	}
	if uri := *rep.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "readiness.yaml" {
		t.Errorf("located at %s", uri)
	}
}

// TestCustomRuleLocated: a custom deny that returns a plain string or an
// object with only "msg" (and "check", as the README's example) pointed at
// readiness.yaml:1, not at the policy line that produced it.
func TestCustomRuleLocated(t *testing.T) {
	root := t.TempDir()
	pol := `package readiness

import rego.v1

deny contains "release freeze: no Friday releases" if {
	input.schema != ""
}

deny contains {"msg": sprintf("image %v is too old", ["app"]), "check": "image-scan"} if {
	some c in input.checks
	c.name == "image-scan"
}

deny contains msg if {
	input.schema != ""
	msg := {"msg": "no owner named"}
}
`
	if err := os.MkdirAll(filepath.Join(root, "policy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "policy", "org.rego"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "readiness.yaml"), []byte("version: 1\nchecks:\n  - name: image-scan\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := sampleDoc(t)
	doc.Repository.Root = root
	doc.Config.Path = filepath.Join(root, "readiness.yaml")
	doc.Checks[3].Findings[0].Location.Path = filepath.Join(root, ".github/workflows/release.yml")
	engine, err := policy.Load(context.Background(), []string{filepath.Join(root, "policy")})
	if err != nil {
		t.Fatal(err)
	}
	engine.Judge(context.Background(), doc)
	var buf bytes.Buffer
	if err := report.Write(&buf, "github", doc, report.Options{Rules: rules()}); err != nil {
		t.Fatal(err)
	}
	for msg, want := range map[string]string{
		"release freeze: no Friday releases": "file=policy/org.rego,line=5,",
		"image app is too old":               "file=policy/org.rego,line=9,",
		"no owner named":                     "file=policy/org.rego,line=14,",
	} {
		found := false
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.HasSuffix(l, "::"+msg) {
				found = true
				if !strings.Contains(l, want) {
					t.Errorf("%q located as %q, want %s", msg, l, want)
				}
			}
		}
		if !found {
			t.Errorf("no annotation for %q:\n%s", msg, buf.String())
		}
	}
}
