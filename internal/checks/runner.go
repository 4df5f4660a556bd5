package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// Job is one configured check ready to run.
type Job struct {
	Name     string
	Type     string
	Required bool
	Timeout  time.Duration
	BlockOn  []Severity
	Check    Check
	// TimeoutAdvice says how to give the check more time, for the error
	// of a check that ran out of it (default: its timeout in readiness.yaml).
	TimeoutAdvice string
}

// EventKind says what happened to a check.
type EventKind int

const (
	// EventStarted is sent when a check begins.
	EventStarted EventKind = iota
	// EventFinished is sent with the check's final Result.
	EventFinished
)

// Event reports progress; renderers turn it into live lines.
type Event struct {
	Kind   EventKind
	Name   string
	Time   time.Time
	Result *Result
}

// Runner executes checks concurrently, each under its own timeout.
type Runner struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Events, when set, receives progress. Calls are serialized.
	Events func(Event)
	// Grace is how long a check may take to return after its context ends
	// before it is abandoned and reported as an error. A check that ignores
	// cancellation must not hang the run.
	Grace time.Duration
}

const defaultGrace = 2 * time.Second

// ErrRunTimedOut is the cause of a run context whose own deadline (not a
// check's) passed.
var ErrRunTimedOut = errors.New("the run timed out")

// Run runs every job and returns their results sorted by name. It returns
// when every check has finished or been abandoned.
func (r *Runner) Run(ctx context.Context, jobs []Job) []Result {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	grace := r.Grace
	if grace == 0 {
		grace = defaultGrace
	}
	var emitMu sync.Mutex
	emit := func(e Event) {
		if r.Events == nil {
			return
		}
		emitMu.Lock()
		defer emitMu.Unlock()
		r.Events(e)
	}

	results := make([]Result, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := now()
			emit(Event{Kind: EventStarted, Name: job.Name, Time: start})
			res := runOne(ctx, job, grace)
			res.Check, res.Type, res.Required, res.BlockOn = job.Name, job.Type, job.Required, job.BlockOn
			res.StartedAt = start.UTC()
			res.DurationMS = now().Sub(start).Milliseconds()
			if res.Findings == nil {
				res.Findings = []Finding{}
			}
			results[i] = res
			// The event gets its own copy: results is sorted after the
			// run, and a pointer into it would then name another check.
			final := res
			emit(Event{Kind: EventFinished, Name: job.Name, Time: now(), Result: &final})
		}()
	}
	wg.Wait()
	sort.SliceStable(results, func(a, b int) bool { return results[a].Check < results[b].Check })
	return results
}

type outcome struct {
	res Result
	err error
	// abandoned is set when the check did not return within the grace
	// period after its context ended.
	abandoned bool
}

func runOne(parent context.Context, job Job, grace time.Duration) Result {
	// The cause names this deadline, so that a check cut short (a test
	// runner killed mid-build) can say which deadline fired: its own, or
	// the run's (which the parent's cause names).
	advice := job.TimeoutAdvice
	if advice == "" {
		advice = "raise its timeout in readiness.yaml"
	}
	ctx, cancel := context.WithTimeoutCause(parent, job.Timeout, fmt.Errorf("%w: the check's %s timeout ran out (%s)", context.DeadlineExceeded, job.Timeout, advice))
	defer cancel()
	done := make(chan outcome, 1) // buffered: an abandoned check must not leak blocked
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("check panicked: %v (at %s)", p, panicSite())}
			}
		}()
		res, err := job.Check.Run(ctx)
		done <- outcome{res: res, err: err}
	}()

	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		select {
		case o = <-done:
		case <-time.After(grace):
			o = outcome{err: ctx.Err(), abandoned: true}
		}
	}
	return settle(ctx, parent, job, o)
}

// settle turns an outcome into a Result that fails closed.
func settle(ctx, parent context.Context, job Job, o outcome) Result {
	res := o.res
	// A check that returned an error after its context ended was cut short;
	// one that returned cleanly finished, whatever happened afterwards.
	cutShort := o.abandoned || (o.err != nil && ctx.Err() != nil)
	switch {
	case cutShort && errors.Is(context.Cause(parent), ErrRunTimedOut):
		res.Status = StatusError
		res.Error = fmt.Sprintf("stopped before it finished: %v", context.Cause(parent))
	case cutShort && parent.Err() != nil:
		res.Status = StatusError
		res.Error = "interrupted before it finished"
	case cutShort && errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.Status = StatusError
		advice := job.TimeoutAdvice
		if advice == "" {
			advice = "raise its timeout in readiness.yaml"
		}
		res.Error = fmt.Sprintf("timed out after %s (%s if it needs longer)", job.Timeout, advice)
	case o.err != nil:
		res.Status = StatusError
		res.Error = o.err.Error()
	default:
		switch res.Status {
		case StatusPass, StatusFail, StatusSkipped, StatusError:
		case "":
			// A check that forgot its status is judged by its findings.
			res.Status = StatusPass
			if len(res.Findings) > 0 {
				res.Status = StatusFail
			}
		default:
			res.Error = fmt.Sprintf("check reported unknown status %q", res.Status)
			res.Status = StatusError
		}
		if res.Status == StatusPass && len(res.Findings) > 0 {
			res.Status = StatusFail
		}
		if res.Status == StatusError && res.Error == "" {
			res.Error = "the check reported an error without saying why"
		}
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		if !f.Severity.Valid() {
			// Unknown severity must not slip under the blocking threshold.
			f.Severity = SeverityCritical
		}
		if f.ID == "" {
			f.ID = f.Rule
		}
	}
	return res
}

// panicSite names the frame that panicked, without dumping a stack trace.
func panicSite() string {
	st := string(debug.Stack())
	// The panicking frame follows "panic(" in the trace.
	lines := strings.Split(st, "\n")
	for i, l := range lines {
		if len(l) > 6 && l[:6] == "panic(" && i+3 < len(lines) {
			return strings.TrimSpace(lines[i+3])
		}
	}
	return "unknown"
}
