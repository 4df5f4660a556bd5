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
	// Waiters are the fan-out sizes measured (default 1, 10, 100, 1000).
	Waiters []int
	// Processes the cross-process waiters are spread over (default 4).
	Processes int
	// Samples is the minimum number of latency samples per figure
	// (default 1000; at least 3 rounds).
	Samples int
	// Throughput is how long the throughput test runs (default 3s).
	Throughput time.Duration
	// Workload, when Keys is set, replaces the timed throughput test by
	// a fixed one: Keys keys, InFlight at a time, WaitersPerKey waiters
	// each (the reviewed Python ledger's benchmark is 1000, 25, 4).
	Workload Workload
	// IdleWaiters wait for Idle while CPU is measured (default 1000, 10s).
	IdleWaiters int
	Idle        time.Duration
	// Progress, when set, receives a line per finished figure.
	Progress func(string)
}

// Delivery is the latency from Complete returning to each waiter
// returning, for one fan-out size.
type Delivery struct {
	Mode    Mode          `json:"mode"`
	Waiters int           `json:"waiters"`
	Rounds  int           `json:"rounds"`
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
	// Commit is the median time Complete itself took.
	Commit time.Duration `json:"commit_p50_ns"`
	// The same latencies measured from the start of the Complete call:
	// an upper bound that includes the commit. (Measured from Complete's
	// return, a waiter woken by the commit before the call returned counts
	// as 0, which flatters PostgreSQL, whose NOTIFY can beat the reply.)
	P50FromCall time.Duration `json:"p50_from_call_ns"`
	P99FromCall time.Duration `json:"p99_from_call_ns"`
	MaxFromCall time.Duration `json:"max_from_call_ns"`
}

// Workload is the shape of a fixed throughput test.
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
// and four waiters.
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

// Bench measures the ledger.
func Bench(ctx context.Context, cfg BenchConfig) (*BenchReport, error) {
	d, err := ledger.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
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
	if cfg.IdleWaiters <= 0 {
		cfg.IdleWaiters = 1000
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Second
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	start := time.Now()
	prefix := "bench-" + nonce()
	l, err := ledger.OpenDSN(ctx, d, ledger.Options{Name: "bench"})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	rep := &BenchReport{DSN: d.String(), Driver: d.Driver, Processes: cfg.Processes}

	// In-process: the waiters share the completer's ledger handle.
	for _, n := range cfg.Waiters {
		dl, err := benchDelivery(ctx, l, n, cfg.Samples, prefix, func(ctx context.Context, key string, n int) (func() ([]int64, error), error) {
			return localWaiters(ctx, l, key, n)
		})
		if err != nil {
			return nil, fmt.Errorf("in-process delivery, %d waiters: %w", n, err)
		}
		dl.Mode = InProcess
		rep.Delivery = append(rep.Delivery, dl)
		progress(fmt.Sprintf("delivery %-6s %5d waiters: p50 %s p99 %s max %s", dl.Mode, n, dl.P50, dl.P99, dl.Max))
	}

	var tp Throughput
	if cfg.Workload.Keys > 0 {
		tp, err = benchWorkload(ctx, l, cfg.Workload, prefix)
	} else {
		tp, err = benchThroughput(ctx, l, cfg.Throughput, prefix)
	}
	if err != nil {
		return nil, fmt.Errorf("throughput: %w", err)
	}
	rep.Throughput = tp
	progress(fmt.Sprintf("throughput: %.0f keys/s", tp.KeysPerSec))

	idle, err := benchIdleLocal(ctx, cfg.DSN, cfg.IdleWaiters, cfg.Idle, prefix)
	if err != nil {
		return nil, fmt.Errorf("idle waiters in-process: %w", err)
	}
	rep.Idle = append(rep.Idle, idle)
	progress(fmt.Sprintf("idle     %-6s %5d waiters: %.2f%% of a core", idle.Mode, idle.Waiters, idle.CorePercent))

	// Across processes: waiters spread over worker processes; the
	// completer is this process.
	if cfg.Worker.Path != "" {
		procs := make([]*proc, cfg.Processes)
		var startErr error
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := startProc(ctx, cfg.Worker, fmt.Sprintf("bench%d", i), cfg.DSN, ledger.DefaultLease)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					startErr = errors.Join(startErr, err)
				}
				procs[i] = p
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
		for _, n := range cfg.Waiters {
			dl, err := benchDelivery(ctx, l, n, cfg.Samples, prefix, func(ctx context.Context, key string, n int) (func() ([]int64, error), error) {
				return remoteWaiters(procs, key, n)
			})
			if err != nil {
				return nil, fmt.Errorf("cross-process delivery, %d waiters: %w", n, err)
			}
			dl.Mode = Processes
			rep.Delivery = append(rep.Delivery, dl)
			progress(fmt.Sprintf("delivery %-6s %5d waiters: p50 %s p99 %s max %s", dl.Mode, n, dl.P50, dl.P99, dl.Max))
		}
		idleRemote, err := benchIdleRemote(ctx, procs, cfg.IdleWaiters, cfg.Idle, prefix)
		if err != nil {
			return nil, fmt.Errorf("idle waiters across processes: %w", err)
		}
		rep.Idle = append(rep.Idle, idleRemote)
		progress(fmt.Sprintf("idle     %-6s %5d waiters: %.2f%% of a core", idleRemote.Mode, idleRemote.Waiters, idleRemote.CorePercent))
	}

	rep.Duration = time.Since(start)
	return rep, nil
}

// startWaiters starts n waiters on key and returns once all are in place;
// the returned func collects their wall-clock return times.
type startWaiters func(ctx context.Context, key string, n int) (func() ([]int64, error), error)

func benchDelivery(ctx context.Context, l *ledger.Ledger, n, samples int, prefix string, start startWaiters) (Delivery, error) {
	rounds := max(3, (samples+n-1)/n)
	var lat, fromCall, commits []time.Duration
	for r := range rounds {
		if ctx.Err() != nil {
			return Delivery{}, ctx.Err()
		}
		key := fmt.Sprintf("%s/delivery/%d/%d/%s", prefix, n, r, nonce())
		owner := l.NewOwnerID()
		if _, err := l.Claim(ctx, key, owner, time.Minute); err != nil {
			return Delivery{}, err
		}
		collect, err := start(ctx, key, n)
		if err != nil {
			return Delivery{}, err
		}
		t0 := time.Now()
		if _, _, err := l.Complete(ctx, key, owner, []byte("bench output")); err != nil {
			return Delivery{}, err
		}
		t1 := time.Now()
		commits = append(commits, t1.Sub(t0))
		times, err := collect()
		if err != nil {
			return Delivery{}, err
		}
		for _, t := range times {
			lat = append(lat, max(0, time.Duration(t-t1.UnixNano())))
			fromCall = append(fromCall, max(0, time.Duration(t-t0.UnixNano())))
		}
	}
	p, c := percentiles(lat), percentiles(fromCall)
	return Delivery{Waiters: n, Rounds: rounds, Samples: p.N, P50: p.P50, P99: p.P99, Max: p.Max, Commit: percentiles(commits).P50,
		P50FromCall: c.P50, P99FromCall: c.P99, MaxFromCall: c.Max}, nil
}

func localWaiters(ctx context.Context, l *ledger.Ledger, key string, n int) (func() ([]int64, error), error) {
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
			_, err := l.Wait(wctx, key, ledger.OnWaiting(func(ledger.State) { once.Do(ready.Done) }))
			times[i] = time.Now().UnixNano()
			errs[i] = err
			once.Do(ready.Done)
		}()
	}
	ready.Wait()
	return func() ([]int64, error) {
		done.Wait()
		cancel()
		return times, errors.Join(errs...)
	}, nil
}

func remoteWaiters(procs []*proc, key string, n int) (func() ([]int64, error), error) {
	var calls []*Call
	for i, p := range procs {
		share := n / len(procs)
		if i < n%len(procs) {
			share++
		}
		if share == 0 {
			continue
		}
		calls = append(calls, p.Start(Request{Op: "waitmany", Key: key, N: share, Timeout: time.Minute}))
	}
	for _, c := range calls {
		if err := c.AwaitReady(time.Minute); err != nil {
			return nil, err
		}
	}
	return func() ([]int64, error) {
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
	}, nil
}

// benchThroughput runs concurrent loops of: four waiters on a new key,
// claim, complete, and all four waiters served.
func benchThroughput(ctx context.Context, l *ledger.Ledger, d time.Duration, prefix string) (Throughput, error) {
	const conc, waitersPer = 8, 4
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var keys atomic.Int64
	var firstErr error
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				key := fmt.Sprintf("%s/tp/%d/%d", prefix, w, i)
				owner := l.NewOwnerID()
				if err := throughputKey(ctx, l, key, owner, waitersPer, false); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				keys.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		return Throughput{}, firstErr
	}
	n := keys.Load()
	return Throughput{Keys: n, Duration: el, KeysPerSec: float64(n) / el.Seconds(), Concurrency: conc, WaitersPer: waitersPer}, nil
}

// benchWorkload serves w.Keys keys, w.InFlight at a time.
func benchWorkload(ctx context.Context, l *ledger.Ledger, w Workload, prefix string) (Throughput, error) {
	inFlight, waiters := max(1, w.InFlight), max(0, w.WaitersPerKey)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make([]error, inFlight)
	start := time.Now() // monotonic
	var wg sync.WaitGroup
	for g := range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				key := fmt.Sprintf("%s/wl/%d", prefix, i)
				if err := throughputKey(ctx, l, key, l.NewOwnerID(), waiters, w.CompleteAtOnce); err != nil {
					errs[g] = err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for i := range w.Keys {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	el := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return Throughput{}, err
	}
	return Throughput{Keys: int64(w.Keys), Duration: el, KeysPerSec: float64(w.Keys) / el.Seconds(), Concurrency: inFlight, WaitersPer: waiters, AtOnce: w.CompleteAtOnce}, nil
}

func throughputKey(ctx context.Context, l *ledger.Ledger, key, owner string, waiters int, atOnce bool) error {
	var ready, done sync.WaitGroup
	ready.Add(waiters)
	done.Add(waiters)
	errs := make([]error, waiters)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := range waiters {
		go func() {
			defer done.Done()
			var once sync.Once
			_, errs[i] = l.Wait(wctx, key, ledger.OnWaiting(func(ledger.State) { once.Do(ready.Done) }))
			once.Do(ready.Done)
		}()
	}
	c, err := l.Claim(ctx, key, owner, time.Minute)
	if err == nil && !c.Owned {
		err = fmt.Errorf("claim of a new key %s was not owned", key)
	}
	if err == nil {
		if !atOnce {
			ready.Wait()
		}
		_, _, err = l.Complete(ctx, key, owner, []byte("output"))
	}
	if err != nil {
		cancel()
	}
	done.Wait()
	return errors.Join(append([]error{err}, errs...)...)
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
