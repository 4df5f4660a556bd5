package ledgersuite

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/procexec"
)

// Failover lets the failover scenarios do to a PostgreSQL primary and its
// streaming replica what losing a database host does: the DSN names both
// hosts with target_session_attrs=read-write, so that routers reconnect to
// whichever accepts writes.
type Failover struct {
	// Ready makes sure a primary and a streaming replica are up (a run
	// after a failover needs a new replica); it returns once the replica
	// streams (and, with Sync, is synchronous).
	Ready func(ctx context.Context) error
	// Kill stops the primary as a crash does (SIGKILL of the postmaster).
	Kill func(ctx context.Context) error
	// Promote makes the replica the primary and returns once it accepts
	// writes.
	Promote func(ctx context.Context) error
	// Sync: the replica is synchronous (synchronous_standby_names), so no
	// acknowledged output may be lost and no waiter may be stuck past its
	// deadline. Without it the scenario measures what was lost (metric
	// failover-lost: one observation per lost output, how long before the
	// kill it had been acknowledged; its max is the loss window) instead
	// of failing.
	Sync bool
}

// FailoverCommands are a team's own failover drill, from readiness.yaml:
// each an argument list (no shell) run in readiness.yaml's directory,
// which must exit 0 once done (Kill: the primary is down; Promote: the
// replica accepts writes; Ready: a primary and a streaming replica are
// up, for the next run).
type FailoverCommands struct {
	Ready   []string `yaml:"ready"`
	Kill    []string `yaml:"kill"`
	Promote []string `yaml:"promote"`
	// Sync: the replica is synchronous (synchronous_standby_names).
	Sync bool `yaml:"sync"`
}

// Failover turns the commands into the suite's hooks.
func (fc FailoverCommands) Failover(dir string) *Failover {
	run := func(what string, argv []string) func(context.Context) error {
		return func(ctx context.Context) error {
			if len(argv) == 0 {
				return nil
			}
			r, err := procexec.Run(ctx, procexec.Cmd{Path: argv[0], Args: argv[1:], Dir: dir})
			if err == nil && r.ExitCode != 0 {
				err = fmt.Errorf("exit status %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
			}
			if err != nil {
				return fmt.Errorf("failover %s command %q: %w", what, strings.Join(argv, " "), err)
			}
			return nil
		}
	}
	return &Failover{Ready: run("ready", fc.Ready), Kill: run("kill", fc.Kill), Promote: run("promote", fc.Promote), Sync: fc.Sync}
}

// failoverKeys is how many keys a failover run completes: half before the
// primary dies, half while it does.
const failoverKeys = 16

// primaryKilled: an owner completes outputs while waiters wait; half are
// acknowledged, then the primary is SIGKILLed while the other half are
// being committed, and the replica is promoted. Every acknowledged output
// must be on the new primary (synchronous replication), every waiter must
// get its output by its deadline, and a complete that failed with the
// primary must succeed when retried, as a router retries.
func primaryKilled(ctx context.Context, e *Env) error {
	f := e.suite.cfg.Failover
	if err := f.Ready(ctx); err != nil {
		return fmt.Errorf("start the replica: %w", err)
	}
	as, err := e.Actors(2)
	if err != nil {
		return err
	}
	O, W := as[0], as[1]
	keys := make([]string, failoverKeys)
	outs := make([][]byte, failoverKeys)
	waits := make([]*Call, failoverKeys)
	for i := range keys {
		keys[i], outs[i] = e.Key(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("output %d %s", i, nonce()))
		if err := mustOwn(O, keys[i], "O", 5*time.Minute); err != nil {
			return err
		}
		if waits[i], err = startWait(W, keys[i], e.WaitTimeout, 0); err != nil {
			return err
		}
	}
	ackedAt := make([]time.Time, failoverKeys)
	for i := range failoverKeys / 2 {
		c := complete(O, keys[i], "O", outs[i])
		if c.Err != "" || !c.Stored {
			return fmt.Errorf("router %s: complete %s before the failover: %s", O.Name(), keys[i], describe(c))
		}
		ackedAt[i] = time.Now()
	}
	// The primary dies while the other half are being committed: their
	// answers may be errors of the store, which is what a failover is.
	e.tolerateStoreFaults()
	late := make([]Response, failoverKeys)
	var wg sync.WaitGroup
	for i := failoverKeys / 2; i < failoverKeys; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			late[i] = complete(O, keys[i], "O", outs[i])
			if late[i].Err == "" && late[i].Stored {
				ackedAt[i] = time.Now()
			}
		}()
	}
	killed := time.Now()
	if err := f.Kill(ctx); err != nil {
		return fmt.Errorf("kill the primary: %w", err)
	}
	if err := f.Promote(ctx); err != nil {
		return fmt.Errorf("promote the replica: %w", err)
	}
	promoted := time.Now()
	e.Observe("failover-promote", promoted.Sub(killed))
	wg.Wait()
	for i := failoverKeys / 2; i < failoverKeys; i++ {
		if late[i].Err == "" {
			continue
		}
		// What a router does with a failed complete: retry it.
		if c := complete(O, keys[i], "O", outs[i]); c.Err != "" {
			return fmt.Errorf("router %s: complete %s retried after the promotion still fails: %s", O.Name(), keys[i], c.Err)
		}
	}
	return judgeFailover(e, f, keys, outs, waits, ackedAt, killed, promoted)
}

// judgeFailover counts acknowledged outputs missing from the new primary
// and waiters that did not get their output.
func judgeFailover(e *Env, f *Failover, keys []string, outs [][]byte, waits []*Call, ackedAt []time.Time, killed, promoted time.Time) error {
	R, err := e.Fresh()
	if err != nil {
		return err
	}
	var lost, stuck []string
	lostKey := map[int]bool{}
	for i, k := range keys {
		if ackedAt[i].IsZero() {
			continue
		}
		in := call(R, Request{Op: "inspect", Key: k})
		if in.State == nil || in.State.Output == nil || !bytes.Equal(in.State.Output.Data, outs[i]) {
			lostKey[i] = true
			lost = append(lost, fmt.Sprintf("%s (acknowledged %s before the kill; now %s)", k, killed.Sub(ackedAt[i]).Round(time.Millisecond), describe(in)))
			e.Observe("failover-lost", max(0, killed.Sub(ackedAt[i])))
		}
	}
	for i, w := range waits {
		r, err := w.Done(e.WaitTimeout + callTimeout)
		switch {
		case err != nil:
			stuck = append(stuck, fmt.Sprintf("%s: %v", keys[i], err))
		case r.Err != "" || r.Result == nil || !bytes.Equal(r.Result.Output, outs[i]):
			if !lostKey[i] || f.Sync {
				stuck = append(stuck, fmt.Sprintf("%s: %s", keys[i], describe(r)))
			}
		default:
			e.Observe("failover-delivery", max(0, time.Duration(r.DoneNS-promoted.UnixNano())))
		}
	}
	switch {
	case f.Sync && len(lost) > 0:
		return fmt.Errorf("synchronous replication, yet %d acknowledged outputs were lost in the failover: %s", len(lost), joinLines(lost))
	case len(stuck) > 0:
		return fmt.Errorf("%d waiters did not get their output after the failover (promoted %s after the kill): %s",
			len(stuck), promoted.Sub(killed).Round(time.Millisecond), joinLines(stuck))
	}
	return nil
}
