package pipeline_test

import (
	"context"
	"errors"
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
