package ledgersuite

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/ledger"
)

// Request is one operation an actor performs, sent to a worker process as
// one JSON line.
type Request struct {
	ID    int64         `json:"id"`
	Op    string        `json:"op"`
	Key   string        `json:"key,omitempty"`
	Keys  []string      `json:"keys,omitempty"`
	Owner string        `json:"owner,omitempty"`
	Lease time.Duration `json:"lease,omitempty"`
	// Output for complete (may be empty, never absent).
	Output  []byte        `json:"output,omitempty"`
	Msg     string        `json:"msg,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	After   int64         `json:"after,omitempty"`
	Gen     *GenSpec      `json:"gen,omitempty"`
	// N is how many waiters (waitmany) or goroutines (stress).
	N int `json:"n,omitempty"`
	// At, for waitmany, is when each waiter starts (monoNow; none: at
	// once), so that the bench can spread a round's arrivals.
	At       []int64       `json:"at,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
}

// GenSpec is what a Do's generate function does.
type GenSpec struct {
	Output []byte        `json:"output"`
	Sleep  time.Duration `json:"sleep,omitempty"`
	Fail   string        `json:"fail,omitempty"`
	// Block makes generate wait until the actor crashes (or ctx ends).
	Block bool `json:"block,omitempty"`
}

// Response is one event of a call: "ready" (a waiter is in place),
// "generating" (Do became owner and generate runs), or "done".
type Response struct {
	ID     int64          `json:"id"`
	Event  string         `json:"event"`
	Claim  *ledger.Claim  `json:"claim,omitempty"`
	State  *ledger.State  `json:"state,omitempty"`
	Stored bool           `json:"stored,omitempty"`
	Result *ledger.Result `json:"result,omitempty"`
	// Err and Kind describe a failed call; Kind is one of the kind*
	// constants.
	Err   string `json:"err,omitempty"`
	Kind  string `json:"kind,omitempty"`
	Token int64  `json:"token,omitempty"`
	// Timeout is what a timeout reports beside its message (kind
	// timeout): the scenarios judge these fields, not wording.
	Timeout *TimeoutFacts `json:"timeout,omitempty"`
	// Failure is the owner's failure message a failed wait delivered
	// (kind failed): what failure/delivered judges, not Err's wording.
	Failure string `json:"failure,omitempty"`
	// Desc, when set, describes the state instead of State.Describe (a
	// driver's state has no lease readiness may describe).
	Desc string `json:"desc,omitempty"`
	// StartNS and DoneNS are the wall clock (Unix ns) when the call began
	// and ended in the actor's own process.
	StartNS int64 `json:"start_ns,omitempty"`
	DoneNS  int64 `json:"done_ns,omitempty"`
	// Times (waitmany) are when each waiter returned, on the host's
	// monotonic clock (monoNow), comparable across its processes.
	Times  []int64  `json:"times,omitempty"`
	Ops    int64    `json:"ops,omitempty"`
	Errors []string `json:"errors,omitempty"`
	// CPU is the actor process's user+system CPU time so far.
	CPU time.Duration `json:"cpu,omitempty"`
	// Hello fields.
	PID      int    `json:"pid,omitempty"`
	LedgerID string `json:"ledger_id,omitempty"`
	AppName  string `json:"app_name,omitempty"`
}

// TimeoutFacts are a timeout's structured fields.
type TimeoutFacts struct {
	Key      string `json:"key"`
	State    string `json:"state"`
	WaitedMS int64  `json:"waited_ms"`
}

// Error kinds carried across processes.
const (
	kindCompleted = "completed"
	kindNotOwner  = "not-owner"
	kindFailed    = "failed"
	kindTimeout   = "timeout"
	kindClosed    = "closed"
	// kindStore: the store failed the operation (ledger.ErrStore,
	// ledger.ErrUnavailable; a driver's "store" error): a fault, never a
	// verdict about the ledger.
	kindStore = "store"
	kindOther = "other"
)

func errKind(err error) string {
	var fe *ledger.FailedError
	var te *ledger.TimeoutError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &fe):
		return kindFailed
	case errors.As(err, &te):
		return kindTimeout
	case errors.Is(err, ledger.ErrStore), errors.Is(err, ledger.ErrUnavailable):
		return kindStore
	case errors.Is(err, ledger.ErrCompleted):
		return kindCompleted
	case errors.Is(err, ledger.ErrNotOwner):
		return kindNotOwner
	case errors.Is(err, ledger.ErrClosed):
		return kindClosed
	}
	return kindOther
}

// Ledger is what an actor drives: a *ledger.Ledger, or (in tests of the
// suite itself) a deliberately faulty wrapper of one.
type Ledger interface {
	ID() string
	NewOwnerID() string
	Claim(ctx context.Context, key, owner string, lease time.Duration) (ledger.Claim, error)
	Renew(ctx context.Context, key, owner string, lease time.Duration) error
	Complete(ctx context.Context, key, owner string, output []byte) (ledger.State, bool, error)
	Fail(ctx context.Context, key, owner, msg string) (ledger.State, error)
	Forget(ctx context.Context, key string) error
	UnsafeRecreate(ctx context.Context, key, owner string, lease time.Duration) error
	Inspect(ctx context.Context, key string) (ledger.State, error)
	Wait(ctx context.Context, key string, opts ...ledger.WaitOption) (ledger.Result, error)
	Do(ctx context.Context, key string, generate func(context.Context) ([]byte, error), opts ...ledger.WaitOption) (ledger.Result, error)
	Close() error
}

// OpenFunc opens the ledger of an in-process actor.
type OpenFunc func(ctx context.Context, dsn string, o ledger.Options) (Ledger, error)

func openLedger(ctx context.Context, dsn string, o ledger.Options) (Ledger, error) {
	return ledger.Open(ctx, dsn, o)
}

// handler performs requests against one ledger handle. The in-process
// actor calls it directly; a worker process serves it over stdin/stdout.
type handler struct {
	l       Ledger
	crashed chan struct{}
	once    sync.Once
}

func newHandler(l Ledger) *handler {
	return &handler{l: l, crashed: make(chan struct{})}
}

// crash makes blocked generators give up and closes the ledger without
// completing anything: what a killed process leaves behind.
func (h *handler) crash() {
	h.once.Do(func() {
		// Close first: a crashed router writes nothing more (not even the
		// failure of the generation it was running).
		_ = h.l.Close()
		close(h.crashed)
	})
}

func (h *handler) serve(ctx context.Context, req Request, emit func(Response)) {
	start := time.Now()
	r := Response{ID: req.ID, Event: "done", StartNS: start.UnixNano()}
	setErr := func(err error) {
		if err != nil {
			r.Err, r.Kind = err.Error(), errKind(err)
			var fe *ledger.FailedError
			var te *ledger.TimeoutError
			if errors.As(err, &fe) {
				r.Token, r.Failure = fe.Token, fe.Message
			}
			if errors.As(err, &te) {
				r.Timeout = &TimeoutFacts{Key: te.Key, State: string(te.Last.Phase()), WaitedMS: te.Elapsed.Milliseconds()}
			}
		}
	}
	withTimeout := func() (context.Context, context.CancelFunc) {
		if req.Timeout > 0 {
			return context.WithTimeout(ctx, req.Timeout)
		}
		return context.WithCancel(ctx)
	}
	switch req.Op {
	case "claim":
		c, err := h.l.Claim(ctx, req.Key, req.Owner, req.Lease)
		setErr(err)
		if err == nil {
			r.Claim = &c
		}
	case "complete":
		st, stored, err := h.l.Complete(ctx, req.Key, req.Owner, req.Output)
		setErr(err)
		r.State, r.Stored = &st, stored
	case "fail":
		st, err := h.l.Fail(ctx, req.Key, req.Owner, req.Msg)
		setErr(err)
		r.State = &st
	case "renew":
		setErr(h.l.Renew(ctx, req.Key, req.Owner, req.Lease))
	case "forget":
		setErr(h.l.Forget(ctx, req.Key))
	case "recreate":
		setErr(h.l.UnsafeRecreate(ctx, req.Key, req.Owner, req.Lease))
	case "inspect":
		st, err := h.l.Inspect(ctx, req.Key)
		setErr(err)
		r.State = &st
	case "wait":
		wctx, cancel := withTimeout()
		res, err := h.l.Wait(wctx, req.Key, ledger.After(req.After), ledger.OnWaiting(func(ledger.State) {
			emit(Response{ID: req.ID, Event: "ready"})
		}))
		cancel()
		setErr(err)
		if err == nil {
			r.Result = &res
		}
	case "do":
		dctx, cancel := withTimeout()
		res, err := h.l.Do(dctx, req.Key, func(gctx context.Context) ([]byte, error) {
			emit(Response{ID: req.ID, Event: "generating"})
			return h.generate(gctx, req.Gen)
		}, ledger.OnWaiting(func(ledger.State) {
			emit(Response{ID: req.ID, Event: "ready"})
		}))
		cancel()
		setErr(err)
		if err == nil {
			r.Result = &res
		}
	case "waitmany":
		r.Times, r.Errors = h.waitMany(ctx, req, emit)
	case "stress":
		r.Ops, r.Errors = stress(ctx, h.l, req.Keys, req.N, req.Duration)
	case "rusage":
		r.CPU = selfCPU()
	default:
		r.Err, r.Kind = fmt.Sprintf("unknown op %q", req.Op), kindOther
	}
	r.DoneNS = time.Now().UnixNano()
	emit(r)
}

func (h *handler) generate(ctx context.Context, g *GenSpec) ([]byte, error) {
	if g == nil {
		g = &GenSpec{}
	}
	if g.Block {
		select {
		case <-h.crashed:
			return nil, errors.New("crashed")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.Sleep > 0 {
		select {
		case <-time.After(g.Sleep):
		case <-h.crashed:
			return nil, errors.New("crashed")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.Fail != "" {
		return nil, errors.New(g.Fail)
	}
	out := g.Output
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// waitMany starts N waiters on one key, says "ready" once all are in
// place, and returns when each received the output (their wall-clock
// return times) or failed.
func (h *handler) waitMany(ctx context.Context, req Request, emit func(Response)) ([]int64, []string) {
	wctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	var ready sync.WaitGroup
	ready.Add(req.N)
	times := make([]int64, req.N)
	errs := make([]error, req.N)
	var wg sync.WaitGroup
	for i := range req.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			markReady := func() { once.Do(ready.Done) }
			if i < len(req.At) {
				_ = sleepUntil(wctx, req.At[i])
			}
			_, err := h.l.Wait(wctx, req.Key, ledger.OnWaiting(func(ledger.State) { markReady() }))
			times[i] = monoNow()
			errs[i] = err
			markReady()
		}()
	}
	ready.Wait()
	emit(Response{ID: req.ID, Event: "ready"})
	wg.Wait()
	var msgs []string
	for _, err := range errs {
		if err != nil && len(msgs) < 5 {
			msgs = append(msgs, err.Error())
		}
	}
	return times, msgs
}

// stressOpBudget bounds one stress operation: longer than the SQLite busy
// timeout, so a "database is locked" that the busy handling failed to absorb
// reaches the report instead of a context error.
const stressOpBudget = 15 * time.Second

// stress runs n goroutines of random claim / complete / fail / inspect /
// short waits on a few keys for d, and returns how many operations ran
// and the errors that reached the caller (none may: the store's busy
// handling must absorb contention).
func stress(ctx context.Context, l Ledger, keys []string, n int, d time.Duration) (int64, []string) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var ops int64
	var msgs []string
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(g)))
			owner := l.NewOwnerID()
			var count int64
			for ctx.Err() == nil {
				key := keys[rng.IntN(len(keys))]
				// Each operation has its own budget, past the end of the
				// window: one still waiting on the write lock when the
				// window closes must finish and report, not be cancelled
				// and forgotten.
				opCtx, opCancel := context.WithTimeout(context.WithoutCancel(ctx), stressOpBudget)
				var err error
				switch rng.IntN(5) {
				case 0, 1:
					_, err = l.Claim(opCtx, key, owner, 50*time.Millisecond)
				case 2:
					_, _, err = l.Complete(opCtx, key, owner, []byte(owner))
				case 3:
					_, err = l.Fail(opCtx, key, owner, "stress")
					if errors.Is(err, ledger.ErrNotOwner) || errors.Is(err, ledger.ErrCompleted) {
						err = nil
					}
				case 4:
					_, err = l.Inspect(opCtx, key)
				}
				opCancel()
				count++
				if err != nil {
					mu.Lock()
					if len(msgs) < 5 {
						msgs = append(msgs, err.Error())
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
	return ops, msgs
}

// WorkerMain is the hidden worker process: it opens the ledger named by
// its flags, says hello, then serves one JSON request per stdin line,
// each concurrently, answering with JSON lines on stdout. It returns when
// stdin closes. `readiness ledger worker` and test binaries (TestMain)
// call it.
func WorkerMain(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("ledger worker", flag.ContinueOnError)
	dsn := fs.String("dsn", "", "ledger DSN")
	lease := fs.Duration("lease", time.Second, "lease for Do")
	name := fs.String("name", "worker", "owner-ID prefix")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (pprof) to this file when stdin closes")
	maxConns := fs.Int("max-conns", 0, "PostgreSQL pool size (0: the ledger's default); the suite's connection budget sets it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		stop, err := StartCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	l, err := ledger.Open(ctx, *dsn, ledger.Options{Lease: *lease, Name: fmt.Sprintf("%s:%d", *name, os.Getpid()), MaxConns: *maxConns})
	if err != nil {
		// Said on stdout too, typed, so that the suite can tell a store
		// that refused the worker from a worker that broke.
		_ = json.NewEncoder(stdout).Encode(Response{Event: "hello", PID: os.Getpid(), Err: err.Error(), Kind: errKind(err)})
		return err
	}
	h := newHandler(l)
	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	emit := func(r Response) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
	}
	emit(Response{Event: "hello", PID: os.Getpid(), LedgerID: l.ID(), AppName: l.AppName()})
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var wg sync.WaitGroup
	defer func() {
		h.crash() // stdin closed: the parent is done with us
		wg.Wait()
	}()
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			emit(Response{Event: "done", Err: "bad request: " + err.Error(), Kind: kindOther})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.serve(ctx, req, emit)
		}()
	}
	return sc.Err()
}
