// Package ledger is a cross-process, cross-host "singleflight with durable
// replay" for deduplicating identical expensive requests (LLM generations).
//
// One caller claims a key and generates; concurrent callers of the same key
// wait and receive the same output; later callers within the retention
// period get the stored output replayed. Unlike an in-memory singleflight,
// the output is durable: once Complete commits it, every waiter of the key,
// in any process, on any host sharing the store, receives it, whatever
// happens afterwards (a restarted router re-claiming the key, a later
// failure, the inflight row being cleared and recreated, the committing
// process dying).
//
// Outputs and attempts live in separate tables: an output is written once
// and is terminal until its retention ends, and every read consults it
// before the attempt. A failure or a new claim only ever touches the
// attempt, so it cannot hide an output.
//
// Backends are chosen by DSN: SQLite (modernc.org/sqlite, pure Go, WAL) for
// processes on one host, PostgreSQL (pgx, LISTEN/NOTIFY) for many hosts.
// Waiters in one process share one watch per key and are woken by the
// writer directly; waiters in other processes are woken by the store's
// change signal (SQLite: PRAGMA data_version polled on one connection;
// PostgreSQL: NOTIFY).
package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults.
const (
	DefaultLease     = 30 * time.Second
	DefaultRetention = 24 * time.Hour
	DefaultBudget    = 15 * time.Second
)

// Options tune a Ledger. Zero values take the DSN's parameters, then the
// defaults.
type Options struct {
	// Lease is how long a claim lasts without renewal; Do renews it every
	// third of the lease while generating.
	Lease time.Duration
	// Retention is how long a completed output is kept and replayed.
	Retention time.Duration
	// Budget bounds how long a transient store error (SQLite busy, a
	// dropped PostgreSQL connection) is retried before it is returned.
	Budget time.Duration
	// Name prefixes owner IDs and, for PostgreSQL, is the
	// application_name of the connections; default host:pid.
	Name string
	// Logf, when set, receives diagnostics (reconnects, feed errors).
	Logf func(format string, args ...any)
	// MustExist refuses to create the store: opening a SQLite file that
	// does not exist fails with ErrNoLedger instead of making a fresh
	// ledger (a mistyped path must not look like an empty ledger).
	MustExist bool
	// ReadOnly opens the store for reading (Inspect, Wait): a SQLite file
	// is opened read-only and nothing is swept. Writes fail.
	ReadOnly bool
	// Pool, for PostgreSQL, shares one connection pool and one LISTEN
	// connection among the handles of this process that name it.
	Pool *Pool
	// MaxConns bounds a PostgreSQL handle's own pool (without Pool);
	// zero: pool_max_conns from the DSN, else 8. The handle holds one
	// more connection, its listener.
	MaxConns int
}

// backend is one storage implementation. Every method is one transaction.
type backend interface {
	claim(ctx context.Context, key, owner string, lease time.Duration) (Claim, error)
	renew(ctx context.Context, key, owner string, lease time.Duration) (State, error)
	complete(ctx context.Context, key, owner string, data []byte, retention time.Duration) (State, bool, error)
	fail(ctx context.Context, key, owner, msg string) (State, error)
	inspect(ctx context.Context, key string) (State, error)
	forget(ctx context.Context, key string) (State, error)
	recreate(ctx context.Context, key, owner string, lease time.Duration) (State, error)
	sweep(ctx context.Context, retention time.Duration) error
	// feed reports keys that any process changed (nil: unknown, refresh
	// every watched key) until ctx ends.
	feed(ctx context.Context, h *hub, changed func(keys []string))
	transient(err error) bool
	close() error
}

// Ledger is a handle on one store. It is safe for concurrent use; open one
// per process and share it.
type Ledger struct {
	b       backend
	dsn     DSN
	hub     *hub
	opts    Options
	id      string
	counter atomic.Uint64
	cancel  context.CancelFunc
	feedCtx context.Context
	// reads carries waiters' store reads to long-lived reader goroutines
	// (see onReader).
	reads    chan func()
	wg       sync.WaitGroup
	closed   atomic.Bool
	done     chan struct{} // closed by Close: waiters return ErrClosed
	closeErr error
	once     sync.Once
}

// Open connects to the store named by dsn, creating or migrating its schema.
func Open(ctx context.Context, dsn string, opts Options) (*Ledger, error) {
	d, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return OpenDSN(ctx, d, opts)
}

// OpenDSN is Open for a parsed DSN.
func OpenDSN(ctx context.Context, d DSN, opts Options) (*Ledger, error) {
	opts = fill(opts, d)
	l := &Ledger{dsn: d, hub: newHub(), opts: opts, done: make(chan struct{}), reads: make(chan func())}
	l.id = opts.Name + "/" + randomHex(4)
	var err error
	switch d.Driver {
	case DriverSQLite:
		l.b, err = openSQLite(ctx, d, opts, l.logf)
	case DriverPostgres:
		l.b, err = openPostgres(ctx, d, l.id, opts, l.logf)
	default:
		err = fmt.Errorf("%w: unknown driver %q", ErrBadDSN, d.Driver)
	}
	if err != nil {
		return nil, openErr(err)
	}
	feedCtx, cancel := context.WithCancel(context.Background())
	l.cancel, l.feedCtx = cancel, feedCtx
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.b.feed(feedCtx, l.hub, func(keys []string) { l.refresh(feedCtx, keys) })
	}()
	if !opts.ReadOnly {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.sweeper(feedCtx)
		}()
	}
	for range readers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-feedCtx.Done():
					return
				case f := <-l.reads:
					f()
				}
			}
		}()
	}
	return l, nil
}

// readers is how many goroutines serve waiters' reads.
const readers = 4

// onReader runs f on a reader goroutine and returns when it has. A read
// through the SQLite driver runs deep stacks: on a waiter's fresh
// goroutine each read first grew the stack, copying it several times
// (14% of the CPU at the peer's workload); a reader's stack stays grown.
// When the ledger is closed, f runs here.
func (l *Ledger) onReader(ctx context.Context, f func()) {
	done := make(chan struct{})
	g := func() { defer close(done); f() }
	select {
	case l.reads <- g:
	case <-l.feedCtx.Done():
		g()
	case <-ctx.Done():
		g() // f sees ctx ended and returns at once
	}
	<-done
}

// openErr marks a failure to open the store as ErrUnavailable unless it
// already says what is wrong.
func openErr(err error) error {
	for _, typed := range []error{ErrBadDSN, ErrNotLedger, ErrNoLedger, ErrInvalid, ErrUnavailable} {
		if errors.Is(err, typed) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func fill(o Options, d DSN) Options {
	if o.Lease <= 0 {
		o.Lease = d.Lease
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Retention <= 0 {
		o.Retention = d.Retention
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	return o
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (l *Ledger) logf(format string, args ...any) {
	if l.opts.Logf != nil {
		l.opts.Logf(format, args...)
	}
}

// ID identifies this handle (its owner-ID prefix and, for PostgreSQL, its
// connections' application_name).
func (l *Ledger) ID() string { return l.id }

// AppName is the application_name of this handle's PostgreSQL
// connections (with a Pool, the Pool's); "" for SQLite.
func (l *Ledger) AppName() string {
	if b, ok := l.b.(*pgBackend); ok {
		return b.app
	}
	return ""
}

// DSN is the store's address.
func (l *Ledger) DSN() DSN { return l.dsn }

// Lease is the lease Do claims with.
func (l *Ledger) Lease() time.Duration { return l.opts.Lease }

// Retention is how long outputs are kept.
func (l *Ledger) Retention() time.Duration { return l.opts.Retention }

// NewOwnerID returns an owner ID unique to this handle and call.
func (l *Ledger) NewOwnerID() string {
	return fmt.Sprintf("%s/%d", l.id, l.counter.Add(1))
}

// Close stops the change feed and closes the store. Waiters in progress
// end with ErrClosed.
func (l *Ledger) Close() error {
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.done)
		l.cancel()
		l.wg.Wait()
		l.closeErr = l.b.close()
	})
	return l.closeErr
}

// refresh re-reads watched keys after a change signal.
func (l *Ledger) refresh(ctx context.Context, keys []string) {
	if keys == nil {
		keys = l.hub.keys()
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] || !l.hub.watched(k) {
			continue
		}
		seen[k] = true
		st, err := l.inspectRetry(ctx, k)
		if err != nil {
			if ctx.Err() == nil {
				l.logf("ledger: refresh %s: %v", KeyRef(k), err)
			}
			continue
		}
		l.hub.publish(st)
	}
}

func (l *Ledger) sweeper(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.b.sweep(ctx, l.opts.Retention); err != nil && ctx.Err() == nil {
				l.logf("ledger: sweep: %v", err)
			}
		}
	}
}

// retry runs op, retrying transient store errors with backoff within the
// budget or until ctx ends.
func (l *Ledger) retry(ctx context.Context, op func() error) error {
	if l.closed.Load() {
		return ErrClosed
	}
	deadline := time.Now().Add(l.opts.Budget)
	backoff := time.Millisecond
	for {
		err := op()
		if err == nil || !l.b.transient(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

func (l *Ledger) inspectRetry(ctx context.Context, key string) (State, error) {
	var st State
	err := l.retry(ctx, func() (err error) { st, err = l.b.inspect(ctx, key); return err })
	return st, err
}

// Claim makes owner the generator of key for lease, unless an output is
// retained (Claim.State.Output is set and Owned is false: use it) or
// another owner's lease is live (neither is set: wait). Claiming a key
// whose last attempt failed or whose owner's lease expired starts a new
// attempt. Claiming again with the same owner while the lease is live
// extends it.
func (l *Ledger) Claim(ctx context.Context, key, owner string, lease time.Duration) (Claim, error) {
	if err := checkArgs(key, owner); err != nil {
		return Claim{}, err
	}
	if lease <= 0 {
		lease = l.opts.Lease
	}
	var c Claim
	err := l.retry(ctx, func() (err error) { c, err = l.b.claim(ctx, key, owner, lease); return err })
	if err != nil {
		l.writeFailed(key, err)
		return Claim{}, opErr("claim", key, err)
	}
	l.hub.publish(c.State)
	return c, nil
}

// Renew extends owner's lease on its running attempt. ErrNotOwner means
// the lease was lost (taken over); ErrCompleted means an output exists.
func (l *Ledger) Renew(ctx context.Context, key, owner string, lease time.Duration) error {
	if err := checkArgs(key, owner); err != nil {
		return err
	}
	if lease <= 0 {
		lease = l.opts.Lease
	}
	var st State
	err := l.retry(ctx, func() (err error) { st, err = l.b.renew(ctx, key, owner, lease); return err })
	if err != nil {
		return opErr("renew", key, err)
	}
	l.hub.publish(st)
	return nil
}

// Complete stores output for key and wakes its waiters. The first output
// wins: if one is already retained, nothing is written and the retained
// one is returned with stored false. Any caller may complete, including
// one whose attempt row was cleared or taken over: an output is an output.
func (l *Ledger) Complete(ctx context.Context, key, owner string, output []byte) (State, bool, error) {
	if err := checkArgs(key, owner); err != nil {
		return State{}, false, err
	}
	if output == nil {
		output = []byte{}
	}
	var st State
	var stored bool
	err := l.retry(ctx, func() (err error) {
		st, stored, err = l.b.complete(ctx, key, owner, output, l.opts.Retention)
		return err
	})
	if err != nil {
		l.writeFailed(key, err)
		return State{}, false, opErr("complete", key, err)
	}
	if !stored && st.Output != nil && st.Output.Owner == owner && bytes.Equal(st.Output.Data, output) {
		// A retry after a commit whose reply was lost (a dropped
		// connection) finds its own output: it was stored.
		stored = true
	}
	l.hub.publish(st)
	return st, stored, nil
}

// Fail records that owner's running attempt failed with msg and wakes the
// waiters, who receive a *FailedError. It returns ErrCompleted (and
// changes nothing) when an output is retained, and ErrNotOwner when owner
// does not hold the running attempt.
func (l *Ledger) Fail(ctx context.Context, key, owner, msg string) (State, error) {
	if err := checkArgs(key, owner); err != nil {
		return State{}, err
	}
	var st State
	err := l.retry(ctx, func() (err error) { st, err = l.b.fail(ctx, key, owner, msg); return err })
	if err != nil && !errors.Is(err, ErrCompleted) {
		l.writeFailed(key, err)
		return st, opErr("fail", key, err)
	}
	l.hub.publish(st)
	if err != nil {
		return st, opErr("fail", key, err)
	}
	return st, nil
}

// Inspect reads what the store holds for key.
func (l *Ledger) Inspect(ctx context.Context, key string) (State, error) {
	if err := checkKey(key); err != nil {
		return State{}, err
	}
	st, err := l.inspectRetry(ctx, key)
	if err != nil {
		return State{}, opErr("inspect", key, err)
	}
	return st, nil
}

// Forget deletes key's attempt row (never its output), as a router that
// abandons its inflight rows on restart does. Waiters keep waiting: an
// output written later still reaches them.
func (l *Ledger) Forget(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	var st State
	err := l.retry(ctx, func() (err error) { st, err = l.b.forget(ctx, key); return err })
	if err != nil {
		l.writeFailed(key, err)
		return opErr("forget", key, err)
	}
	l.hub.publish(st)
	return nil
}

// UnsafeRecreate overwrites key's attempt row with a running attempt of
// owner, without the checks Claim makes. It reproduces what the reviewed
// router did on restart and exists for the regression suite: an output
// must survive it.
func (l *Ledger) UnsafeRecreate(ctx context.Context, key, owner string, lease time.Duration) error {
	if err := checkArgs(key, owner); err != nil {
		return err
	}
	var st State
	err := l.retry(ctx, func() (err error) { st, err = l.b.recreate(ctx, key, owner, lease); return err })
	if err != nil {
		l.writeFailed(key, err)
		return opErr("recreate", key, err)
	}
	l.hub.publish(st)
	return nil
}

// writeFailed re-reads key for this process's waiters after a write
// that failed in a way that may hide a commit (the reply was lost): the
// change feeds skip this handle's own writes, which it publishes itself,
// and this one it could not.
func (l *Ledger) writeFailed(key string, err error) {
	if err == nil || errors.Is(err, ErrNotOwner) || errors.Is(err, ErrCompleted) || errors.Is(err, ErrInvalid) || l.closed.Load() || !l.hub.watched(key) {
		return
	}
	go l.refresh(l.feedCtx, []string{key})
}

func checkArgs(key, owner string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if owner == "" {
		return fmt.Errorf("%w: the owner is empty", ErrInvalid)
	}
	return nil
}

// WaitOption adjusts Wait.
type WaitOption func(*waitOpts)

type waitOpts struct {
	after int64
	ready func(State)
}

// After makes Wait ignore failed attempts with a token up to t: a waiter
// that received a failure waits for the retry instead of the same failure.
func After(token int64) WaitOption { return func(o *waitOpts) { o.after = token } }

// OnWaiting calls f once with the first state seen, after the waiter is
// registered for changes and before it blocks (for tests and scripts that
// must know a waiter is in place).
func OnWaiting(f func(State)) WaitOption { return func(o *waitOpts) { o.ready = f } }

// WaitSettings are the effect of a list of WaitOptions, for wrappers of
// a Ledger that implement Wait themselves.
type WaitSettings struct {
	After     int64
	OnWaiting func(State)
}

// ApplyWaitOptions resolves opts.
func ApplyWaitOptions(opts ...WaitOption) WaitSettings {
	var o waitOpts
	for _, f := range opts {
		f(&o)
	}
	return WaitSettings{After: o.after, OnWaiting: o.ready}
}

// Wait blocks until key has an output (returned with Source Shared), the
// latest attempt fails (a *FailedError carrying the owner's message), or
// ctx ends (a *TimeoutError naming the key, the last state and the time
// waited). A key that is absent, or whose row was cleared, is waited for:
// an output stored later still arrives.
func (l *Ledger) Wait(ctx context.Context, key string, opts ...WaitOption) (Result, error) {
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	var o waitOpts
	for _, f := range opts {
		f(&o)
	}
	st, err := l.watchUntil(ctx, key, o.ready, false, func(st State) bool {
		switch st.Phase() {
		case PhaseCompleted:
			return true
		case PhaseFailed:
			return st.Attempt.Token > o.after
		}
		return false
	})
	if err != nil {
		return Result{}, err
	}
	if st.Phase() == PhaseCompleted {
		return resultOf(st.Output, Shared), nil
	}
	return Result{}, failedErr(st)
}

func failedErr(st State) error {
	return &FailedError{Key: st.Key, Owner: st.Attempt.Owner, Token: st.Attempt.Token, Message: st.Attempt.Error}
}

// watchUntil blocks until done(state) holds, ctx ends, or the ledger
// closes. With leaseWake it also re-reads the key when a running
// attempt's lease should have ended (no one signals an expiry).
func (l *Ledger) watchUntil(ctx context.Context, key string, ready func(State), leaseWake bool, done func(State) bool) (State, error) {
	start := time.Now()
	w, unsubscribe := l.hub.subscribe(key)
	defer unsubscribe()
	last := State{Key: key}
	timeout := func(cause error) (State, error) {
		return last, &TimeoutError{Key: key, Last: last, Elapsed: time.Since(start), Cause: cause}
	}
	// Always read the store first, even when other waiters here already
	// watch the key: their view may predate a change made elsewhere that
	// this caller has seen happen (a retry's claim), and the change feed
	// may not have delivered it yet. The read is shared with waiters of
	// the key asking at the same time, but always starts after this call
	// did (hub.read).
	fetch := func(ctx context.Context) (st State, err error) {
		l.onReader(ctx, func() { st, err = l.inspectRetry(ctx, key) })
		return st, err
	}
	st, err := l.hub.read(ctx, w, fetch)
	if err != nil {
		if ctx.Err() != nil {
			return timeout(ctx.Err())
		}
		return last, opErr("wait", key, err)
	}
	l.hub.publish(st)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		snap, _, changed := l.hub.snapshot(w)
		last = snap
		if done(snap) {
			return snap, nil
		}
		if ready != nil {
			ready(snap)
			ready = nil
		}
		var wake <-chan time.Time
		if leaseWake && snap.Attempt != nil && snap.Attempt.Status == AttemptRunning {
			d := snap.Attempt.LeaseUntil.Sub(snap.ReadAt) + time.Millisecond
			if d < time.Millisecond {
				d = time.Millisecond
			}
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			wake = timer.C
		}
		if l.closed.Load() {
			return last, ErrClosed
		}
		select {
		case <-ctx.Done():
			return timeout(ctx.Err())
		case <-l.done:
			return last, ErrClosed
		case <-changed:
		case <-wake:
			st, err := l.hub.read(ctx, w, fetch)
			if err != nil {
				if ctx.Err() != nil {
					return timeout(ctx.Err())
				}
				return last, opErr("wait", key, err)
			}
			l.hub.publish(st)
		}
	}
}

// Do returns key's output, generating it at most once at a time across
// every process sharing the store. If an output is retained it is
// replayed; if another owner is generating, Do waits and shares its
// output or its failure; if that owner dies (its lease runs out), Do takes
// over and generates. generate's error is recorded as the attempt's
// failure, delivered to the waiters, and returned. Of the options,
// OnWaiting applies (called when Do starts waiting for another owner).
func (l *Ledger) Do(ctx context.Context, key string, generate func(context.Context) ([]byte, error), opts ...WaitOption) (Result, error) {
	var o waitOpts
	for _, f := range opts {
		f(&o)
	}
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	owner := l.NewOwnerID()
	start := time.Now()
	last := State{Key: key}
	for {
		c, err := l.Claim(ctx, key, owner, l.opts.Lease)
		if err != nil {
			if ctx.Err() != nil {
				// The deadline passed while claiming: still a bounded
				// wait that says what it last saw.
				return Result{}, &TimeoutError{Key: key, Last: last, Elapsed: time.Since(start), Cause: ctx.Err()}
			}
			return Result{}, err
		}
		last = c.State
		if c.State.Phase() == PhaseCompleted {
			return resultOf(c.State.Output, Replayed), nil
		}
		if c.Owned {
			return l.generate(ctx, key, owner, generate)
		}
		var waitingFor int64
		if c.State.Attempt != nil {
			waitingFor = c.State.Attempt.Token
		}
		st, err := l.watchUntil(ctx, key, o.ready, true, func(st State) bool {
			switch st.Phase() {
			case PhaseCompleted, PhaseExpired, PhaseAbsent, PhaseFailed:
				return true
			}
			return false
		})
		var te *TimeoutError
		if errors.As(err, &te) {
			// The caller waited since Do began, claims included.
			te.Elapsed = time.Since(start)
		}
		if err != nil {
			return Result{}, err
		}
		switch st.Phase() {
		case PhaseCompleted:
			return resultOf(st.Output, Shared), nil
		case PhaseFailed:
			if st.Attempt.Token >= waitingFor {
				return Result{}, failedErr(st)
			}
		}
		o.ready = nil
		// The owner's lease ran out or its row was cleared: take over.
	}
}

func (l *Ledger) generate(ctx context.Context, key, owner string, generate func(context.Context) ([]byte, error)) (res Result, err error) {
	// Record the outcome even when ctx has ended, so waiters learn of it.
	bg := context.WithoutCancel(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.renewLoop(ctx, stop, key, owner)
	}()
	finish := func() { close(stop); wg.Wait() }
	var out []byte
	var gerr error
	func() {
		defer func() {
			if p := recover(); p != nil {
				finish()
				fctx, cancel := context.WithTimeout(bg, l.opts.Budget)
				defer cancel()
				_, _ = l.Fail(fctx, key, owner, fmt.Sprintf("generate panicked: %v", p))
				panic(p)
			}
		}()
		out, gerr = generate(ctx)
	}()
	finish()
	fctx, cancel := context.WithTimeout(bg, l.opts.Budget)
	defer cancel()
	if gerr != nil {
		if _, err := l.Fail(fctx, key, owner, gerr.Error()); err != nil && !errors.Is(err, ErrNotOwner) && !errors.Is(err, ErrCompleted) {
			return Result{}, errors.Join(gerr, err)
		}
		return Result{}, gerr
	}
	st, stored, err := l.Complete(fctx, key, owner, out)
	if err != nil {
		return Result{Output: out, Source: Generated, Owner: owner}, err
	}
	if stored {
		return resultOf(st.Output, Generated), nil
	}
	// Someone stored an output first (a late writer after a takeover):
	// every caller must see the same output, so return that one.
	return resultOf(st.Output, Shared), nil
}

func (l *Ledger) renewLoop(ctx context.Context, stop <-chan struct{}, key, owner string) {
	every := l.opts.Lease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			err := l.Renew(ctx, key, owner, l.opts.Lease)
			if errors.Is(err, ErrNotOwner) || errors.Is(err, ErrCompleted) {
				return
			}
			if err != nil {
				l.logf("ledger: renew %s: %v", KeyRef(key), err)
			}
		}
	}
}

var errCanceled = context.Canceled
