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
// is not measured (a driver reports no CPU time). Waiters' return times
// are taken in this process when a driver's answer arrives.
func DriverBench(ctx context.Context, cfg BenchConfig, cmd ledgerproto.Command) (*BenchReport, error) {
	cfg.fill()
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
			actors[i] = newDriverActor(name, c, false, DefaultLease, 0, nil)
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
	completer := actors[0]
	remote := make([]Actor, 0, cfg.Processes)
	for _, a := range actors[1:] {
		remote = append(remote, a)
	}
	h := completer.c.Hello()
	cfg.Progress(fmt.Sprintf("driver %s: protocol %d, %s %s, ops %s", cmd, h.Protocol, h.Name, h.Version, strings.Join(h.Ops, ",")))
	rep := &BenchReport{DSN: cmd.String(), Driver: "driver", Processes: cfg.Processes}
	var owners atomic.Int64
	t := benchTarget{
		own: func(_ context.Context, key string) (string, error) {
			owner := fmt.Sprintf("bench-%d", owners.Add(1))
			return owner, mustOwn(completer, key, owner, time.Minute)
		},
		complete: func(_ context.Context, key, owner string) error {
			if r := complete(completer, key, owner, []byte("bench output")); r.Err != "" {
				return errors.New(r.Err)
			}
			return nil
		},
		local:  actorWaiters([]Actor{completer}),
		remote: actorWaiters(remote),
	}
	if err := runBench(ctx, cfg, t, prefix, rep); err != nil {
		return nil, fmt.Errorf("through the driver: %w", err)
	}
	rep.Duration = time.Since(start)
	return rep, nil
}
