package checks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
)

func fn(f func(ctx context.Context) (checks.Result, error)) checks.Check { return checks.CheckFunc(f) }

func TestRunnerStatuses(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	jobs := []checks.Job{
		{Name: "e-pass", Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			return checks.Result{Status: checks.StatusPass}, nil
		})},
		{Name: "d-fail", Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			return checks.Result{Status: checks.StatusFail, Findings: []checks.Finding{{Rule: "R", Severity: checks.SeverityHigh}}}, nil
		})},
		{Name: "c-error", Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			return checks.Result{Status: checks.StatusPass}, errors.New("trivy not found")
		})},
		{Name: "b-panic", Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			var m map[string]int
			m["x"] = 1 // a real runtime panic, not a polite one
			return checks.Result{}, nil
		})},
		{Name: "a-hang", Timeout: 50 * time.Millisecond, Check: fn(func(ctx context.Context) (checks.Result, error) {
			<-ctx.Done()
			return checks.Result{Status: checks.StatusPass}, ctx.Err()
		})},
		{Name: "f-stubborn", Timeout: 50 * time.Millisecond, Check: fn(func(context.Context) (checks.Result, error) {
			<-release // ignores its context entirely
			return checks.Result{Status: checks.StatusPass}, nil
		})},
		{Name: "g-pass-with-findings", Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			// Claims pass but has findings: reported as fail.
			return checks.Result{Status: checks.StatusPass, Findings: []checks.Finding{{Rule: "R", Severity: "bogus"}}}, nil
		})},
		{Name: "h-weird-status", Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			return checks.Result{Status: "green"}, nil
		})},
		{Name: "i-error-without-reason", Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			return checks.Result{Status: checks.StatusError}, nil
		})},
	}
	r := &checks.Runner{Grace: 100 * time.Millisecond}
	start := time.Now()
	results := r.Run(context.Background(), jobs)
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("a hung check hung the run: %s", el)
	}
	want := map[string]struct {
		status checks.Status
		errSub string
	}{
		"a-hang":                 {checks.StatusError, "timed out after 50ms"},
		"b-panic":                {checks.StatusError, "check panicked: assignment to entry in nil map"},
		"c-error":                {checks.StatusError, "trivy not found"},
		"d-fail":                 {checks.StatusFail, ""},
		"e-pass":                 {checks.StatusPass, ""},
		"f-stubborn":             {checks.StatusError, "timed out after 50ms"},
		"g-pass-with-findings":   {checks.StatusFail, ""},
		"h-weird-status":         {checks.StatusError, `unknown status "green"`},
		"i-error-without-reason": {checks.StatusError, "without saying why"},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d", len(results), len(want))
	}
	for i, res := range results {
		if i > 0 && results[i-1].Check > res.Check {
			t.Errorf("results not sorted by name: %s before %s", results[i-1].Check, res.Check)
		}
		w := want[res.Check]
		if res.Status != w.status {
			t.Errorf("%s: status %s, want %s (error %q)", res.Check, res.Status, w.status, res.Error)
		}
		if w.errSub != "" && !strings.Contains(res.Error, w.errSub) {
			t.Errorf("%s: error %q, want it to contain %q", res.Check, res.Error, w.errSub)
		}
		if strings.Contains(res.Error, "goroutine ") {
			t.Errorf("%s: error carries a stack trace: %q", res.Check, res.Error)
		}
		if res.Findings == nil {
			t.Errorf("%s: findings is nil, want an empty list for stable JSON", res.Check)
		}
	}
	g := results[6]
	if g.Findings[0].Severity != checks.SeverityCritical {
		t.Errorf("unknown severity became %q, want critical (fail closed)", g.Findings[0].Severity)
	}
	if g.Findings[0].ID != "R" {
		t.Errorf("empty finding ID should default to the rule, got %q", g.Findings[0].ID)
	}
}

func TestRunnerInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	quickDone := make(chan struct{})
	jobs := []checks.Job{
		{Name: "quick", Timeout: time.Minute, Check: fn(func(context.Context) (checks.Result, error) {
			defer close(quickDone)
			return checks.Result{Status: checks.StatusPass}, nil
		})},
		{Name: "slow", Timeout: time.Minute, Check: fn(func(ctx context.Context) (checks.Result, error) {
			<-ctx.Done()
			return checks.Result{}, ctx.Err()
		})},
	}
	go func() { <-quickDone; cancel() }()
	results := (&checks.Runner{Grace: time.Second}).Run(ctx, jobs)
	if results[0].Check != "quick" || results[0].Status != checks.StatusPass {
		t.Errorf("finished check lost: %+v", results[0])
	}
	if results[1].Status != checks.StatusError || results[1].Error != "interrupted before it finished" {
		t.Errorf("interrupted check: status %s error %q", results[1].Status, results[1].Error)
	}
}

func TestRunnerEvents(t *testing.T) {
	var started, finished atomic.Int32
	jobs := make([]checks.Job, 5)
	for i := range jobs {
		jobs[i] = checks.Job{Name: fmt.Sprintf("c%d", i), Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			return checks.Result{Status: checks.StatusPass}, nil
		})}
	}
	r := &checks.Runner{Events: func(e checks.Event) {
		switch e.Kind {
		case checks.EventStarted:
			started.Add(1)
		case checks.EventFinished:
			if e.Result == nil || e.Result.Status != checks.StatusPass {
				t.Errorf("finished event without a passing result: %+v", e)
			}
			finished.Add(1)
		}
	}}
	r.Run(context.Background(), jobs)
	if started.Load() != 5 || finished.Load() != 5 {
		t.Errorf("events: %d started, %d finished, want 5 and 5", started.Load(), finished.Load())
	}
}

// BenchmarkRunnerConcurrency runs 20 checks that each sleep 200ms. The wall
// time per run should stay close to 200ms, not 4s: checks run concurrently.
func BenchmarkRunnerConcurrency(b *testing.B) {
	jobs := make([]checks.Job, 20)
	for i := range jobs {
		jobs[i] = checks.Job{Name: fmt.Sprintf("sleep-%02d", i), Timeout: 10 * time.Second, Check: fn(func(ctx context.Context) (checks.Result, error) {
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return checks.Result{}, ctx.Err()
			}
			return checks.Result{Status: checks.StatusPass}, nil
		})}
	}
	r := &checks.Runner{}
	for b.Loop() {
		res := r.Run(context.Background(), jobs)
		if res[0].Status != checks.StatusPass {
			b.Fatal(res[0].Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
}

// A finished event's Result must still describe its own check after Run
// returns: the live display draws its last frame then, after the results
// were sorted by name (jobs arrive in config order, not name order).
func TestRunnerEventResultsSurviveSort(t *testing.T) {
	statuses := map[string]checks.Status{"workflow": checks.StatusFail, "tests": checks.StatusPass, "security-key": checks.StatusError}
	var jobs []checks.Job
	for _, name := range []string{"workflow", "tests", "security-key"} {
		st := statuses[name]
		jobs = append(jobs, checks.Job{Name: name, Timeout: time.Second, Check: fn(func(context.Context) (checks.Result, error) {
			if st == checks.StatusError {
				return checks.Result{}, errors.New("broken")
			}
			r := checks.Result{Status: st}
			if st == checks.StatusFail {
				r.Findings = []checks.Finding{{Rule: "R", Severity: checks.SeverityHigh}}
			}
			return r, nil
		})})
	}
	got := map[string]*checks.Result{}
	r := &checks.Runner{Events: func(e checks.Event) {
		if e.Kind == checks.EventFinished {
			got[e.Name] = e.Result
		}
	}}
	r.Run(context.Background(), jobs)
	for name, want := range statuses {
		if res := got[name]; res == nil || res.Check != name || res.Status != want {
			t.Errorf("event for %s now says %+v, want its own result (%s)", name, res, want)
		}
	}
}
