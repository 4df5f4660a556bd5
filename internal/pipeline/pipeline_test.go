package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/checkstest"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/pipeline"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, body string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("readiness.yaml", []byte("version: 1\n"+body), config.LoadOptions{Now: now, KnownTypes: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestJobsTakeEverythingFromTheSpec(t *testing.T) {
	p := &pipeline.Pipeline{Gates: []checks.Gate{checkstest.Gate()}, Now: func() time.Time { return now }}
	cfg := parse(t, "checks:\n  - {name: a, type: test, required: false, timeout: 3s, block_on: [medium]}\n  - {name: b, type: test}\n")
	tests := []struct {
		name string
		sel  pipeline.Selection
		want []string // name/required/timeout of each job
		err  string
	}{
		{name: "all", sel: pipeline.Selection{Config: cfg}, want: []string{"a false 3s", "b true 10m0s"}},
		{name: "only", sel: pipeline.Selection{Config: cfg, Only: []string{"a"}}, want: []string{"a false 3s"}},
		{name: "a single-gate command's spec replaces the configured one", sel: pipeline.Selection{Config: cfg, Only: []string{"a"},
			Specs: []config.CheckSpec{{Name: "a", Type: "test", Timeout: config.Duration(time.Second)}}}, want: []string{"a true 1s"}},
		{name: "no config: the spec is added", sel: pipeline.Selection{Only: []string{"x"}, Specs: []config.CheckSpec{{Name: "x", Type: "test"}}}, want: []string{"x true 10m0s"}},
		{name: "unknown --only", sel: pipeline.Selection{Config: cfg, Only: []string{"c"}}, err: "--only c: no such check in readiness.yaml (configured: a, b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := p.Jobs(tt.sel)
			if tt.err != "" {
				var ue *pipeline.UsageError
				if !errors.As(err, &ue) || err.Error() != tt.err {
					t.Fatalf("err %v, want usage error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.Name+" "+map[bool]string{true: "true", false: "false"}[j.Required]+" "+j.Timeout.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunRecordsNotRunAndPolicySet(t *testing.T) {
	p := &pipeline.Pipeline{Gates: []checks.Gate{checkstest.Gate()}, Now: func() time.Time { return now }}
	cfg := parse(t, "checks:\n  - {name: a, type: test}\n  - {name: b, type: test}\n")
	doc, err := p.Run(context.Background(), pipeline.Selection{Config: cfg, Only: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]evidence.CheckRef{{Name: "b", Type: "test"}}, doc.NotRun); diff != "" {
		t.Errorf("not_run (-want +got):\n%s", diff)
	}
	if doc.Verdict.Summary != "GO (partial: 1 of 2 configured checks ran)" {
		t.Errorf("summary %q", doc.Verdict.Summary)
	}
	if doc.Verdict.PolicySet == nil || doc.Verdict.PolicySet.Embedded.SHA256 == "" {
		t.Errorf("policy set not recorded: %+v", doc.Verdict.PolicySet)
	}
	// Re-judging a document that lost its record refuses.
	doc.Verdict.PolicySet = nil
	err = p.Rejudge(context.Background(), doc, pipeline.Selection{})
	if !errors.Is(err, pipeline.ErrPolicySet) {
		t.Errorf("rejudge without a recorded set: %v", err)
	}
}

// TestGOSaysWhatItCovered: a full run over fewer gates than the repository
// calls for says which are missing and why (issue 27, 7: a GO was printed
// where no test had run); require: makes an absent gate blocking.
func TestGOSaysWhatItCovered(t *testing.T) {
	p := &pipeline.Pipeline{Gates: []checks.Gate{checkstest.Gate()}, Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name, require string
		files         map[string]string
		summary       string
		uncovered     []evidence.GateNeed
		denyRule      string
	}{
		{name: "a repository with a unittest suite and a Dockerfile",
			files:   map[string]string{"tests/test_core.py": "import unittest\n", "Dockerfile": "FROM scratch\n"},
			summary: "GO — 1 of 3 gates configured; not configured: tests (a unittest suite was found: tests/test_core.py (import unittest)), image-scan (Dockerfile builds an image)",
			uncovered: []evidence.GateNeed{{Type: "tests", Why: "a unittest suite was found: tests/test_core.py (import unittest)"},
				{Type: "image-scan", Why: "Dockerfile builds an image"}}},
		{name: "require: makes an absent gate blocking", require: "require: [tests]\n",
			files:     map[string]string{"go.mod": "module x\n"},
			uncovered: []evidence.GateNeed{{Type: "tests", Why: "a go suite was found: go.mod", Required: true}},
			denyRule:  "GATE-NOT-CONFIGURED"},
		{name: "required and not called for", require: "require: [workflow]\n",
			uncovered: []evidence.GateNeed{{Type: "workflow", Why: "required by readiness.yaml require:", Required: true}},
			denyRule:  "GATE-NOT-CONFIGURED"},
		{name: "nothing more called for", summary: "GO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
				os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
			}
			os.Mkdir(filepath.Join(dir, ".git"), 0o755)
			cfg, err := config.Parse(filepath.Join(dir, "readiness.yaml"), []byte("version: 1\n"+tc.require+"checks:\n  - {name: a, type: test}\n"),
				config.LoadOptions{Now: now, KnownTypes: []string{"test", "tests", "workflow", "image-scan", "security-key"}})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Dir = dir
			doc, err := p.Run(context.Background(), pipeline.Selection{Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.uncovered, doc.Coverage.Uncovered); diff != "" {
				t.Errorf("uncovered (-want +got):\n%s", diff)
			}
			if tc.summary != "" && doc.Verdict.Summary != tc.summary {
				t.Errorf("summary %q\nwant    %q", doc.Verdict.Summary, tc.summary)
			}
			if tc.denyRule != "" {
				if doc.Verdict.Decision != evidence.NOGO || len(doc.Verdict.Deny) == 0 || doc.Verdict.Deny[0].Rule != tc.denyRule {
					t.Errorf("verdict %+v, want NO-GO by %s", doc.Verdict, tc.denyRule)
				}
			}
		})
	}
}
