package ledgersuite

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/ledger"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// Rule IDs, one per invariant.
const (
	RuleLostOutput    = "LEDGER-LOST-OUTPUT"
	RuleWaitUnbounded = "LEDGER-WAIT-UNBOUNDED"
	RuleDoubleOwner   = "LEDGER-DOUBLE-OWNER"
	RuleNoTakeover    = "LEDGER-NO-TAKEOVER"
	RuleFailureLost   = "LEDGER-FAILURE-NOT-DELIVERED"
	RuleEmptyOutput   = "LEDGER-EMPTY-OUTPUT"
	RuleLateWriteLost = "LEDGER-LATE-WRITE-LOST"
	RuleStoreFault    = "LEDGER-STORE-FAULT"
)

// Scenario is one invariant exercised one way.
type Scenario struct {
	Name      string
	Rule      string
	Invariant string
	// Skip, when it returns a reason, skips the scenario for a store/mode.
	Skip func(d ledger.DSN, m Mode) string
	// OwnLedgerOnly: the scenario reaches into readiness's own ledger
	// (its PostgreSQL connections); it is not listed for a driver.
	OwnLedgerOnly bool
	// NeedsFailover: listed only when Config.Failover is set.
	NeedsFailover bool
	Run           func(ctx context.Context, e *Env) error
}

// Bounds the scenarios judge by. They are generous: the suite proves
// correctness (a wait that ends by its deadline, a takeover near the
// lease, a failure delivered long before a timeout); speed is measured by
// `readiness ledger bench`.
const (
	callTimeout = 30 * time.Second
	readyWithin = 20 * time.Second
	// DefaultWaitTimeout is what waiters that must be answered wait at
	// most; an answer that arrives as a timeout fails the invariant.
	DefaultWaitTimeout = 15 * time.Second
	// answerWithin bounds how long the suite waits for any answer.
	answerWithin = 45 * time.Second
	// promptly: a failure must arrive this soon after Fail commits.
	promptly = 2 * time.Second
	// overshootMax is how far past its deadline a wait may return.
	overshootMax = time.Second
	// takeoverMargin is added to the lease for a takeover.
	takeoverMargin = 3 * time.Second
	// DefaultLease is the actors' lease.
	DefaultLease = 2 * time.Second
)

func scenarios() []Scenario {
	return []Scenario{
		{Name: "lost-output/review-restart", Rule: RuleLostOutput, Run: reviewRestart,
			Invariant: "the review's bug: owner completes; a restarted router recreates the row as waiting; the new owner fails; the waiter still gets the output"},
		{Name: "lost-output/owner-killed-after-complete", Rule: RuleLostOutput, Run: killedAfterComplete,
			Invariant: "an output survives the death of the process that committed it, and of every process"},
		{Name: "lost-output/row-cleared", Rule: RuleLostOutput, Run: rowCleared,
			Invariant: "an output survives its attempt row being cleared and recreated, and a later failure"},
		{Name: "lost-output/waiters-during-commit", Rule: RuleLostOutput, Run: waitersDuringCommit,
			Invariant: "routers that start waiting while the owner commits (their ledger just opened) get the output at once, never wait for their timeout"},
		{Name: "lost-output/first-output-wins", Rule: RuleLostOutput, Run: firstOutputWins,
			Invariant: "when two owners complete, every waiter gets the same, first, output"},
		{Name: "wait-unbounded/deadline", Rule: RuleWaitUnbounded, Run: waitDeadline,
			Invariant: "no wait outlives its deadline; the timeout names the key, the last state and the time waited"},
		{Name: "double-owner/claim-race", Rule: RuleDoubleOwner, Run: claimRace,
			Invariant: "while a lease is live, exactly one of many concurrent claimers becomes owner"},
		{Name: "double-owner/do-race", Rule: RuleDoubleOwner, Run: doRace,
			Invariant: "many concurrent Do calls generate once and all get that output"},
		{Name: "no-takeover/owner-killed", Rule: RuleNoTakeover, Run: ownerKilled,
			Invariant: "when the owner dies mid-generation a waiter takes over within the lease plus a margin"},
		{Name: "failure/delivered", Rule: RuleFailureLost, Run: failureDelivered,
			Invariant: "an owner's failure reaches its waiters promptly, with its message, not as a timeout"},
		{Name: "failure/recovery", Rule: RuleFailureLost, Run: failureRecovery,
			Invariant: "after a failure, a retry's output reaches a waiter still within its deadline"},
		{Name: "empty-output", Rule: RuleEmptyOutput, Run: emptyOutput,
			Invariant: "an empty output is an output: delivered, replayed, never mistaken for none"},
		{Name: "late-write", Rule: RuleLateWriteLost, Run: lateWrite,
			Invariant: "an output stored after the attempt row was cleared, or by an owner that lost its lease, reaches the waiters"},
		{Name: "store-fault/busy-writers", Rule: RuleStoreFault, Run: busyWriters,
			Invariant: "contention between many writer processes never surfaces as an error (SQLite: database is locked)"},
		{Name: "store-fault/connection-killed", Rule: RuleStoreFault, Run: connectionKilled, Skip: needsPostgres, OwnLedgerOnly: true,
			Invariant: "a PostgreSQL connection killed mid-wait is re-established and the waiter still gets its output"},
		{Name: "failover/primary-killed", Rule: RuleLostOutput, Run: primaryKilled, OwnLedgerOnly: true, NeedsFailover: true,
			Invariant: "the PostgreSQL primary is SIGKILLed while outputs commit and its replica is promoted: with synchronous replication no acknowledged output is lost and every waiter gets its output"},
	}
}

func needsPostgres(d ledger.DSN, _ Mode) string {
	if d.Driver != ledger.DriverPostgres {
		return "needs PostgreSQL (pg_terminate_backend)"
	}
	return ""
}

// --- helpers ---

func call(a Actor, req Request) Response {
	r, err := a.Start(req).Done(callTimeout)
	if err != nil {
		return Response{Err: err.Error(), Kind: kindOther}
	}
	return r
}

func nonce() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func claimReq(key, owner string, lease time.Duration) Request {
	return Request{Op: "claim", Key: key, Owner: owner, Lease: lease}
}

func mustOwn(a Actor, key, owner string, lease time.Duration) error {
	r := call(a, claimReq(key, owner, lease))
	if r.Err != "" {
		return fmt.Errorf("%s: claim %s as %s: %s", a.Name(), key, owner, r.Err)
	}
	if r.Claim == nil || !r.Claim.Owned {
		return fmt.Errorf("%s: claim %s as %s: not owner: %s", a.Name(), key, owner, describe(r))
	}
	return nil
}

func mustOK(what string, r Response) error {
	if r.Err != "" {
		return fmt.Errorf("%s: %s", what, r.Err)
	}
	return nil
}

func complete(a Actor, key, owner string, out []byte) Response {
	if out == nil {
		out = []byte{}
	}
	return call(a, Request{Op: "complete", Key: key, Owner: owner, Output: out})
}

// startWait starts a waiter and returns once it is in place (or answered).
func startWait(a Actor, key string, timeout time.Duration, after int64) (*Call, error) {
	c := a.Start(Request{Op: "wait", Key: key, Timeout: timeout, After: after})
	var ended *endedError
	if err := c.AwaitReady(readyWithin); err != nil && !errors.As(err, &ended) {
		return nil, fmt.Errorf("%s: %w", a.Name(), err)
	}
	return c, nil
}

// expectOutput checks that a wait/do answered with want.
func expectOutput(who string, c *Call, want []byte) (Response, error) {
	r, err := c.Done(answerWithin)
	if err != nil {
		return r, fmt.Errorf("%s: %w", who, err)
	}
	if r.Err != "" {
		return r, fmt.Errorf("%s: want output %q, got %s", who, want, describe(r))
	}
	if r.Result == nil || !bytes.Equal(r.Result.Output, want) {
		return r, fmt.Errorf("%s: want output %q, got %s", who, want, describe(r))
	}
	return r, nil
}

func latency(from Response, to Response) time.Duration {
	return time.Duration(to.DoneNS - from.DoneNS)
}

// --- LEDGER-LOST-OUTPUT ---

// reviewRestart is the exact sequence of the review: owner A completes; a
// restarted router R recreates the inflight row as waiting (bypassing
// Claim, as the reviewed router did); R then fails ("new owner failed").
// The waiter W must get A's output, not time out, and so must anyone who
// arrives later.
func reviewRestart(ctx context.Context, e *Env) error {
	as, err := e.Actors(3)
	if err != nil {
		return err
	}
	A, W, R := as[0], as[1], as[2]
	k := e.Key("prompt")
	out := []byte("gen-1 " + nonce())
	if err := mustOwn(A, k, "A", 30*time.Second); err != nil {
		return err
	}
	w1, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	c := complete(A, k, "A", out)
	if err := mustOK("owner A completes", c); err != nil {
		return err
	}
	if r := call(R, Request{Op: "recreate", Key: k, Owner: "R", Lease: 30 * time.Second}); r.Err != "" {
		return fmt.Errorf("restarted router recreates the row: %s", r.Err)
	}
	w2, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	f := call(R, Request{Op: "fail", Key: k, Owner: "R", Msg: "new owner failed"})
	if f.Err != "" && f.Kind != kindCompleted {
		return fmt.Errorf("new owner R fails: unexpected error: %s", f.Err)
	}
	w3, err := startWait(R, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	r1, err := expectOutput("waiter (waiting before complete)", w1, out)
	if err != nil {
		return err
	}
	e.Observe("delivery", latency(c, r1))
	if _, err := expectOutput("waiter (arrived after the row was recreated)", w2, out); err != nil {
		return err
	}
	if _, err := expectOutput("waiter (arrived after the new owner failed)", w3, out); err != nil {
		return err
	}
	cl := call(R, claimReq(k, "R2", 30*time.Second))
	if cl.Err != "" || cl.Claim == nil || cl.Claim.Owned || cl.Claim.State.Output == nil || !bytes.Equal(cl.Claim.State.Output.Data, out) {
		return fmt.Errorf("a claim after the failure must report the retained output, got %s", describe(cl))
	}
	return nil
}

func killedAfterComplete(ctx context.Context, e *Env) error {
	as, err := e.Actors(2)
	if err != nil {
		return err
	}
	A, W := as[0], as[1]
	k := e.Key("prompt")
	out := []byte("survives " + nonce())
	if err := mustOwn(A, k, "A", 30*time.Second); err != nil {
		return err
	}
	w, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	c := complete(A, k, "A", out)
	if err := mustOK("owner completes", c); err != nil {
		return err
	}
	A.Crash()
	r, err := expectOutput("waiter after the owner was killed", w, out)
	if err != nil {
		return err
	}
	e.Observe("delivery", latency(c, r))
	W.Crash() // every process that knew the output is gone
	fresh := make([]Actor, 2)
	for i := range fresh {
		if fresh[i], err = e.Fresh(); err != nil {
			return err
		}
	}
	cl := call(fresh[0], claimReq(k, "F1", 30*time.Second))
	if cl.Err != "" || cl.Claim == nil || cl.Claim.Owned || cl.Claim.State.Output == nil || !bytes.Equal(cl.Claim.State.Output.Data, out) {
		return fmt.Errorf("a restarted router's claim must replay the output, got %s", describe(cl))
	}
	d := call(fresh[1], Request{Op: "do", Key: k, Timeout: e.WaitTimeout, Gen: &GenSpec{Output: []byte("regenerated")}})
	if d.Err != "" || d.Result == nil || d.Result.Source != ledger.Replayed || !bytes.Equal(d.Result.Output, out) {
		return fmt.Errorf("a restarted router's Do must replay the output, got %s", describe(d))
	}
	w2, err := startWait(fresh[1], k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	_, err = expectOutput("late waiter after every process restarted", w2, out)
	return err
}

func rowCleared(ctx context.Context, e *Env) error {
	as, err := e.Actors(3)
	if err != nil {
		return err
	}
	A, B, C := as[0], as[1], as[2]
	k := e.Key("prompt")
	out := []byte("kept " + nonce())
	if err := mustOwn(A, k, "A", 30*time.Second); err != nil {
		return err
	}
	if err := mustOK("complete", complete(A, k, "A", out)); err != nil {
		return err
	}
	if err := mustOK("clear the row", call(B, Request{Op: "forget", Key: k})); err != nil {
		return err
	}
	cl := call(B, claimReq(k, "B", 30*time.Second))
	if cl.Err != "" || cl.Claim == nil || cl.Claim.Owned {
		return fmt.Errorf("key %s: A completed %q; router %s cleared the row; router %s's claim as owner B must replay the output, not make B owner, but it answered: %s",
			k, out, B.Name(), B.Name(), describe(cl))
	}
	if err := mustOK("recreate the row", call(B, Request{Op: "recreate", Key: k, Owner: "B", Lease: 30 * time.Second})); err != nil {
		return err
	}
	if f := call(B, Request{Op: "fail", Key: k, Owner: "B", Msg: "retry failed"}); f.Err != "" && f.Kind != kindCompleted {
		return fmt.Errorf("fail after recreate: %s", f.Err)
	}
	w, err := startWait(C, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	if _, err := expectOutput("waiter after clear, recreate and fail", w, out); err != nil {
		return err
	}
	d := call(C, Request{Op: "do", Key: k, Timeout: e.WaitTimeout, Gen: &GenSpec{Output: []byte("regenerated")}})
	if d.Err != "" || d.Result == nil || !bytes.Equal(d.Result.Output, out) {
		return fmt.Errorf("Do after clear, recreate and fail must replay the output, got %s", describe(d))
	}
	in := call(C, Request{Op: "inspect", Key: k})
	if in.State == nil || in.State.Phase() != ledger.PhaseCompleted {
		return fmt.Errorf("inspect must show the output, got %s", describe(in))
	}
	return nil
}

func firstOutputWins(ctx context.Context, e *Env) error {
	as, err := e.Actors(4)
	if err != nil {
		return err
	}
	A, B := as[0], as[1]
	k := e.Key("prompt")
	short := 300 * time.Millisecond
	if err := mustOwn(A, k, "A", short); err != nil {
		return err
	}
	time.Sleep(short + 100*time.Millisecond) // A stalls; its lease runs out
	if err := mustOwn(B, k, "B", 30*time.Second); err != nil {
		return fmt.Errorf("takeover after the lease ran out: %w", err)
	}
	var waits []*Call
	for _, W := range as[2:] {
		w, err := startWait(W, k, e.WaitTimeout, 0)
		if err != nil {
			return err
		}
		waits = append(waits, w)
	}
	ca := A.Start(Request{Op: "complete", Key: k, Owner: "A", Output: []byte("from A")})
	cb := B.Start(Request{Op: "complete", Key: k, Owner: "B", Output: []byte("from B")})
	ra, errA := ca.Done(callTimeout)
	rb, errB := cb.Done(callTimeout)
	if errA != nil || errB != nil || ra.Err != "" || rb.Err != "" {
		return fmt.Errorf("concurrent completes: %v %v %s %s", errA, errB, ra.Err, rb.Err)
	}
	if ra.Stored == rb.Stored {
		return fmt.Errorf("exactly one complete must store (A stored %v, B stored %v)", ra.Stored, rb.Stored)
	}
	want := []byte("from A")
	if rb.Stored {
		want = []byte("from B")
	}
	for _, r := range []Response{ra, rb} {
		if r.State == nil || r.State.Output == nil || !bytes.Equal(r.State.Output.Data, want) {
			return fmt.Errorf("both completes must report the stored output %q, got %s", want, describe(r))
		}
	}
	for i, w := range waits {
		if _, err := expectOutput(fmt.Sprintf("waiter %d", i+1), w, want); err != nil {
			return err
		}
	}
	return nil
}

// --- LEDGER-WAIT-UNBOUNDED ---

func waitDeadline(ctx context.Context, e *Env) error {
	as, err := e.Actors(2)
	if err != nil {
		return err
	}
	A, W := as[0], as[1]
	k, absent := e.Key("held"), e.Key("absent")
	if err := mustOwn(A, k, "A", 60*time.Second); err != nil {
		return err
	}
	const d = 300 * time.Millisecond
	calls := map[string]*Call{
		"wait on a held key":    W.Start(Request{Op: "wait", Key: k, Timeout: d}),
		"wait on an absent key": W.Start(Request{Op: "wait", Key: absent, Timeout: d}),
		"Do on a held key":      W.Start(Request{Op: "do", Key: k, Timeout: d, Gen: &GenSpec{Output: []byte("x")}}),
	}
	for what, c := range calls {
		r, err := c.Done(d + overshootMax + 5*time.Second)
		if err != nil {
			return fmt.Errorf("%s with a %s deadline: %w", what, d, err)
		}
		elapsed := time.Duration(r.DoneNS - r.StartNS)
		if r.Kind != kindTimeout {
			return fmt.Errorf("%s: want a timeout, got %s", what, describe(r))
		}
		wantState := ledgerproto.StateRunning
		if c.Req.Key == absent {
			wantState = ledgerproto.StateAbsent
		}
		if err := judgeTimeout(r, c.Req.Key, wantState, d); err != nil {
			return fmt.Errorf("%s with a %s deadline: %w", what, d, err)
		}
		if elapsed < d-2*time.Millisecond {
			return fmt.Errorf("%s: returned after %s, before its %s deadline", what, elapsed, d)
		}
		e.Observe("overshoot", elapsed-d)
		if elapsed-d > overshootMax {
			return fmt.Errorf("%s: returned %s after its %s deadline (at most %s allowed)", what, elapsed-d, d, overshootMax)
		}
	}
	in := call(W, Request{Op: "inspect", Key: k})
	if in.State == nil || in.State.Phase() != ledger.PhaseRunning || in.State.Attempt.Owner != "A" {
		return fmt.Errorf("timed-out waiters must leave the owner's claim alone, got %s", describe(in))
	}
	return nil
}

// judgeTimeout checks a timeout's structured fields (never its wording):
// the key waited for, the last state seen, and a time waited that is not
// shorter than the deadline.
func judgeTimeout(r Response, key, state string, d time.Duration) error {
	t := r.Timeout
	switch {
	case t == nil:
		return fmt.Errorf("the timeout (%q) carries no key, state and waited_ms: an operator cannot tell a dead owner from a slow one", r.Err)
	case t.Key != key:
		return fmt.Errorf("the timeout names key %q, the wait was for %q", t.Key, key)
	case t.State != state:
		return fmt.Errorf("the timeout says the last state was %q, the key was %s", t.State, state)
	case time.Duration(t.WaitedMS)*time.Millisecond < d-waitedSlack(d):
		return fmt.Errorf("the timeout says it waited %d ms, less than its deadline", t.WaitedMS)
	}
	return nil
}

// waitedSlack is how much shorter than the deadline a driver's own
// "waited" may be: the driver starts its clock after it set the deadline
// and began to wait, and on a loaded machine (load 15 on 2 cores) that
// gap was 6 ms. A tenth of the deadline, at least 2 ms, still catches a
// driver that reports nonsense (0, or the time since some other start).
func waitedSlack(d time.Duration) time.Duration {
	return max(2*time.Millisecond, d/10)
}

// --- LEDGER-DOUBLE-OWNER ---

func claimRace(ctx context.Context, e *Env) error {
	n := 4
	if e.Mode == Processes {
		n = e.Processes
	}
	as, err := e.Actors(n)
	if err != nil {
		return err
	}
	const perActor = 8
	lease := 30 * time.Second
	k := e.Key("prompt")
	type win struct {
		a     Actor
		owner string
		claim *ledger.Claim
	}
	race := func(round string) (win, error) {
		var mu sync.Mutex
		var wins []win
		var errs []string
		var wg sync.WaitGroup
		for _, a := range as {
			for g := range perActor {
				wg.Add(1)
				go func() {
					defer wg.Done()
					owner := fmt.Sprintf("%s-%s-%d", round, a.Name(), g)
					r := call(a, claimReq(k, owner, lease))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case r.Err != "":
						errs = append(errs, r.Err)
					case r.Claim == nil:
						errs = append(errs, "claim answered with no result")
					case r.Claim.Owned:
						wins = append(wins, win{a, owner, r.Claim})
					}
				}()
			}
		}
		wg.Wait()
		if len(errs) > 0 {
			return win{}, fmt.Errorf("%s: claim errors: %s", round, joinLines(errs))
		}
		if len(wins) != 1 {
			var names []string
			for _, w := range wins {
				at := w.claim.State.Attempt
				names = append(names, fmt.Sprintf("%s (token %d, claimed at %s, lease until %s)", w.owner, at.Token,
					w.claim.State.ReadAt.Format("15:04:05.000000"), at.LeaseUntil.Format("15:04:05.000000")))
			}
			return win{}, fmt.Errorf("%s: %d concurrent claimers became owner while a %s lease was live: %s; want exactly 1", round, len(wins), lease, strings.Join(names, ", "))
		}
		return wins[0], nil
	}
	w, err := race("fresh")
	if err != nil {
		return err
	}
	if err := mustOK("owner fails", call(w.a, Request{Op: "fail", Key: k, Owner: w.owner, Msg: "boom"})); err != nil {
		return err
	}
	if w, err = race("after-failure"); err != nil {
		return err
	}
	// The owner stalls: its lease is cut short and runs out.
	short := 300 * time.Millisecond
	if err := mustOK("shorten the lease", call(w.a, Request{Op: "renew", Key: k, Owner: w.owner, Lease: short})); err != nil {
		return err
	}
	time.Sleep(short + 100*time.Millisecond)
	_, err = race("after-lease-expiry")
	return err
}

func doRace(ctx context.Context, e *Env) error {
	n := 4
	if e.Mode == Processes {
		n = e.Processes
	}
	as, err := e.Actors(n)
	if err != nil {
		return err
	}
	const perActor = 4
	k := e.Key("prompt")
	var calls []*Call
	for _, a := range as {
		for g := range perActor {
			calls = append(calls, a.Start(Request{Op: "do", Key: k, Timeout: e.WaitTimeout,
				Gen: &GenSpec{Output: []byte(fmt.Sprintf("%s-%d", a.Name(), g)), Sleep: 100 * time.Millisecond}}))
		}
	}
	generated := 0
	var first []byte
	for i, c := range calls {
		r, err := c.Done(answerWithin)
		if err != nil {
			return err
		}
		if r.Err != "" || r.Result == nil {
			return fmt.Errorf("Do %d: %s", i, describe(r))
		}
		if r.Result.Source == ledger.Generated {
			generated++
		}
		if first == nil {
			first = r.Result.Output
		} else if !bytes.Equal(first, r.Result.Output) {
			return fmt.Errorf("Do calls got different outputs: %q and %q", first, r.Result.Output)
		}
	}
	if generated != 1 {
		return fmt.Errorf("%d of %d concurrent Do calls generated, want exactly 1", generated, len(calls))
	}
	return nil
}

// --- LEDGER-NO-TAKEOVER ---

func ownerKilled(ctx context.Context, e *Env) error {
	as, err := e.Actors(2)
	if err != nil {
		return err
	}
	A, err := e.Fresh() // this one is killed
	if err != nil {
		return err
	}
	k := e.Key("prompt")
	owner := A.Start(Request{Op: "do", Key: k, Timeout: time.Minute, Gen: &GenSpec{Block: true}})
	select {
	case <-owner.Generating:
	case <-time.After(readyWithin):
		return fmt.Errorf("the owner's Do did not start generating")
	}
	var waiters []*Call
	for i, W := range as {
		c := W.Start(Request{Op: "do", Key: k, Timeout: e.WaitTimeout, Gen: &GenSpec{Output: []byte(fmt.Sprintf("taken over by %d", i))}})
		if err := c.AwaitReady(readyWithin); err != nil {
			return err
		}
		waiters = append(waiters, c)
	}
	crashed := time.Now()
	A.Crash()
	crashTook := time.Since(crashed)
	generated := 0
	var first []byte
	var earliest int64
	var seen []string
	for i, c := range waiters {
		r, err := c.Done(max(answerWithin, e.WaitTimeout+callTimeout))
		if err != nil {
			return err
		}
		if r.Err != "" || r.Result == nil {
			return fmt.Errorf("waiter %d after the owner was killed: %s", i, describe(r))
		}
		if r.Result.Source == ledger.Generated {
			generated++
		}
		seen = append(seen, fmt.Sprintf("waiter %d %s at +%s", i, r.Result.Source, time.Duration(r.DoneNS-crashed.UnixNano()).Round(time.Millisecond)))
		if first == nil {
			first = r.Result.Output
		} else if !bytes.Equal(first, r.Result.Output) {
			return fmt.Errorf("waiters got different outputs after the takeover: %q and %q", first, r.Result.Output)
		}
		if earliest == 0 || r.DoneNS < earliest {
			earliest = r.DoneNS
		}
	}
	if generated != 1 {
		return fmt.Errorf("%d waiters generated after the owner died, want exactly 1", generated)
	}
	took := time.Duration(earliest - crashed.UnixNano())
	e.Observe("takeover", took)
	// A router that waits in slices claims again only when its slice
	// ends: it takes over within the lease plus one slice.
	if bound := e.Lease + e.RouterWait + takeoverMargin; took > bound {
		return fmt.Errorf("takeover took %s after the owner died, more than the lease %s plus the router's wait %s plus %s (%s; crash itself took %s)",
			took.Round(time.Millisecond), e.Lease, e.RouterWait, takeoverMargin, strings.Join(seen, ", "), crashTook.Round(time.Millisecond))
	}
	return nil
}

// --- LEDGER-FAILURE-NOT-DELIVERED ---

func failureDelivered(ctx context.Context, e *Env) error {
	as, err := e.Actors(2)
	if err != nil {
		return err
	}
	A, W := as[0], as[1]
	k := e.Key("prompt")
	msg := "upstream 503 " + nonce()
	if err := mustOwn(A, k, "A", 60*time.Second); err != nil {
		return err
	}
	w, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	d := W.Start(Request{Op: "do", Key: k, Timeout: e.WaitTimeout, Gen: &GenSpec{Output: []byte("must not run")}})
	if err := d.AwaitReady(readyWithin); err != nil {
		return err
	}
	f := call(A, Request{Op: "fail", Key: k, Owner: "A", Msg: msg})
	if err := mustOK("owner fails", f); err != nil {
		return err
	}
	for what, c := range map[string]*Call{"waiter": w, "Do waiter": d} {
		r, err := c.Done(answerWithin)
		if err != nil {
			return err
		}
		// The owner's own message, not just any failure: a driver may word
		// it in a sentence of its own, so it need only contain it.
		if r.Kind != kindFailed || !strings.Contains(r.Failure, msg) {
			return fmt.Errorf("%s: want the owner's failure %q, got %s", what, msg, describe(r))
		}
		lat := latency(f, r)
		e.Observe("failure-delivery", lat)
		if lat > promptly {
			return fmt.Errorf("%s: the failure arrived %s after Fail, not promptly", what, lat.Round(time.Millisecond))
		}
	}
	return nil
}

func failureRecovery(ctx context.Context, e *Env) error {
	as, err := e.Actors(3)
	if err != nil {
		return err
	}
	A, B, W := as[0], as[1], as[2]
	k := e.Key("prompt")
	if err := mustOwn(A, k, "A", 60*time.Second); err != nil {
		return err
	}
	w, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	if err := mustOK("owner fails", call(A, Request{Op: "fail", Key: k, Owner: "A", Msg: "transient"})); err != nil {
		return err
	}
	r, err := w.Done(answerWithin)
	if err != nil {
		return err
	}
	if r.Kind != kindFailed {
		return fmt.Errorf("waiter: want the failure, got %s", describe(r))
	}
	// The waiter is still within its deadline and waits for the retry.
	again, err := startWait(W, k, e.WaitTimeout, r.Token)
	if err != nil {
		return err
	}
	if err := mustOwn(B, k, "B", 60*time.Second); err != nil {
		return fmt.Errorf("retry claim after a failure: %w", err)
	}
	during, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	out := []byte("recovered " + nonce())
	c := complete(B, k, "B", out)
	if err := mustOK("retry completes", c); err != nil {
		return err
	}
	r1, err := expectOutput("waiter that saw the failure and waited on", again, out)
	if err != nil {
		return err
	}
	e.Observe("delivery", latency(c, r1))
	if _, err := expectOutput("waiter that arrived during the retry", during, out); err != nil {
		return err
	}
	d := call(A, Request{Op: "do", Key: k, Timeout: e.WaitTimeout, Gen: &GenSpec{Output: []byte("x")}})
	if d.Err != "" || d.Result == nil || !bytes.Equal(d.Result.Output, out) {
		return fmt.Errorf("Do after the recovery must replay it, got %s", describe(d))
	}
	return nil
}

// --- LEDGER-EMPTY-OUTPUT ---

func emptyOutput(ctx context.Context, e *Env) error {
	as, err := e.Actors(3)
	if err != nil {
		return err
	}
	A, B, W := as[0], as[1], as[2]
	k := e.Key("prompt")
	if err := mustOwn(A, k, "A", 60*time.Second); err != nil {
		return err
	}
	w, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	c := complete(A, k, "A", []byte{})
	if err := mustOK("complete with an empty output", c); err != nil {
		return err
	}
	if !c.Stored {
		return fmt.Errorf("an empty output was not stored: %s", describe(c))
	}
	r, err := expectOutput("waiter", w, []byte{})
	if err != nil {
		return err
	}
	e.Observe("delivery", latency(c, r))
	cl := call(B, claimReq(k, "B", time.Minute))
	if cl.Err != "" || cl.Claim == nil || cl.Claim.Owned || cl.Claim.State.Output == nil {
		return fmt.Errorf("claim after an empty output must replay it, got %s", describe(cl))
	}
	d := call(B, Request{Op: "do", Key: k, Timeout: e.WaitTimeout, Gen: &GenSpec{Output: []byte("not empty")}})
	if d.Err != "" || d.Result == nil || d.Result.Source != ledger.Replayed || len(d.Result.Output) != 0 {
		return fmt.Errorf("Do after an empty output must replay it, got %s", describe(d))
	}
	late, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	_, err = expectOutput("late waiter", late, []byte{})
	return err
}

// --- LEDGER-LATE-WRITE-LOST ---

func lateWrite(ctx context.Context, e *Env) error {
	as, err := e.Actors(3)
	if err != nil {
		return err
	}
	A, B, W := as[0], as[1], as[2]
	// The row is cleared while the owner still works.
	k := e.Key("cleared")
	if err := mustOwn(A, k, "A", time.Minute); err != nil {
		return err
	}
	w, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	if err := mustOK("clear the row", call(B, Request{Op: "forget", Key: k})); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond) // the owner finishes a while later
	out := []byte("late " + nonce())
	c := complete(A, k, "A", out)
	if err := mustOK("late complete", c); err != nil {
		return err
	}
	r, err := expectOutput("waiter of a cleared row", w, out)
	if err != nil {
		return err
	}
	e.Observe("delivery", latency(c, r))

	if !e.Leases {
		return nil // no lease to lose: the second half does not apply
	}
	// The owner lost its lease to B, and still finishes first.
	k2 := e.Key("taken-over")
	short := 300 * time.Millisecond
	if err := mustOwn(A, k2, "A", short); err != nil {
		return err
	}
	time.Sleep(short + 100*time.Millisecond)
	if err := mustOwn(B, k2, "B", time.Minute); err != nil {
		return err
	}
	w2, err := startWait(W, k2, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	out2 := []byte("stale owner's output " + nonce())
	if c := complete(A, k2, "A", out2); c.Err != "" || !c.Stored {
		return fmt.Errorf("the stale owner's output must be stored: %s", describe(c))
	}
	if _, err := expectOutput("waiter of a taken-over key", w2, out2); err != nil {
		return err
	}
	cb := complete(B, k2, "B", []byte("second"))
	if cb.Err != "" || cb.Stored || cb.State == nil || cb.State.Output == nil || !bytes.Equal(cb.State.Output.Data, out2) {
		return fmt.Errorf("the new owner's later complete must return the stored output, got %s", describe(cb))
	}
	return nil
}

// --- LEDGER-STORE-FAULT ---

func busyWriters(ctx context.Context, e *Env) error {
	n := 2
	if e.Mode == Processes {
		n = e.Processes
	}
	as, err := e.Actors(n)
	if err != nil {
		return err
	}
	keys := make([]string, 6)
	for i := range keys {
		keys[i] = e.Key(fmt.Sprintf("hot-%d", i))
	}
	var calls []*Call
	for _, a := range as {
		calls = append(calls, a.Start(Request{Op: "stress", Keys: keys, N: 8, Duration: 1500 * time.Millisecond}))
	}
	var total int64
	var errs []string
	for i, c := range calls {
		r, err := c.Done(callTimeout)
		if err != nil {
			return err
		}
		if r.Err != "" {
			return fmt.Errorf("actor %d: %s", i, r.Err)
		}
		total += r.Ops
		errs = append(errs, r.Errors...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d writers (%d ops) saw store errors: %s", n*8, total, joinLines(errs))
	}
	if total == 0 {
		return fmt.Errorf("no operation completed")
	}
	return nil
}

func connectionKilled(ctx context.Context, e *Env) error {
	as, err := e.Actors(2)
	if err != nil {
		return err
	}
	A, W := as[0], as[1]
	k, k2 := e.Key("prompt"), e.Key("do")
	if err := mustOwn(A, k, "A", time.Minute); err != nil {
		return err
	}
	if err := mustOwn(A, k2, "A", time.Minute); err != nil {
		return err
	}
	w, err := startWait(W, k, e.WaitTimeout, 0)
	if err != nil {
		return err
	}
	d := W.Start(Request{Op: "do", Key: k2, Timeout: e.WaitTimeout, Gen: &GenSpec{Output: []byte("x")}})
	if err := d.AwaitReady(readyWithin); err != nil {
		return err
	}
	n, err := e.KillConnections(ctx, W)
	if err != nil {
		return fmt.Errorf("pg_terminate_backend: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("the waiter had no PostgreSQL connection to kill")
	}
	out := []byte("after the kill " + nonce())
	c := complete(A, k, "A", out)
	if err := mustOK("complete", c); err != nil {
		return err
	}
	r, err := expectOutput("waiter whose connections were killed", w, out)
	if err != nil {
		return err
	}
	e.Observe("delivery-after-kill", latency(c, r))
	if err := mustOK("complete", complete(A, k2, "A", out)); err != nil {
		return err
	}
	if _, err := expectOutput("Do waiter whose connections were killed", d, out); err != nil {
		return err
	}
	// The writer's connections die too; its next operations still work.
	if _, err := e.KillConnections(ctx, A); err != nil {
		return err
	}
	k3 := e.Key("after")
	if err := mustOwn(A, k3, "A", time.Minute); err != nil {
		return fmt.Errorf("after its connections were killed: %w", err)
	}
	return mustOK("complete after the kill", complete(A, k3, "A", out))
}
