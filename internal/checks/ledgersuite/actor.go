package ledgersuite

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/ledger"
	"github.com/readiness-dev/readiness/internal/procexec"
)

// Exec is how the suite starts a worker process: normally this binary
// with `ledger worker`; in tests the test binary, told by Env to act as a
// worker. The worker's own flags (--dsn, --lease, --name) are appended.
type Exec struct {
	Path string
	Args []string
	Env  []string
}

// Actor is one router: a ledger handle in this process, or a worker
// process that can be killed for real.
type Actor interface {
	Name() string
	// Start sends a request; the Call reports its events.
	Start(req Request) *Call
	// Crash kills the actor: SIGKILL for a process; for an in-process
	// actor, its ledger is closed with nothing completed or released.
	Crash()
	// Alive is false after Crash or an unexpected exit.
	Alive() bool
	// AppName is the application_name of the actor's PostgreSQL
	// connections (in-process actors share theirs).
	AppName() string
	Close() error
}

// Call is a request in flight.
type Call struct {
	Req Request
	// Ready is closed when a waiter is in place; Generating when Do's
	// generate began.
	Ready      chan struct{}
	Generating chan struct{}
	done       chan Response
	final      *Response
	// observe, when set, sees the final response (Env records store
	// faults with it).
	observe   func(Response)
	mu        sync.Mutex
	readyOnce sync.Once
	genOnce   sync.Once
}

func newCall(req Request) *Call {
	return &Call{Req: req, Ready: make(chan struct{}), Generating: make(chan struct{}), done: make(chan Response, 1)}
}

func (c *Call) deliver(r Response) {
	switch r.Event {
	case "ready":
		c.readyOnce.Do(func() { close(c.Ready) })
	case "generating":
		c.genOnce.Do(func() { close(c.Generating) })
	default:
		select {
		case c.done <- r:
		default:
		}
	}
}

// Done waits for the call's final response, at most d.
func (c *Call) Done(d time.Duration) (Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil {
		return *c.final, nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-c.done:
		c.final = &r
		if c.observe != nil {
			c.observe(r)
		}
		return r, nil
	case <-t.C:
		return Response{}, fmt.Errorf("%s %s: no answer within %s", c.Req.Op, c.Req.Key, d)
	}
}

// AwaitReady waits until the waiter is in place (or the call ended).
func (c *Call) AwaitReady(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.Ready:
		return nil
	case r := <-c.done:
		c.done <- r
		return &endedError{call: c, r: r}
	case <-t.C:
		return fmt.Errorf("%s %s: waiter not in place within %s", c.Req.Op, c.Req.Key, d)
	}
}

// endedError: a call ended before its waiter was in place (AwaitReady).
type endedError struct {
	call *Call
	r    Response
}

func (e *endedError) Error() string {
	return fmt.Sprintf("%s %s ended before waiting: %s", e.call.Req.Op, e.call.Req.Key, describe(e.r))
}

// startError: a worker process reported why it could not start.
type startError struct {
	actor, kind, msg string
}

func (e *startError) Error() string {
	return fmt.Sprintf("worker %s could not open the ledger: %s", e.actor, e.msg)
}

// inproc is an actor in this process with its own ledger handle (so its
// waiters learn of other actors' writes through the store, as another
// router's would).
type inproc struct {
	name string
	h    *handler
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	dead bool
	mu   sync.Mutex
}

func newInproc(ctx context.Context, open OpenFunc, name, dsn string, lease time.Duration, pool *ledger.Pool) (*inproc, error) {
	if open == nil {
		open = openLedger
	}
	l, err := open(ctx, dsn, ledger.Options{Lease: lease, Name: name, Pool: pool})
	if err != nil {
		return nil, err
	}
	actx, stop := context.WithCancel(context.Background())
	return &inproc{name: name, h: newHandler(l), ctx: actx, stop: stop}, nil
}

func (a *inproc) Name() string { return a.name }
func (a *inproc) AppName() string {
	if n, ok := a.h.l.(interface{ AppName() string }); ok {
		return n.AppName()
	}
	return ""
}

func (a *inproc) Start(req Request) *Call {
	c := newCall(req)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.h.serve(a.ctx, req, c.deliver)
	}()
	return c
}

func (a *inproc) Crash() {
	a.mu.Lock()
	a.dead = true
	a.mu.Unlock()
	a.h.crash()
}

func (a *inproc) Alive() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.dead
}

func (a *inproc) Close() error {
	a.stop()
	a.h.crash()
	a.wg.Wait()
	return nil
}

// proc is a worker process speaking JSON lines.
type proc struct {
	name    string
	kill    context.CancelFunc
	stdin   *io.PipeWriter
	encMu   sync.Mutex
	enc     *json.Encoder
	mu      sync.Mutex
	calls   map[int64]*Call
	next    int64
	exited  chan struct{}
	stderr  *lockedBuffer
	pid     int
	appName string
	dead    bool
}

// procLimits bound a worker process: its PostgreSQL pool (0: the
// ledger's default) and a func called once it has exited.
type procLimits struct {
	maxConns int
	onExit   func()
}

func startProc(ctx context.Context, x Exec, name, dsn string, lease time.Duration, lim procLimits) (*proc, error) {
	if x.Path == "" {
		return nil, errors.New("no worker executable configured")
	}
	pctx, kill := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &proc{name: name, kill: kill, stdin: inW, enc: json.NewEncoder(inW), calls: map[int64]*Call{}, exited: make(chan struct{}), stderr: &lockedBuffer{}}
	args := append(append([]string{}, x.Args...), "--dsn", dsn, "--lease", lease.String(), "--name", name)
	if lim.maxConns > 0 {
		args = append(args, "--max-conns", fmt.Sprint(lim.maxConns))
	}
	go func() {
		_, err := procexec.Run(pctx, procexec.Cmd{Path: x.Path, Args: args, Env: x.Env, Stdin: inR, Stdout: outW, Stderr: p.stderr, WaitDelay: 500 * time.Millisecond})
		if err != nil && pctx.Err() == nil {
			fmt.Fprintf(p.stderr, "\n%v", err)
		}
		_ = outW.Close()
		_ = inR.Close()
	}()
	hello := make(chan Response, 1)
	go func() {
		defer close(p.exited)
		if lim.onExit != nil {
			defer lim.onExit()
		}
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var r Response
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				continue
			}
			if r.Event == "hello" {
				hello <- r
				continue
			}
			p.mu.Lock()
			c := p.calls[r.ID]
			if r.Event == "done" {
				delete(p.calls, r.ID)
			}
			p.mu.Unlock()
			if c != nil {
				c.deliver(r)
			}
		}
		_, _ = io.Copy(io.Discard, outR)
		p.mu.Lock()
		p.dead = true
		calls := p.calls
		p.calls = map[int64]*Call{}
		p.mu.Unlock()
		for _, c := range calls {
			c.deliver(Response{ID: c.Req.ID, Event: "done", Err: "worker process died", Kind: kindClosed})
		}
	}()
	t := time.NewTimer(60 * time.Second)
	defer t.Stop()
	select {
	case r := <-hello:
		if r.Err != "" {
			p.Crash() // it is exiting; close its stdin and reap it
			return nil, &startError{actor: name, kind: r.Kind, msg: r.Err}
		}
		p.pid, p.appName = r.PID, r.AppName
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("worker %s exited at start: %s", name, strings.TrimSpace(p.stderr.String()))
	case <-t.C:
		p.Crash()
		return nil, fmt.Errorf("worker %s did not start within 60s: %s", name, strings.TrimSpace(p.stderr.String()))
	case <-ctx.Done():
		p.Crash()
		return nil, ctx.Err()
	}
}

func (p *proc) Name() string    { return p.name }
func (p *proc) AppName() string { return p.appName }

func (p *proc) Start(req Request) *Call {
	p.mu.Lock()
	p.next++
	req.ID = p.next
	c := newCall(req)
	if p.dead {
		p.mu.Unlock()
		c.deliver(Response{ID: req.ID, Event: "done", Err: "worker process is dead", Kind: kindClosed})
		return c
	}
	p.calls[req.ID] = c
	p.mu.Unlock()
	p.encMu.Lock()
	err := p.enc.Encode(req)
	p.encMu.Unlock()
	if err != nil {
		p.mu.Lock()
		delete(p.calls, req.ID)
		p.mu.Unlock()
		c.deliver(Response{ID: req.ID, Event: "done", Err: "send to worker: " + err.Error(), Kind: kindClosed})
	}
	return c
}

// Crash SIGKILLs the worker's process group and waits until it is gone.
func (p *proc) Crash() {
	p.mu.Lock()
	p.dead = true
	p.mu.Unlock()
	p.kill()
	_ = p.stdin.Close()
	<-p.exited
}

func (p *proc) Alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.dead
}

// Close ends the worker gently (stdin EOF), killing it if it lingers.
func (p *proc) Close() error {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
	}
	p.kill()
	<-p.exited
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func describe(r Response) string {
	switch {
	case r.Err != "":
		return fmt.Sprintf("error (%s): %s", r.Kind, r.Err)
	case r.Result != nil:
		return fmt.Sprintf("output %q (%s)", r.Result.Output, r.Result.Source)
	case r.Claim != nil && r.Claim.Owned && r.Claim.State.Attempt != nil:
		return fmt.Sprintf("became the owner (attempt %d)", r.Claim.State.Attempt.Token)
	case r.Claim != nil && r.Claim.Owned:
		return "became the owner"
	case r.Claim != nil && r.Desc != "":
		return "not owner; " + r.Desc
	case r.Claim != nil:
		return "not owner; " + r.Claim.State.Describe()
	case r.Desc != "":
		return r.Desc
	case r.State != nil:
		return r.State.Describe()
	}
	return "ok"
}
