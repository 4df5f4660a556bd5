package ledgersuite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// DriverBench is `readiness ledger bench --driver`: the same delivery and
// throughput workload as Bench, every operation through the driver
// protocol. The completer is one driver process; in-process waiters share
// it, cross-process waiters are spread over cfg.Processes more. Idle CPU
// is not measured (a driver reports no CPU time).
func DriverBench(ctx context.Context, cfg BenchConfig, cmd ledgerproto.Command) (*BenchReport, error) {
	if len(cfg.Waiters) == 0 {
		cfg.Waiters = []int{1, 10, 100, 1000}
	}
	cfg.Processes = max(cfg.Processes, 1)
	if cfg.Samples <= 0 {
		cfg.Samples = 1000
	}
	if cfg.Throughput <= 0 {
		cfg.Throughput = 3 * time.Second
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	start := time.Now()
	prefix := "bench-" + nonce()
	actors := make([]*driverActor, cfg.Processes+1)
	var mu sync.Mutex
	var startErr error
	var wg sync.WaitGroup
	for i := range actors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("bench%d", i)
			c, err := ledgerproto.Start(ctx, cmd, ledgerproto.Options{Node: name, RequestTimeout: 2 * time.Minute})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				startErr = errors.Join(startErr, err)
				return
			}
			actors[i] = newDriverActor(name, c, false, DefaultLease, nil)
		}()
	}
	wg.Wait()
	defer func() {
		for _, a := range actors {
			if a != nil {
				_ = a.Close()
			}
		}
	}()
	if startErr != nil {
		return nil, startErr
	}
	completer, waiters := actors[0], actors[1:]
	h := completer.c.Hello()
	progress(fmt.Sprintf("driver %s: protocol %d, %s %s, ops %s", cmd, h.Protocol, h.Name, h.Version, strings.Join(h.Ops, ",")))
	rep := &BenchReport{DSN: cmd.String(), Driver: "driver", Processes: cfg.Processes}
	modes := []struct {
		mode Mode
		on   []*driverActor
	}{{InProcess, actors[:1]}, {Processes, waiters}}
	for _, m := range modes {
		for _, n := range cfg.Waiters {
			dl, err := driverDelivery(ctx, completer, m.on, n, cfg.Samples, prefix)
			if err != nil {
				return nil, fmt.Errorf("%s delivery through the driver, %d waiters: %w", m.mode, n, err)
			}
			dl.Mode = m.mode
			rep.Delivery = append(rep.Delivery, dl)
			progress(fmt.Sprintf("delivery %-6s %5d waiters: p50 %s p99 %s max %s", dl.Mode, n, dl.P50, dl.P99, dl.Max))
		}
	}
	tp, err := driverThroughput(ctx, completer, cfg.Throughput, prefix)
	if err != nil {
		return nil, fmt.Errorf("throughput through the driver: %w", err)
	}
	rep.Throughput = tp
	progress(fmt.Sprintf("throughput: %.0f keys/s", tp.KeysPerSec))
	rep.Duration = time.Since(start)
	return rep, nil
}

func driverDelivery(ctx context.Context, completer *driverActor, on []*driverActor, n, samples int, prefix string) (Delivery, error) {
	rounds := max(3, (samples+n-1)/n)
	var lat, fromCall, commits []time.Duration
	for r := range rounds {
		if ctx.Err() != nil {
			return Delivery{}, ctx.Err()
		}
		key := fmt.Sprintf("%s/delivery/%d/%d/%s", prefix, n, r, nonce())
		owner := fmt.Sprintf("bench-%d", r)
		if err := mustOwn(completer, key, owner, time.Minute); err != nil {
			return Delivery{}, err
		}
		var calls []*Call
		for i, a := range on {
			share := n / len(on)
			if i < n%len(on) {
				share++
			}
			if share > 0 {
				calls = append(calls, a.Start(Request{Op: "waitmany", Key: key, N: share, Timeout: time.Minute}))
			}
		}
		for _, c := range calls {
			if err := c.AwaitReady(time.Minute); err != nil {
				return Delivery{}, err
			}
		}
		t0 := time.Now()
		if r := complete(completer, key, owner, []byte("bench output")); r.Err != "" {
			return Delivery{}, errors.New(r.Err)
		}
		t1 := time.Now()
		commits = append(commits, t1.Sub(t0))
		for _, c := range calls {
			res, err := c.Done(2 * time.Minute)
			if err != nil {
				return Delivery{}, err
			}
			if len(res.Errors) > 0 {
				return Delivery{}, fmt.Errorf("waiters: %s", strings.Join(res.Errors, "; "))
			}
			for _, t := range res.Times {
				lat = append(lat, max(0, time.Duration(t-t1.UnixNano())))
				fromCall = append(fromCall, max(0, time.Duration(t-t0.UnixNano())))
			}
		}
	}
	p, c := percentiles(lat), percentiles(fromCall)
	return Delivery{Waiters: n, Rounds: rounds, Samples: p.N, P50: p.P50, P99: p.P99, Max: p.Max, Commit: percentiles(commits).P50,
		P50FromCall: c.P50, P99FromCall: c.P99, MaxFromCall: c.Max}, nil
}

// driverThroughput is benchThroughput through one driver process: loops
// of four waiters on a new key, a claim, a complete, all four served.
func driverThroughput(ctx context.Context, a *driverActor, d time.Duration, prefix string) (Throughput, error) {
	const conc, waitersPer = 8, 4
	var keys atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				key := fmt.Sprintf("%s/tp/%d/%d", prefix, w, i)
				owner := fmt.Sprintf("tp-%d-%d", w, i)
				wm := a.Start(Request{Op: "waitmany", Key: key, N: waitersPer, Timeout: 30 * time.Second})
				err := wm.AwaitReady(30 * time.Second)
				if err == nil {
					err = mustOwn(a, key, owner, time.Minute)
				}
				if err == nil {
					if r := complete(a, key, owner, []byte("output")); r.Err != "" {
						err = errors.New(r.Err)
					}
				}
				if err == nil {
					r, werr := wm.Done(time.Minute)
					if err = werr; err == nil && len(r.Errors) > 0 {
						err = errors.New(strings.Join(r.Errors, "; "))
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err })
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
