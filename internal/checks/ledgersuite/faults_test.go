package ledgersuite

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/ledger"
)

// The suite must fail on a broken ledger: each fake below wraps the real
// ledger and reintroduces one class of bug (the review's among them), and
// the test checks that the scenarios of that invariant catch it with the
// right rule ID. The fakes exist only to provoke faults.

// legacyRowLedger waits the way the reviewed router did: it polls the
// inflight row every 50 ms and believes the row, not the output, so a
// row recreated as waiting and then failed masks a completed output.
type legacyRowLedger struct{ *ledger.Ledger }

func (l legacyRowLedger) Wait(ctx context.Context, key string, opts ...ledger.WaitOption) (ledger.Result, error) {
	ready := ledger.ApplyWaitOptions(opts...).OnWaiting
	for {
		st, err := l.Inspect(ctx, key)
		if err != nil {
			return ledger.Result{}, err
		}
		if ready != nil {
			ready(st)
			ready = nil
		}
		switch {
		case st.Attempt != nil && st.Attempt.Status == ledger.AttemptFailed:
			return ledger.Result{}, &ledger.FailedError{Key: key, Owner: st.Attempt.Owner, Message: st.Attempt.Error}
		case st.Attempt == nil && st.Output != nil:
			return ledger.Result{Output: st.Output.Data, Source: ledger.Shared}, nil
		}
		select {
		case <-ctx.Done():
			return ledger.Result{}, &ledger.TimeoutError{Key: key, Last: st, Cause: ctx.Err()}
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// silentFailureLedger's waiters never hear of failures.
type silentFailureLedger struct{ *ledger.Ledger }

func (l silentFailureLedger) Wait(ctx context.Context, key string, opts ...ledger.WaitOption) (ledger.Result, error) {
	var after int64
	for {
		res, err := l.Ledger.Wait(ctx, key, append(opts, ledger.After(after))...)
		var fe *ledger.FailedError
		if !errors.As(err, &fe) {
			return res, err
		}
		after = fe.Token
	}
}

// emptyIsNothingLedger treats an empty output as no output.
type emptyIsNothingLedger struct{ *ledger.Ledger }

func (l emptyIsNothingLedger) Wait(ctx context.Context, key string, opts ...ledger.WaitOption) (ledger.Result, error) {
	res, err := l.Ledger.Wait(ctx, key, opts...)
	if err == nil && len(res.Output) == 0 {
		<-ctx.Done()
		return ledger.Result{}, &ledger.TimeoutError{Key: key, Cause: ctx.Err()}
	}
	return res, err
}

// overstayLedger's waits outlive their deadline by a second and a half.
type overstayLedger struct{ *ledger.Ledger }

func (l overstayLedger) Wait(ctx context.Context, key string, opts ...ledger.WaitOption) (ledger.Result, error) {
	res, err := l.Ledger.Wait(ctx, key, opts...)
	if errors.Is(err, context.DeadlineExceeded) {
		time.Sleep(1500 * time.Millisecond)
	}
	return res, err
}

// grabbyLedger's claims ignore live leases.
type grabbyLedger struct{ *ledger.Ledger }

func (l grabbyLedger) Claim(ctx context.Context, key, owner string, lease time.Duration) (ledger.Claim, error) {
	c, err := l.Ledger.Claim(ctx, key, owner, lease)
	if err == nil && !c.Owned && c.State.Output == nil {
		if err := l.UnsafeRecreate(ctx, key, owner, lease); err != nil {
			return c, err
		}
		c.Owned = true
	}
	return c, err
}

// loyalLedger's Do never takes over: it waits for the owner, dead or not.
type loyalLedger struct{ *ledger.Ledger }

func (l loyalLedger) Do(ctx context.Context, key string, generate func(context.Context) ([]byte, error), opts ...ledger.WaitOption) (ledger.Result, error) {
	owner := l.NewOwnerID()
	c, err := l.Claim(ctx, key, owner, l.Lease())
	if err != nil {
		return ledger.Result{}, err
	}
	if c.Owned {
		out, err := generate(ctx)
		if err != nil {
			return ledger.Result{}, err
		}
		st, _, err := l.Complete(ctx, key, owner, out)
		return ledger.Result{Output: st.Output.Data, Source: ledger.Generated}, err
	}
	return l.Ledger.Wait(ctx, key, opts...)
}

// rowBoundLedger gives up waiting as soon as a key has no inflight row.
type rowBoundLedger struct{ *ledger.Ledger }

func (l rowBoundLedger) Wait(ctx context.Context, key string, opts ...ledger.WaitOption) (ledger.Result, error) {
	st, err := l.Inspect(ctx, key)
	if err == nil && st.Output == nil && st.Attempt == nil {
		return ledger.Result{}, errors.New("no such key")
	}
	var wopts []ledger.WaitOption
	wopts = append(wopts, opts...)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for wctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			if st, err := l.Inspect(wctx, key); err == nil && st.Output == nil && st.Attempt == nil {
				cancel()
			}
		}
	}()
	return l.Ledger.Wait(wctx, key, wopts...)
}

// lockedLedger lets "database is locked" through on every fifth claim (a
// count, not a dice roll: on a loaded machine the scenario makes only a
// few dozen claims, and 1 in 20 at random then often let none through).
type lockedLedger struct {
	*ledger.Ledger
	claims *atomic.Int64
}

func (l lockedLedger) Claim(ctx context.Context, key, owner string, lease time.Duration) (ledger.Claim, error) {
	if l.claims.Add(1)%5 == 0 {
		return ledger.Claim{}, errors.New("claim: database is locked (5) (SQLITE_BUSY)")
	}
	return l.Ledger.Claim(ctx, key, owner, lease)
}

func wrap[T Ledger](f func(*ledger.Ledger) T) OpenFunc {
	return func(ctx context.Context, dsn string, o ledger.Options) (Ledger, error) {
		l, err := ledger.Open(ctx, dsn, o)
		if err != nil {
			return nil, err
		}
		return f(l), nil
	}
}

func TestSuiteCatchesFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		open OpenFunc
		run  string
		want string // the rule that must fail
	}{
		{"the review's bug: the row masks the output", wrap(func(l *ledger.Ledger) Ledger { return legacyRowLedger{l} }), "review-restart|row-cleared", RuleLostOutput},
		{"failures are not delivered", wrap(func(l *ledger.Ledger) Ledger { return silentFailureLedger{l} }), "failure/delivered", RuleFailureLost},
		{"an empty output is nothing", wrap(func(l *ledger.Ledger) Ledger { return emptyIsNothingLedger{l} }), "empty-output", RuleEmptyOutput},
		{"waits overstay their deadline", wrap(func(l *ledger.Ledger) Ledger { return overstayLedger{l} }), "wait-unbounded", RuleWaitUnbounded},
		{"claims ignore live leases", wrap(func(l *ledger.Ledger) Ledger { return grabbyLedger{l} }), "claim-race", RuleDoubleOwner},
		{"nobody takes over a dead owner", wrap(func(l *ledger.Ledger) Ledger { return loyalLedger{l} }), "owner-killed", RuleNoTakeover},
		{"a cleared row ends the wait", wrap(func(l *ledger.Ledger) Ledger { return rowBoundLedger{l} }), "late-write", RuleLateWriteLost},
		{"database is locked reaches callers", wrap(func(l *ledger.Ledger) Ledger { return lockedLedger{l, new(atomic.Int64)} }), "busy-writers", RuleStoreFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			rep, err := Run(ctx, Config{
				DSN: "sqlite://" + t.TempDir() + "/ledger.db", Modes: []Mode{InProcess},
				Run: regexp.MustCompile(tt.run), Open: tt.open, WaitTimeout: 3 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			res := Evaluate(rep)
			var rules []string
			for _, f := range res.Findings {
				rules = append(rules, f.Rule)
				if f.Rule == tt.want {
					t.Logf("caught: %s: %s", f.ID, f.Message)
				}
			}
			if !strings.Contains(strings.Join(rules, " "), tt.want) {
				t.Errorf("the suite did not catch the fault: want a %s finding, got %v (summary: %s)", tt.want, rules, res.Summary)
			}
		})
	}
}
