package ledgersuite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// waitersDuringCommit starts routers that wait at once, the moment their
// ledger is open, while the owner commits: as `readiness ledger wait`
// processes launched alongside `readiness ledger complete` do. A router
// whose change feed took its starting point after its first read misses a
// commit that lands between the two and sleeps until its timeout although
// the output exists. Each round starts its waiters on fresh handles (fresh
// processes in procs mode) and commits as soon as half of them have sent
// their wait, so that the others' first reads race the commit.
func waitersDuringCommit(ctx context.Context, e *Env) error {
	rounds, per := 4, 8
	if e.Mode == Processes {
		rounds, per = 2, max(e.Processes, 3)
	}
	A, err := e.Actor()
	if err != nil {
		return err
	}
	for round := range rounds {
		if err := commitRound(ctx, e, A, round, per); err != nil {
			return err
		}
	}
	return nil
}

func commitRound(ctx context.Context, e *Env, A Actor, round, per int) error {
	k := e.Key(fmt.Sprintf("during-commit-%d", round))
	out := []byte("committed " + nonce())
	if err := mustOwn(A, k, "A", 30*time.Second); err != nil {
		return err
	}
	var (
		started atomic.Int32
		half    = make(chan struct{})
		halfOne sync.Once
		wg      sync.WaitGroup
		calls   = make([]*Call, per)
		errs    = make([]error, per)
		fresh   = make([]Actor, per)
	)
	for i := range per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Whatever happens to this waiter, the commit must not wait
			// for it forever.
			defer func() {
				if int(started.Add(1)) >= (per+1)/2 {
					halfOne.Do(func() { close(half) })
				}
			}()
			a, err := e.Fresh()
			if err != nil {
				errs[i] = err
				return
			}
			fresh[i] = a
			calls[i] = a.Start(Request{Op: "wait", Key: k, Timeout: e.WaitTimeout})
		}()
	}
	select {
	case <-half:
	case <-ctx.Done():
		wg.Wait()
		return ctx.Err()
	}
	c := complete(A, k, "A", out)
	if err := mustOK("owner completes while waiters start", c); err != nil {
		wg.Wait()
		e.Retire(fresh...)
		return err
	}
	wg.Wait()
	// This round's waiters hold connections; the next round starts its
	// own.
	defer e.Retire(fresh...)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, call := range calls {
		r, err := expectOutput(fmt.Sprintf("waiter %d of %d (round %d), started during the commit", i+1, per, round+1), call, out)
		if err != nil {
			return err
		}
		e.Observe("delivery", latency(c, r))
	}
	return nil
}
