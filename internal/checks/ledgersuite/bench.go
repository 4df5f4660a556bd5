package ledgersuite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/readiness-dev/readiness/internal/ledger"
)

// BenchConfig is one run of `readiness ledger bench`.
type BenchConfig struct {
	DSN    string
	Worker Exec
	// WorkerCPUProfile, when set, makes worker process i write its CPU
	// profile to WorkerCPUProfile + ".<i>" (pprof) when it ends.
	WorkerCPUProfile string
	// Waiters are the fan-out sizes measured (default 1, 10, 100, 1000).
	Waiters []int
	// Processes the cross-process waiters are spread over (default 4).
	Processes int
	// Samples is the minimum number of latency samples per figure
	// (default 1000; at least 3 rounds).
	Samples int
	// Round shapes every delivery round (zero: Complete as soon as all
	// waiters are registered).
	Round Round
	// Throughput is how long the timed throughput test runs (default 3s)
	// when Workload.Keys is 0.
	Throughput time.Duration
	// Workload is the throughput test: Workload.Keys keys (0: as many as
	// fit in Throughput), InFlight at a time, WaitersPerKey waiters each
	// (zero Workload: 8 in flight, 4 waiters, timed).
	Workload Workload
	// IdleWaiters wait for Idle while CPU is measured (default 1000, 10s).
	IdleWaiters int
	Idle        time.Duration
	// NoIdle skips the idle measurement.
	NoIdle bool
	// Progress, when set, receives a line per finished figure.
	Progress func(string)
}

// Round is the shape of one delivery round.
type Round struct {
	// Spread: the round's waiters arrive evenly over this time from the
	// round's start, alternating between the processes (0: all at once).
	Spread time.Duration `json:"spread_ns"`
	// CompleteAfter: Complete is called this long after the round's
	// start, whether or not every waiter is registered by then (0: as
	// soon as all are).
	CompleteAfter time.Duration `json:"complete_after_ns"`
}

// PeerWorkload is the benchmark of the reviewed Python ledger (issue 15),
// which `readiness ledger bench --workload peer` runs: 1,000 keys, 25 in
// flight, 4 waiters per key, each key completed right after its claim;
// delivery rounds of 100 waiters (4 processes × 25) arriving over 100 ms,
// completed 200 ms after the round starts.
func PeerWorkload() BenchConfig {
	return BenchConfig{
		Waiters: []int{100}, Processes: 4, Samples: 1000,
		Round:    Round{Spread: 100 * time.Millisecond, CompleteAfter: 200 * time.Millisecond},
		Workload: Workload{Keys: 1000, InFlight: 25, WaitersPerKey: 4, CompleteAtOnce: true},
	}
}

// Delivery is the latency from Complete returning to each waiter
// returning, for one fan-out size. Times are CLOCK_MONOTONIC, one clock
// for every process of the host; a waiter that returned before Complete
// returned (PostgreSQL's NOTIFY can beat the writer's reply) has a negative
// latency, counted in Negative and kept, not clamped to 0.
type Delivery struct {
	Mode     Mode          `json:"mode"`
	Waiters  int           `json:"waiters"`
	Rounds   int           `json:"rounds"`
	Round    Round         `json:"round"`
	Samples  int           `json:"samples"`
	Min      time.Duration `json:"min_ns"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
	Negative int           `json:"negative"`
	// Commit is the median time Complete itself took.
	Commit time.Duration `json:"commit_p50_ns"`
	// The same latencies measured from the start of the Complete call:
	// an upper bound that includes the commit.
	P50FromCall time.Duration `json:"p50_from_call_ns"`
	P99FromCall time.Duration `json:"p99_from_call_ns"`
	MaxFromCall time.Duration `json:"max_from_call_ns"`
}

// Workload is the shape of the throughput test.
type Workload struct {
	Keys          int `json:"keys"`
	InFlight      int `json:"in_flight"`
	WaitersPerKey int `json:"waiters_per_key"`
	// CompleteAtOnce: the owner completes right after its claim, without
	// waiting for the key's waiters to be registered (they then get the
	// output from their first read); otherwise it completes once all wait.
	CompleteAtOnce bool `json:"complete_at_once"`
}

// Throughput is keys completed per second, each with a claim, a complete
// and its waiters.
type Throughput struct {
	Keys        int64         `json:"keys"`
	Duration    time.Duration `json:"duration_ns"`
	KeysPerSec  float64       `json:"keys_per_sec"`
	Concurrency int           `json:"concurrency"`
	WaitersPer  int           `json:"waiters_per_key"`
	// AtOnce is Workload.CompleteAtOnce.
	AtOnce bool `json:"complete_at_once"`
}

// Idle is the CPU that idle waiters cost.
type Idle struct {
	Mode    Mode          `json:"mode"`
	Waiters int           `json:"waiters"`
	Wall    time.Duration `json:"wall_ns"`
	CPU     time.Duration `json:"cpu_ns"`
	// CorePercent is CPU / wall × 100: the share of one core.
	CorePercent float64 `json:"core_percent"`
}

// BenchReport holds every figure.
type BenchReport struct {
	DSN        string        `json:"dsn"`
	Driver     ledger.Driver `json:"driver"`
	Processes  int           `json:"processes"`
	Delivery   []Delivery    `json:"delivery"`
	Throughput Throughput    `json:"throughput"`
	Idle       []Idle        `json:"idle"`
	Duration   time.Duration `json:"duration_ns"`
}

func (cfg *BenchConfig) fill() {
	if len(cfg.Waiters) == 0 {
		cfg.Waiters = []int{1, 10, 100, 1000}
	}
	if cfg.Processes <= 0 {
		cfg.Processes = 4
	}
	if cfg.Samples <= 0 {
		cfg.Samples = 1000
	}
	if cfg.Throughput <= 0 {
		cfg.Throughput = 3 * time.Second
	}
	if cfg.Workload == (Workload{}) {
		cfg.Workload = Workload{InFlight: 8, WaitersPerKey: 4}
	}
	if cfg.IdleWaiters <= 0 {
		cfg.IdleWaiters = 1000
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string) {}
	}
}

// benchTarget is what the delivery and throughput measurements drive:
// readiness's own ledger (Bench) or a ledger driver (DriverBench).
type benchTarget struct {
	// own claims key for a new owner (it must become the owner).
	own      func(ctx context.Context, key string) (owner string, err error)
	complete func(ctx context.Context, key, owner string) error
	// local starts waiters in the completer's process, remote spreads
	// them over other processes (nil: not measured).
	local, remote startWaiters
}

// startWaiters starts n waiters on key, waiter i arriving at the monotonic
// time at[i] (at once when at is nil).
type startWaiters func(ctx context.Context, key string, n int, at []int64) (*waiterGroup, error)

type waiterGroup struct {
	// ready returns once every waiter is registered (or returned).
	ready func() error
	// collect returns each waiter's return time (monoNow).
	collect func() ([]int64, error)
	// cancel ends waiters early (after an error); may be nil.
	cancel func()
}

// Bench measures readiness's own ledger.
func Bench(ctx context.Context, cfg BenchConfig) (*BenchReport, error) {
	d, err := ledger.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	cfg.fill()
	start := time.Now()
	prefix := "bench-" + nonce()
	l, err := ledger.OpenDSN(ctx, d, ledger.Options{Name: "bench"})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	rep := &BenchReport{DSN: d.String(), Driver: d.Driver, Processes: cfg.Processes}
	t := benchTarget{
		own: func(ctx context.Context, key string) (string, error) {
			owner := l.NewOwnerID()
			c, err := l.Claim(ctx, key, owner, time.Minute)
			if err == nil && !c.Owned {
				err = fmt.Errorf("claim of a new key %s was not owned: %s", key, c.State.Describe())
			}
			return owner, err
		},
		complete: func(ctx context.Context, key, owner string) error {
			_, _, err := l.Complete(ctx, key, owner, []byte("bench output"))
			return err
		},
		local: func(ctx context.Context, key string, n int, at []int64) (*waiterGroup, error) {
			return localWaiters(ctx, l, key, n, at), nil
		},
	}
	// Across processes: waiters spread over worker processes; the
	// completer is this process.
	var procs []*proc
	if cfg.Worker.Path != "" {
		procs = make([]*proc, cfg.Processes)
		actors := make([]Actor, cfg.Processes)
		var startErr error
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := cfg.Worker
				if cfg.WorkerCPUProfile != "" {
					x.Args = append(append([]string{}, x.Args...), "--cpuprofile", fmt.Sprintf("%s.%d", cfg.WorkerCPUProfile, i))
				}
				p, err := startProc(ctx, x, fmt.Sprintf("proc-bench%d", i), cfg.DSN, ledger.DefaultLease, procLimits{})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					startErr = errors.Join(startErr, err)
				}
				procs[i], actors[i] = p, p
			}()
		}
		wg.Wait()
		defer func() {
			for _, p := range procs {
				if p != nil {
					_ = p.Close()
				}
			}
		}()
		if startErr != nil {
			return nil, startErr
		}
		t.remote = actorWaiters(actors)
	}
	if err := runBench(ctx, cfg, t, prefix, rep); err != nil {
		return nil, err
	}
	if cfg.NoIdle {
		rep.Duration = time.Since(start)
		return rep, nil
	}
	idle, err := benchIdleLocal(ctx, cfg.DSN, cfg.IdleWaiters, cfg.Idle, prefix)
	if err != nil {
		return nil, fmt.Errorf("idle waiters in-process: %w", err)
	}
	rep.Idle = append(rep.Idle, idle)
	cfg.Progress(fmt.Sprintf("idle     %-6s %5d waiters: %.2f%% of a core", idle.Mode, idle.Waiters, idle.CorePercent))
	if procs != nil {
		idle, err := benchIdleRemote(ctx, procs, cfg.IdleWaiters, cfg.Idle, prefix)
		if err != nil {
			return nil, fmt.Errorf("idle waiters across processes: %w", err)
		}
		rep.Idle = append(rep.Idle, idle)
		cfg.Progress(fmt.Sprintf("idle     %-6s %5d waiters: %.2f%% of a core", idle.Mode, idle.Waiters, idle.CorePercent))
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// runBench measures delivery (in-process, then across processes) and
// throughput on t.
func runBench(ctx context.Context, cfg BenchConfig, t benchTarget, prefix string, rep *BenchReport) error {
	for _, m := range []struct {
		mode  Mode
		start startWaiters
	}{{InProcess, t.local}, {Processes, t.remote}} {
		if m.start == nil {
			continue
		}
		for _, n := range cfg.Waiters {
			dl, err := benchDelivery(ctx, t, m.start, n, cfg.Samples, cfg.Round, prefix)
			if err != nil {
				return fmt.Errorf("%s delivery, %d waiters: %w", m.mode, n, err)
			}
			dl.Mode = m.mode
			rep.Delivery = append(rep.Delivery, dl)
			cfg.Progress(fmt.Sprintf("delivery %-6s %5d waiters: p50 %s p99 %s max %s, %d negative", dl.Mode, n, dl.P50, dl.P99, dl.Max, dl.Negative))
		}
	}
	tp, err := benchKeys(ctx, t, cfg.Workload, cfg.Throughput, prefix)
	if err != nil {
		return fmt.Errorf("throughput: %w", err)
	}
	rep.Throughput = tp
	cfg.Progress(fmt.Sprintf("throughput: %.0f keys/s", tp.KeysPerSec))
	return nil
}

// roundLead is how far ahead of now a shaped round starts, so that the
// requests reach the worker processes before the first waiter is due.
const roundLead = 20 * time.Millisecond

func benchDelivery(ctx context.Context, t benchTarget, start startWaiters, n, samples int, shape Round, prefix string) (Delivery, error) {
	rounds := max(3, (samples+n-1)/n)
	var lat, fromCall, commits []time.Duration
	for r := range rounds {
		if ctx.Err() != nil {
			return Delivery{}, ctx.Err()
		}
		key := fmt.Sprintf("%s/delivery/%d/%d/%s", prefix, n, r, nonce())
		owner, err := t.own(ctx, key)
		if err != nil {
			return Delivery{}, err
		}
		var at []int64
		var completeAt int64
		if shape.Spread > 0 || shape.CompleteAfter > 0 {
			begin := monoNow() + int64(roundLead)
			at = make([]int64, n)
			for i := range at {
				at[i] = begin + int64(shape.Spread)*int64(i)/int64(n)
			}
			if shape.CompleteAfter > 0 {
				completeAt = begin + int64(shape.CompleteAfter)
			}
		}
		wg, err := start(ctx, key, n, at)
		if err != nil {
			return Delivery{}, err
		}
		if completeAt == 0 {
			err = wg.ready()
		} else {
			err = sleepUntil(ctx, completeAt)
		}
		if err != nil {
			return Delivery{}, err
		}
		t0 := monoNow()
		if err := t.complete(ctx, key, owner); err != nil {
			return Delivery{}, err
		}
		t1 := monoNow()
		commits = append(commits, time.Duration(t1-t0))
		times, err := wg.collect()
		if err != nil {
			return Delivery{}, err
		}
		for _, ts := range times {
			lat = append(lat, time.Duration(ts-t1))
			fromCall = append(fromCall, time.Duration(ts-t0))
		}
	}
	d := deliveryStats(lat, fromCall, commits)
	d.Waiters, d.Rounds, d.Round = n, rounds, shape
	return d, nil
}

// deliveryStats summarises latencies as measured: a negative one (the
// waiter returned before Complete did) stays negative and is counted.
func deliveryStats(lat, fromCall, commits []time.Duration) Delivery {
	var d Delivery
	for i, v := range lat {
		if v < 0 {
			d.Negative++
		}
		if i == 0 || v < d.Min {
			d.Min = v
		}
	}
	p, c := percentiles(lat), percentiles(fromCall)
	d.Samples, d.P50, d.P99, d.Max = p.N, p.P50, p.P99, p.Max
	d.Commit, d.P50FromCall, d.P99FromCall, d.MaxFromCall = percentiles(commits).P50, c.P50, c.P99, c.Max
	return d
}

// sleepUntil sleeps until the monotonic time at.
func sleepUntil(ctx context.Context, at int64) error {
	d := time.Duration(at - monoNow())
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func localWaiters(ctx context.Context, l *ledger.Ledger, key string, n int, at []int64) *waiterGroup {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	times := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		go func() {
			defer done.Done()
			var once sync.Once
			if at != nil {
				_ = sleepUntil(wctx, at[i])
			}
			_, err := l.Wait(wctx, key, ledger.OnWaiting(func(ledger.State) { once.Do(ready.Done) }))
			times[i] = monoNow()
			errs[i] = err
			once.Do(ready.Done)
		}()
	}
	return &waiterGroup{
		ready: func() error { ready.Wait(); return nil },
		collect: func() ([]int64, error) {
			done.Wait()
			cancel()
			return times, errors.Join(errs...)
		},
		cancel: cancel,
	}
}

// actorWaiters spreads waiters over actors (worker processes, or driver
// processes), waiter g going to actor g mod len(actors) so that arrivals
// alternate between them.
func actorWaiters(actors []Actor) startWaiters {
	return func(ctx context.Context, key string, n int, at []int64) (*waiterGroup, error) {
		counts := make([]int, len(actors))
		ats := make([][]int64, len(actors))
		for g := range n {
			i := g % len(actors)
			counts[i]++
			if at != nil {
				ats[i] = append(ats[i], at[g])
			}
		}
		var calls []*Call
		for i, a := range actors {
			if counts[i] > 0 {
				calls = append(calls, a.Start(Request{Op: "waitmany", Key: key, N: counts[i], At: ats[i], Timeout: time.Minute}))
			}
		}
		return &waiterGroup{
			ready: func() error {
				for _, c := range calls {
					if err := c.AwaitReady(time.Minute); err != nil {
						return err
					}
				}
				return nil
			},
			collect: func() ([]int64, error) {
				var times []int64
				for _, c := range calls {
					r, err := c.Done(2 * time.Minute)
					if err != nil {
						return nil, err
					}
					if r.Err != "" || len(r.Errors) > 0 {
						return nil, fmt.Errorf("waiters: %s %s", r.Err, strings.Join(r.Errors, "; "))
					}
					times = append(times, r.Times...)
				}
				return times, nil
			},
		}, nil
	}
}

// benchKeys serves w.Keys keys (or, when 0, keys until d has passed),
// w.InFlight at a time, each with w.WaitersPerKey waiters in the
// completer's process.
func benchKeys(ctx context.Context, t benchTarget, w Workload, d time.Duration, prefix string) (Throughput, error) {
	inFlight, waiters := max(1, w.InFlight), max(0, w.WaitersPerKey)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next, served atomic.Int64
	errs := make([]error, inFlight)
	deadline := time.Now().Add(d)
	start := monoNow()
	var wg sync.WaitGroup
	for g := range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if (w.Keys > 0 && i >= int64(w.Keys)) || (w.Keys == 0 && time.Now().After(deadline)) {
					return
				}
				if err := throughputKey(ctx, t, fmt.Sprintf("%s/wl/%d", prefix, i), waiters, w.CompleteAtOnce); err != nil {
					errs[g] = err
					cancel()
					return
				}
				served.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Duration(monoNow() - start)
	if err := errors.Join(errs...); err != nil {
		return Throughput{}, err
	}
	if err := ctx.Err(); err != nil {
		return Throughput{}, err
	}
	n := served.Load()
	return Throughput{Keys: n, Duration: el, KeysPerSec: float64(n) / el.Seconds(), Concurrency: inFlight, WaitersPer: waiters, AtOnce: w.CompleteAtOnce}, nil
}

// throughputKey is one key of the throughput test: its waiters start, the
// owner claims and completes (at once, or once every waiter is
// registered), and every waiter is served.
func throughputKey(ctx context.Context, t benchTarget, key string, waiters int, atOnce bool) error {
	var wg *waiterGroup
	if waiters > 0 {
		var err error
		if wg, err = t.local(ctx, key, waiters, nil); err != nil {
			return err
		}
	}
	owner, err := t.own(ctx, key)
	if err == nil && !atOnce && wg != nil {
		err = wg.ready()
	}
	if err == nil {
		err = t.complete(ctx, key, owner)
	}
	if err != nil {
		if wg != nil && wg.cancel != nil {
			wg.cancel()
		}
		return err
	}
	if wg != nil {
		_, err = wg.collect()
	}
	return err
}

// benchIdleLocal measures this process's CPU (getrusage) while n waiters
// wait on distinct keys of a handle of their own and nothing changes.
func benchIdleLocal(ctx context.Context, dsn string, n int, d time.Duration, prefix string) (Idle, error) {
	l, err := ledger.Open(ctx, dsn, ledger.Options{Name: "bench-idle"})
	if err != nil {
		return Idle{}, err
	}
	defer l.Close()
	wctx, cancel := context.WithCancel(ctx)
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			var once sync.Once
			_, _ = l.Wait(wctx, fmt.Sprintf("%s/idle/%d", prefix, i), ledger.OnWaiting(func(ledger.State) { once.Do(ready.Done) }))
			once.Do(ready.Done)
		}()
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // let start-up work settle
	c0, t0 := selfCPU(), time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	c1, t1 := selfCPU(), time.Now()
	cancel()
	done.Wait()
	if ctx.Err() != nil {
		return Idle{}, ctx.Err()
	}
	cpu, wall := c1-c0, t1.Sub(t0)
	return Idle{Mode: InProcess, Waiters: n, Wall: wall, CPU: cpu, CorePercent: 100 * cpu.Seconds() / wall.Seconds()}, nil
}

// benchIdleRemote does the same with the waiters spread over the worker
// processes, summing their CPU.
func benchIdleRemote(ctx context.Context, procs []*proc, n int, d time.Duration, prefix string) (Idle, error) {
	var calls []*Call
	for i, p := range procs {
		share := n / len(procs)
		if i < n%len(procs) {
			share++
		}
		for j := range share {
			calls = append(calls, p.Start(Request{Op: "wait", Key: fmt.Sprintf("%s/idle-remote/%d/%d", prefix, i, j), Timeout: d + time.Minute}))
		}
	}
	for _, c := range calls {
		if err := c.AwaitReady(time.Minute); err != nil {
			return Idle{}, err
		}
	}
	time.Sleep(200 * time.Millisecond)
	cpu := func() (time.Duration, error) {
		var sum time.Duration
		for _, p := range procs {
			r := call(p, Request{Op: "rusage"})
			if r.Err != "" || r.CPU < 0 {
				return 0, fmt.Errorf("rusage: %s", r.Err)
			}
			sum += r.CPU
		}
		return sum, nil
	}
	c0, err := cpu()
	if err != nil {
		return Idle{}, err
	}
	t0 := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return Idle{}, ctx.Err()
	}
	c1, err := cpu()
	if err != nil {
		return Idle{}, err
	}
	wall := time.Since(t0)
	// End the waits: a complete on each key would do, but closing the
	// workers (the caller's defer) ends them too.
	used := c1 - c0
	return Idle{Mode: Processes, Waiters: n, Wall: wall, CPU: used, CorePercent: 100 * used.Seconds() / wall.Seconds()}, nil
}
