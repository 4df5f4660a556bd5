package workflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/checkstest"
)

// TestRulesNamed proves every rule the gate's source names is in
// rules.yaml: the judge's, and the step interpreter's notes
// (graph.Finding), which the judge grades from the same table.
func TestRulesNamed(t *testing.T) {
	for _, dir := range []string{".", "steps"} {
		t.Run(dir, func(t *testing.T) { checkstest.RulesNamed(t, dir, book) })
	}
}

// TestFindingsFromTable checks, over every fixture, that a finding's
// severity and remediation are its rule's in rules.yaml and that its ID is
// RULE/subject: the gate names the rule, the table grades it.
func TestFindingsFromTable(t *testing.T) {
	dirs, err := os.ReadDir("testdata/cases")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			rep, err := Analyze(context.Background(), filepath.Join("testdata/cases", d.Name()), DefaultDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				checked++
				r, ok := book.Rule(f.Rule)
				if !ok {
					t.Errorf("%s: rule %s is not in rules.yaml", f.ID, f.Rule)
					continue
				}
				if f.Severity != r.Severity {
					t.Errorf("%s: severity %s, rules.yaml says %s", f.ID, f.Severity, r.Severity)
				}
				want := strings.TrimSpace(r.Remediation)
				for _, rem := range r.CaseRemediation {
					if f.Remediation == strings.TrimSpace(rem) {
						want = f.Remediation // a case's own remedy, from the table too
					}
				}
				if f.Remediation != want {
					t.Errorf("%s: remediation %q, rules.yaml says %q", f.ID, f.Remediation, want)
				}
				if !strings.HasPrefix(f.ID, f.Rule+"/") {
					t.Errorf("%s: ID does not start with %s/", f.ID, f.Rule)
				}
			}
		})
	}
	if checked == 0 {
		t.Error("no fixture raised a finding")
	}
}

// TestActionlintFindings covers the WF-ACTIONLINT findings no fixture
// raises: an unreadable actionlint configuration, and one message repeated
// in a file (numbered, so that each keeps a waiverable ID).
func TestActionlintFindings(t *testing.T) {
	const twice = `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ github.evnt_name }}
      - run: echo ${{ github.evnt_name }}
`
	// Messages are actionlint's own wording, so they are left out; what
	// the gate decides is the ID, the location and the properties.
	lint := func(subject string, loc *checks.Location, props map[string]any) checks.Finding {
		return book.Finding("WF-ACTIONLINT", subject, "", loc).With(props)
	}
	const ci = ".github/workflows/ci.yml"
	tests := []struct {
		name  string
		files map[string]string
		want  []checks.Finding
	}{
		{
			name: "unreadable config",
			files: map[string]string{
				".github/actionlint.yaml": "self-hosted-runner: [\n",
				ci:                        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
			},
			want: []checks.Finding{lint("config", &checks.Location{Path: ".github/actionlint.yaml"}, nil)},
		},
		{
			name:  "repeated message",
			files: map[string]string{ci: twice},
			want: []checks.Finding{
				lint(ci+"/expression/eeac7641", &checks.Location{Path: ci, Line: 6}, map[string]any{"kind": "expression"}),
				lint(ci+"/expression/eeac7641/2", &checks.Location{Path: ci, Line: 7}, map[string]any{"kind": "expression"}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, s := range tt.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Analyze(context.Background(), root, DefaultDir)
			if err != nil {
				t.Fatal(err)
			}
			var got []checks.Finding
			for _, f := range rep.Findings {
				if f.Rule == "WF-ACTIONLINT" {
					f.Message = "" // actionlint's wording is its own
					if f.Location != nil {
						f.Location.Column = 0
					}
					got = append(got, f)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// Issue 28, 6: a step that signs a file (goreleaser's signs: of the
// checksums and archives) is told to scan what the file lists, not "the
// image"; a step that signs images is told to scan the image.
func TestFileSigningRemedy(t *testing.T) {
	rep, err := Analyze(context.Background(), filepath.Join("testdata/cases", "goreleaser-no-scan"), DefaultDir)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := book.Rule("WF-SIGN-BEFORE-SCAN")
	want := map[string]string{
		"WF-SIGN-BEFORE-SCAN/.github/workflows/release.yml/goreleaser/step-5":   strings.TrimSpace(r.CaseRemediation["file"]),
		"WF-SIGN-BEFORE-SCAN/.github/workflows/release.yml/goreleaser/step-5#2": strings.TrimSpace(r.Remediation),
	}
	for _, f := range rep.Findings {
		w, ok := want[f.ID]
		if !ok {
			continue
		}
		delete(want, f.ID)
		if f.Remediation != w {
			t.Errorf("%s: remediation %q, want %q", f.ID, f.Remediation, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("findings missing: %v", want)
	}
	if strings.Contains(r.CaseRemediation["file"], "the image") {
		t.Error("the file case's remedy speaks of the image")
	}
}
