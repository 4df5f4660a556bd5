package ledger

import (
	"errors"
	"fmt"
	"time"
)

// Output is a completed generation. Once stored it is terminal for the
// retention period: no later claim, failure or row re-creation hides it.
type Output struct {
	Data        []byte    `json:"data"`
	Owner       string    `json:"owner"`
	CompletedAt time.Time `json:"completed_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// AttemptStatus is the state of the latest generation attempt.
type AttemptStatus string

const (
	// AttemptRunning means an owner holds a lease and is generating.
	AttemptRunning AttemptStatus = "running"
	// AttemptFailed means the owner reported a failure.
	AttemptFailed AttemptStatus = "failed"
)

// Attempt is the latest claim of a key (the "inflight row").
type Attempt struct {
	Owner string `json:"owner"`
	// Token increases with every claim of any key in the store; it orders
	// attempts and fences an owner whose lease was taken over.
	Token      int64         `json:"token"`
	Status     AttemptStatus `json:"status"`
	Error      string        `json:"error,omitempty"`
	LeaseUntil time.Time     `json:"lease_until"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// State is what the store holds for a key.
type State struct {
	Key     string   `json:"key"`
	Output  *Output  `json:"output,omitempty"`
	Attempt *Attempt `json:"attempt,omitempty"`
	// ReadAt is the store's clock when the state was read; leases are
	// judged against it, not against the local clock.
	ReadAt time.Time `json:"read_at"`
}

// Phase summarises a state.
type Phase string

const (
	PhaseAbsent    Phase = "absent"
	PhaseRunning   Phase = "running"
	PhaseExpired   Phase = "lease-expired"
	PhaseFailed    Phase = "failed"
	PhaseCompleted Phase = "completed"
)

// Phase is what a waiter cares about: an output beats everything.
func (s State) Phase() Phase {
	switch {
	case s.Output != nil && s.ReadAt.Before(s.Output.ExpiresAt):
		return PhaseCompleted
	case s.Attempt == nil:
		return PhaseAbsent
	case s.Attempt.Status == AttemptFailed:
		return PhaseFailed
	case !s.ReadAt.Before(s.Attempt.LeaseUntil):
		return PhaseExpired
	default:
		return PhaseRunning
	}
}

// Describe renders the state in one line for errors and logs.
func (s State) Describe() string {
	switch p := s.Phase(); p {
	case PhaseCompleted:
		return fmt.Sprintf("completed by %s at %s (%d bytes)", s.Output.Owner, s.Output.CompletedAt.Format(time.RFC3339Nano), len(s.Output.Data))
	case PhaseAbsent:
		return "absent (no claim, no output)"
	case PhaseFailed:
		return fmt.Sprintf("failed by %s: %s", s.Attempt.Owner, s.Attempt.Error)
	case PhaseExpired:
		return fmt.Sprintf("claimed by %s, lease expired %s ago", s.Attempt.Owner, s.ReadAt.Sub(s.Attempt.LeaseUntil).Round(time.Millisecond))
	default:
		return fmt.Sprintf("running: claimed by %s, lease %s left", s.Attempt.Owner, s.Attempt.LeaseUntil.Sub(s.ReadAt).Round(time.Millisecond))
	}
}

// merge returns the newer knowledge of two states of one key. An output
// is never forgotten for an older or output-less state; attempts are
// ordered by token, a failure beats a run of the same token, and a later
// lease beats an earlier one.
func merge(old, cur State) State {
	out := cur
	if old.ReadAt.After(cur.ReadAt) {
		out.ReadAt = old.ReadAt
	}
	switch {
	case cur.Output == nil:
		out.Output = old.Output
	case old.Output != nil && old.Output.CompletedAt.After(cur.Output.CompletedAt):
		out.Output = old.Output
	}
	if old.Attempt != nil && newerAttempt(old.Attempt, cur.Attempt) {
		out.Attempt = old.Attempt
	}
	return out
}

func newerAttempt(a, b *Attempt) bool {
	if b == nil {
		return false // the row is gone: believe the store
	}
	if a.Token != b.Token {
		return a.Token > b.Token
	}
	if a.Status != b.Status {
		return a.Status == AttemptFailed
	}
	return a.LeaseUntil.After(b.LeaseUntil)
}

// Source says how Do obtained its output.
type Source string

const (
	// Generated: this call ran generate and its output was stored.
	Generated Source = "generated"
	// Shared: another caller's generation, received while waiting.
	Shared Source = "shared"
	// Replayed: an output already retained when the call began.
	Replayed Source = "replayed"
)

// Result is an output and how it was obtained.
type Result struct {
	Output []byte `json:"output"`
	Source Source `json:"source"`
	// Owner produced the output.
	Owner       string    `json:"owner"`
	CompletedAt time.Time `json:"completed_at"`
}

func resultOf(o *Output, src Source) Result {
	data := o.Data
	if data == nil {
		data = []byte{}
	}
	return Result{Output: data, Source: src, Owner: o.Owner, CompletedAt: o.CompletedAt}
}

// Claim is the outcome of a claim: exactly one of Owned and Output is
// set, or neither when another owner's lease is live.
type Claim struct {
	Owned bool  `json:"owned"`
	State State `json:"state"`
}

var (
	// ErrCompleted: the key already has a retained output; a failure or a
	// new claim cannot replace it.
	ErrCompleted = errors.New("key already has a retained output")
	// ErrNotOwner: the caller does not hold the key's running attempt.
	ErrNotOwner = errors.New("not the owner of the running attempt")
	// ErrClosed: the ledger was closed.
	ErrClosed = errors.New("ledger closed")
)

// FailedError is an owner's failure delivered to a waiter.
type FailedError struct {
	Key     string
	Owner   string
	Token   int64
	Message string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("key %s: generation by %s failed: %s", KeyRef(e.Key), e.Owner, e.Message)
}

// TimeoutError ends a wait that reached its deadline or whose context
// ended. It names the key, the last state seen and how long it waited.
type TimeoutError struct {
	Key     string
	Last    State
	Elapsed time.Duration
	Cause   error
}

func (e *TimeoutError) Error() string {
	what := "timed out"
	if errors.Is(e.Cause, errCanceled) {
		what = "canceled"
	}
	return fmt.Sprintf("wait for key %s %s after %s; last state: %s", KeyRef(e.Key), what, e.Elapsed.Round(time.Millisecond), e.Last.Describe())
}

func (e *TimeoutError) Unwrap() error { return e.Cause }
