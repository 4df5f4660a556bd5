package ledgersuite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/readiness-dev/readiness/internal/ledger"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// A driver actor is a router played by a ledger driver process (any
// language, docs/gates/ledger-driver.md). The protocol has the ledger's
// primitive operations only; what a router does with them — Do (claim,
// generate or wait, complete or fail), many waiters, a stress loop — the
// actor composes here from those primitives, the way the team's router
// composes them around its own ledger.
//
// In inproc mode every actor of a run shares one driver process (a crash
// abandons the actor's calls and generation, as an in-process router
// would); in procs mode every actor is its own driver process and a crash
// is a SIGKILL.
type driverActor struct {
	name   string
	c      *ledgerproto.Client
	shared bool
	lease  time.Duration
	// wait is the router's wait slice (router.wait; 0: lease/8).
	wait    time.Duration
	ctx     context.Context
	stop    context.CancelFunc
	crashed chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	dead    bool
	owners  atomic.Int64
	// fault reports a protocol fault of the driver to the scenario run.
	fault func(error)
}

func newDriverActor(name string, c *ledgerproto.Client, shared bool, lease, wait time.Duration, fault func(error)) *driverActor {
	ctx, stop := context.WithCancel(context.Background())
	return &driverActor{name: name, c: c, shared: shared, lease: lease, wait: wait, ctx: ctx, stop: stop, crashed: make(chan struct{}), fault: fault}
}

// protoPhase is a state's phase in the protocol's words.
func protoPhase(st ledger.State) string {
	switch st.Phase() {
	case ledger.PhaseCompleted:
		return ledgerproto.StateCompleted
	case ledger.PhaseRunning:
		return ledgerproto.StateRunning
	case ledger.PhaseExpired:
		return ledgerproto.StateExpired
	case ledger.PhaseFailed:
		return ledgerproto.StateFailed
	}
	return ledgerproto.StateAbsent
}

func (a *driverActor) Name() string    { return a.name }
func (a *driverActor) AppName() string { return "" }

func (a *driverActor) Start(req Request) *Call {
	c := newCall(req)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		start := time.Now()
		r := a.serve(req, c.deliver)
		r.ID, r.Event = req.ID, "done"
		r.StartNS, r.DoneNS = start.UnixNano(), time.Now().UnixNano()
		c.deliver(r)
	}()
	return c
}

func (a *driverActor) Crash() {
	a.once.Do(func() {
		a.mu.Lock()
		a.dead = true
		a.mu.Unlock()
		close(a.crashed)
		if !a.shared {
			a.c.Kill()
		}
		a.stop()
	})
}

func (a *driverActor) Alive() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.dead && a.c.Fault() == nil
}

func (a *driverActor) Close() error {
	a.stop()
	a.wg.Wait()
	if !a.shared {
		return a.c.Close()
	}
	return nil
}

// call performs one protocol request. A driver fault (not one caused by
// this actor's own crash) is reported to the run.
func (a *driverActor) call(req ledgerproto.Request, onEvent func(ledgerproto.Reply)) (ledgerproto.Reply, *Response) {
	r, err := a.c.Call(a.ctx, req, onEvent)
	if err == nil {
		return r, nil
	}
	select {
	case <-a.crashed:
		return r, &Response{Err: "router crashed", Kind: kindClosed}
	default:
	}
	var de *ledgerproto.DriverError
	if errors.As(err, &de) && a.fault != nil {
		a.fault(err)
	}
	return r, &Response{Err: err.Error(), Kind: kindOther}
}

func (a *driverActor) serve(req Request, emit func(Response)) Response {
	p := ledgerproto.Request{Key: req.Key, Owner: req.Owner, LeaseMS: req.Lease.Milliseconds(), Message: req.Msg}
	switch req.Op {
	case "claim", "complete", "fail", "inspect", "forget", "recreate", "renew":
		p.Op = req.Op
		if req.Op == "complete" {
			p.Output = ledgerproto.Bytes(req.Output)
		}
		r, bad := a.call(p, nil)
		if bad != nil {
			return *bad
		}
		return fromReply(req.Op, req.Key, r)
	case "wait":
		p.Op, p.TimeoutMS, p.After = ledgerproto.OpWait, req.Timeout.Milliseconds(), req.After
		r, bad := a.call(p, func(ledgerproto.Reply) { emit(Response{ID: req.ID, Event: "ready"}) })
		if bad != nil {
			return *bad
		}
		return fromReply("wait", req.Key, r)
	case "do":
		return a.do(req, emit)
	case "waitmany":
		return a.waitMany(req, emit)
	case "stress":
		return a.stress(req)
	case "rusage":
		return Response{CPU: -1, Err: "a driver reports no CPU time", Kind: kindOther}
	}
	return Response{Err: fmt.Sprintf("unknown op %q", req.Op), Kind: kindOther}
}

// fromReply turns a protocol reply into the suite's response.
func fromReply(op, key string, r ledgerproto.Reply) Response {
	var out Response
	if r.Error != nil {
		e := r.Error
		out.Err, out.Kind, out.Token = e.Message, kindOf(e.Kind), e.Token
		if out.Err == "" {
			out.Err = e.Kind
		}
		if out.Kind == kindTimeout && (e.Key != "" || e.State != "" || e.WaitedMS != 0) {
			out.Timeout = &TimeoutFacts{Key: e.Key, State: e.State, WaitedMS: e.WaitedMS}
		}
		if out.Kind == kindFailed {
			// The protocol's failed error has no field of its own for the
			// owner's message: its message carries it, in the driver's words.
			out.Failure = e.Message
		}
		return out
	}
	st := toState(key, r)
	out.Desc = protoDescribe(r)
	switch op {
	case "claim":
		out.Claim = &ledger.Claim{Owned: r.Owned, State: st}
	case "complete":
		out.State, out.Stored = &st, r.Stored
	case "fail", "inspect":
		out.State = &st
	case "wait":
		if r.Output == nil {
			return Response{Err: fmt.Sprintf("wait for %q answered state %q without an output or an error", key, r.State), Kind: kindOther}
		}
		src := ledger.Source(r.Source)
		if src == "" {
			src = ledger.Shared
		}
		out.Result = &ledger.Result{Output: *r.Output, Source: src, Owner: r.Owner}
	}
	return out
}

func kindOf(k string) string {
	switch k {
	case ledgerproto.ErrFailed:
		return kindFailed
	case ledgerproto.ErrTimeout:
		return kindTimeout
	case ledgerproto.ErrNotOwner:
		return kindNotOwner
	case ledgerproto.ErrCompleted:
		return kindCompleted
	case ledgerproto.ErrStore:
		return kindStore
	}
	return kindOther
}

// protoDescribe says what a reply reports of its key, and nothing the
// protocol does not carry (no lease times: a driver reports none).
func protoDescribe(r ledgerproto.Reply) string {
	switch r.State {
	case ledgerproto.StateCompleted:
		n := 0
		if r.Output != nil {
			n = len(*r.Output)
		}
		return fmt.Sprintf("completed by %q (%d bytes)", r.Owner, n)
	case ledgerproto.StateRunning:
		return fmt.Sprintf("running: claimed by %q", r.Owner)
	case ledgerproto.StateExpired:
		return fmt.Sprintf("claimed by %q, lease expired", r.Owner)
	case ledgerproto.StateFailed:
		return fmt.Sprintf("failed by %q: %s", r.Owner, r.Failure)
	case ledgerproto.StateAbsent, "":
		return "absent (no claim, no output)"
	}
	return r.State
}

// toState renders a reply's state as a ledger state whose Phase is the
// reply's (the protocol carries the phase, not the store's clock).
func toState(key string, r ledgerproto.Reply) ledger.State {
	now := time.Now()
	st := ledger.State{Key: key, ReadAt: now}
	at := &ledger.Attempt{Owner: r.Owner, Token: r.Token, Status: ledger.AttemptRunning, LeaseUntil: now.Add(time.Hour), UpdatedAt: now}
	switch r.State {
	case ledgerproto.StateCompleted:
		data := []byte{}
		if r.Output != nil {
			data = *r.Output
		}
		st.Output = &ledger.Output{Data: data, Owner: r.Owner, CompletedAt: now, ExpiresAt: now.Add(ledger.DefaultRetention)}
	case ledgerproto.StateRunning:
		st.Attempt = at
	case ledgerproto.StateExpired:
		at.LeaseUntil = now.Add(-time.Millisecond)
		st.Attempt = at
	case ledgerproto.StateFailed:
		at.Status, at.Error = ledger.AttemptFailed, r.Failure
		st.Attempt = at
	}
	return st
}

// doSlice is how long one wait of a composed Do lasts before it claims
// again: a dead owner's lease is noticed within a slice.
func (a *driverActor) doSlice() time.Duration {
	if a.wait > 0 {
		return a.wait
	}
	return max(50*time.Millisecond, a.lease/8)
}

// do is a router's request path over the primitives: claim; the owner
// generates and completes (or fails); anyone else replays a retained
// output or waits, claiming again when the wait slice ends (the owner may
// have died).
func (a *driverActor) do(req Request, emit func(Response)) Response {
	start := time.Now()
	deadline := start.Add(req.Timeout)
	owner := fmt.Sprintf("%s/do-%d", a.name, a.owners.Add(1))
	var readyOnce sync.Once
	ready := func() { readyOnce.Do(func() { emit(Response{ID: req.ID, Event: "ready"}) }) }
	last, lastState := "absent (no claim, no output)", ledgerproto.StateAbsent
	for {
		cl := a.serve(Request{Op: "claim", Key: req.Key, Owner: owner, Lease: a.lease}, emit)
		if cl.Err != "" {
			return cl
		}
		switch {
		case cl.Claim.Owned:
			emit(Response{ID: req.ID, Event: "generating"})
			return a.generateAndComplete(req, owner)
		case cl.Claim.State.Output != nil:
			o := cl.Claim.State.Output
			return Response{Result: &ledger.Result{Output: o.Data, Source: ledger.Replayed, Owner: o.Owner}}
		}
		last, lastState = cl.Desc, protoPhase(cl.Claim.State)
		left := time.Until(deadline)
		if left <= 0 {
			waited := time.Since(start)
			return Response{Err: fmt.Sprintf("wait for key %q timed out after %s; last state: %s", req.Key, waited.Round(time.Millisecond), last), Kind: kindTimeout,
				Timeout: &TimeoutFacts{Key: req.Key, State: lastState, WaitedMS: waited.Milliseconds()}}
		}
		w := a.serve(Request{ID: req.ID, Op: "wait", Key: req.Key, Timeout: min(left, a.doSlice())}, func(r Response) {
			if r.Event == "ready" {
				ready()
			}
		})
		switch {
		case w.Err == "":
			w.Result.Source = ledger.Shared
			return w
		case w.Kind != kindTimeout:
			return w
		case w.Timeout != nil && w.Timeout.State != "":
			lastState = w.Timeout.State
		}
		ready() // a slice ended: this waiter has been in place
	}
}

func (a *driverActor) generateAndComplete(req Request, owner string) Response {
	stop := make(chan struct{})
	defer close(stop)
	if a.c.Hello().Supports(ledgerproto.OpRenew) {
		go a.renewLoop(req.Key, owner, stop)
	}
	ctx, cancel := context.WithTimeout(a.ctx, req.Timeout)
	out, err := (&handler{crashed: a.crashed}).generate(ctx, req.Gen)
	cancel()
	select {
	case <-a.crashed:
		return Response{Err: "router crashed", Kind: kindClosed}
	default:
	}
	if err != nil {
		f := a.serve(Request{Op: "fail", Key: req.Key, Owner: owner, Msg: err.Error()}, nil)
		if f.Err != "" {
			return f
		}
		return Response{Err: err.Error(), Kind: kindOther}
	}
	c := a.serve(Request{Op: "complete", Key: req.Key, Owner: owner, Output: out}, nil)
	if c.Err != "" {
		return c
	}
	src := ledger.Generated
	if !c.Stored {
		src = ledger.Shared
	}
	data := out
	if c.State != nil && c.State.Output != nil {
		data = c.State.Output.Data
	}
	return Response{Result: &ledger.Result{Output: data, Source: src, Owner: owner}}
}

func (a *driverActor) renewLoop(key, owner string, stop <-chan struct{}) {
	t := time.NewTicker(a.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-a.crashed:
			return
		case <-t.C:
			if r := a.serve(Request{Op: "renew", Key: key, Owner: owner, Lease: a.lease}, nil); r.Err != "" {
				return
			}
		}
	}
}

// waitMany starts N waits on one key, says ready once all are in place,
// and reports when each was answered.
func (a *driverActor) waitMany(req Request, emit func(Response)) Response {
	var ready, done sync.WaitGroup
	ready.Add(req.N)
	done.Add(req.N)
	times := make([]int64, req.N)
	errs := make([]string, req.N)
	for i := range req.N {
		go func() {
			defer done.Done()
			var once sync.Once
			if i < len(req.At) {
				_ = sleepUntil(context.Background(), req.At[i])
			}
			r := a.serve(Request{Op: "wait", Key: req.Key, Timeout: req.Timeout}, func(r Response) {
				if r.Event == "ready" {
					once.Do(ready.Done)
				}
			})
			times[i] = monoNow()
			errs[i] = r.Err
			once.Do(ready.Done)
		}()
	}
	ready.Wait()
	emit(Response{ID: req.ID, Event: "ready"})
	done.Wait()
	var msgs []string
	for _, e := range errs {
		if e != "" && len(msgs) < 5 {
			msgs = append(msgs, e)
		}
	}
	return Response{Times: times, Errors: msgs}
}

// stress is the busy-writers load over the protocol: N goroutines of
// random claims, completes, failures and inspects on a few keys. A "not
// owner" or "completed" answer is the ledger's verdict, not a store
// fault; any other error is.
func (a *driverActor) stress(req Request) Response {
	deadline := time.Now().Add(req.Duration)
	inspect := a.c.Hello().Supports(ledgerproto.OpInspect)
	var mu sync.Mutex
	var ops int64
	var msgs []string
	var wg sync.WaitGroup
	for g := range req.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(g)))
			owner := fmt.Sprintf("%s/stress-%d", a.name, g)
			var count int64
			for time.Now().Before(deadline) && a.ctx.Err() == nil {
				key := req.Keys[rng.IntN(len(req.Keys))]
				var r Response
				switch n := rng.IntN(5); {
				case n <= 1:
					r = a.serve(Request{Op: "claim", Key: key, Owner: owner, Lease: 50 * time.Millisecond}, nil)
				case n == 2:
					r = a.serve(Request{Op: "complete", Key: key, Owner: owner, Output: []byte(owner)}, nil)
				case n == 3:
					r = a.serve(Request{Op: "fail", Key: key, Owner: owner, Msg: "stress"}, nil)
				case inspect:
					r = a.serve(Request{Op: "inspect", Key: key}, nil)
				default:
					r = a.serve(Request{Op: "claim", Key: key, Owner: owner, Lease: 50 * time.Millisecond}, nil)
				}
				count++
				if r.Err != "" && r.Kind != kindNotOwner && r.Kind != kindCompleted {
					mu.Lock()
					if len(msgs) < 5 {
						msgs = append(msgs, r.Err)
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			ops += count
			mu.Unlock()
		}()
	}
	wg.Wait()
	return Response{Ops: ops, Errors: msgs}
}
