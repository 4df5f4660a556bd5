package ledger

import (
	"context"
	"sync"
)

// committer group-commits a process's writes: a write is queued, and
// whoever holds one of the slots runs every write queued meanwhile as one
// group (run), so that one commit carries many writes. Both stores use it;
// what a group is (one SQLite transaction, one PostgreSQL pipeline) is
// theirs. run must close every op's done, each only once its outcome is
// final (committed or not).
type committer[O groupOp] struct {
	slots chan struct{}
	mu    sync.Mutex
	queue []O
	run   func(group []O)
}

// groupOp is a queued write.
type groupOp interface{ doneCh() chan struct{} }

func newCommitter[O groupOp](slots int, run func([]O)) *committer[O] {
	return &committer[O]{slots: make(chan struct{}, slots), run: run}
}

// do queues op and returns once its group is done, or with ctx's error
// when ctx ends before any group took it (then it never runs).
func (c *committer[O]) do(ctx context.Context, op O) error {
	done := op.doneCh()
	c.mu.Lock()
	c.queue = append(c.queue, op)
	c.mu.Unlock()
	select {
	case c.slots <- struct{}{}:
	case <-done:
		return nil
	case <-ctx.Done():
		if c.withdraw(op) {
			return ctx.Err()
		}
		<-done // a group took it: its outcome is the truth
		return nil
	}
	c.mu.Lock()
	group := c.queue
	c.queue = nil
	c.mu.Unlock()
	if len(group) > 0 {
		c.run(group)
	}
	<-c.slots
	// With more than one slot, a group in another slot may hold op: its
	// outcome comes when that group is done.
	<-done
	return nil
}

// withdraw removes op from the queue; false if a group already took it.
func (c *committer[O]) withdraw(op O) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, q := range c.queue {
		if any(q) == any(op) {
			c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
			return true
		}
	}
	return false
}
