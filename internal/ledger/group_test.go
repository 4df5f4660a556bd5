package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGroupCommitIsolatesAFailedWrite: writes committed in one group are
// each answered with their own outcome. A write whose statement fails
// rolls the group back; it gets its error and nothing of it is stored,
// while the others of the group are committed all the same.
func TestGroupCommitIsolatesAFailedWrite(t *testing.T) {
	forStores(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		l := open(t, dsn, Options{})
		keys := []string{"group/a", "group/b", "group/c"}
		switch b := l.b.(type) {
		case *sqliteBackend:
			boom := errors.New("boom after writing")
			op := func(key string, fail bool) *writeOp {
				return &writeOp{ctx: ctx, done: make(chan struct{}), f: func(tx *sqlTx, now time.Time) error {
					if _, err := tx.exec(ctx, `INSERT INTO outputs(key, data, sha256, owner, completed_at, expires_at) VALUES (?, ?, ?, 'o', ?, ?)`,
						key, []byte(key), checksum([]byte(key)), us(now), us(now.Add(time.Hour))); err != nil {
						return err
					}
					if fail {
						return boom
					}
					return nil
				}}
			}
			group := []*writeOp{op(keys[0], false), op(keys[1], true), op(keys[2], false)}
			b.runGroup(group)
			for i, o := range group {
				select {
				case <-o.done:
				default:
					t.Fatalf("write %d: not answered", i)
				}
			}
			if !errors.Is(group[1].err, boom) || group[0].err != nil || group[2].err != nil {
				t.Fatalf("want only the second write to fail, got %v / %v / %v", group[0].err, group[1].err, group[2].err)
			}
		case *pgBackend:
			group := make([]*pgOp, len(keys))
			for i, key := range keys {
				op := "complete"
				if i == 1 {
					op = "no-such-op" // ledger_op raises: the statement fails
				}
				h, k := pgKey(key)
				group[i] = &pgOp{ctx: ctx, op: op, key: key, lock: b.lockID(key), done: make(chan struct{}),
					args: []any{op, b.lockID(key), h, k, []byte("o"), int64(0), []byte(key), checksum([]byte(key)), time.Hour.Microseconds(), []byte(nil), b.channel, b.payload(key)}}
			}
			b.runGroup(append([]*pgOp(nil), group...)) // it sorts its argument by lock
			if group[1].err == nil || group[0].err != nil || group[2].err != nil {
				t.Fatalf("want only the second write to fail, got %v / %v / %v", group[0].err, group[1].err, group[2].err)
			}
			if group[0].verdict != "stored" || group[2].verdict != "stored" {
				t.Fatalf("verdicts %q, %q", group[0].verdict, group[2].verdict)
			}
		default:
			t.Fatalf("unknown backend %T", b)
		}
		for i, key := range keys {
			st, err := l.Inspect(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if stored := st.Output != nil; stored != (i != 1) {
				t.Errorf("%s: stored %v, want %v", key, stored, i != 1)
			}
		}
	})
}

// TestGroupCommitConcurrentWriters: many concurrent claims and completes
// (grouped) each get the answer a write of its own would have had: every
// key has exactly one owner and its owner's output, and every waiter gets
// it.
func TestGroupCommitConcurrentWriters(t *testing.T) {
	forStores(t, func(t *testing.T, dsn string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l := open(t, dsn, Options{})
		const keys, claimers = 40, 3
		var wg sync.WaitGroup
		owners := make([][]string, keys)
		var mu sync.Mutex
		errs := make(chan error, keys*(claimers+2))
		for k := range keys {
			key := fmt.Sprintf("concurrent/%d", k)
			wg.Add(1)
			go func() { // a waiter, started with the writers
				defer wg.Done()
				res, err := l.Wait(ctx, key)
				if err == nil && len(res.Output) == 0 {
					err = fmt.Errorf("%s: empty output", key)
				}
				if err != nil {
					errs <- err
				}
			}()
			for c := range claimers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					owner := fmt.Sprintf("owner-%d", c)
					cl, err := l.Claim(ctx, key, owner, time.Minute)
					if err != nil {
						errs <- err
						return
					}
					if !cl.Owned {
						return
					}
					mu.Lock()
					owners[k] = append(owners[k], owner)
					mu.Unlock()
					st, stored, err := l.Complete(ctx, key, owner, []byte(owner))
					if err != nil || !stored || string(st.Output.Data) != owner {
						errs <- fmt.Errorf("%s: complete by %s: stored %v, %+v, %v", key, owner, stored, st.Output, err)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for k, o := range owners {
			if len(o) != 1 {
				t.Errorf("key %d: owners %v, want exactly one", k, o)
			}
		}
	})
}

// TestSharedReadNeverJoinsARunningRead: a waiter that asks while a read
// of its key is running gets a read that starts after it asked (the
// running one may predate a change it knows of); waiters asking together
// share that next read.
func TestSharedReadNeverJoinsARunningRead(t *testing.T) {
	h := newHub()
	w, stop := h.subscribe("k")
	defer stop()
	ctx := context.Background()
	var mu sync.Mutex
	reads := 0
	release := make(chan struct{})
	fetch := func(context.Context) (State, error) {
		mu.Lock()
		reads++
		n := reads
		mu.Unlock()
		if n == 1 {
			<-release // the first read is slow
		}
		return State{Key: "k", ReadAt: time.Unix(int64(n), 0)}, nil
	}
	first := make(chan State)
	go func() { st, _ := h.read(ctx, w, fetch); first <- st }()
	for { // wait until the first read runs
		h.mu.Lock()
		running := w.reading != nil
		h.mu.Unlock()
		if running {
			break
		}
		time.Sleep(time.Millisecond)
	}
	later := make(chan State, 3)
	for range 3 {
		go func() { st, _ := h.read(ctx, w, fetch); later <- st }()
	}
	for { // until all three queue behind the first read: one leads read 2, two join it
		h.mu.Lock()
		queued := w.next != nil && w.next.joined == 2
		h.mu.Unlock()
		if queued {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if st := <-first; st.ReadAt.Unix() != 1 {
		t.Errorf("first caller got read %d", st.ReadAt.Unix())
	}
	for range 3 {
		if st := <-later; st.ReadAt.Unix() != 2 {
			t.Errorf("a caller that asked during read 1 got read %d, want the shared read 2", st.ReadAt.Unix())
		}
	}
	if reads != 2 {
		t.Errorf("%d reads, want 2", reads)
	}
}

// TestPostgresWriteFunctionIsNotASchemaVersion: the write function is
// created beside the tables without raising the schema version, so that
// routers of the previous build (which refuse a newer version) keep
// working on the same schema during a rolling upgrade.
func TestPostgresWriteFunctionIsNotASchemaVersion(t *testing.T) {
	dsn := postgresDSN(t)
	l := open(t, dsn, Options{})
	b := l.b.(*pgBackend)
	ctx := context.Background()
	var version int
	var fn bool
	if err := b.pool.QueryRow(ctx, `SELECT version FROM `+b.schema+`.meta`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := b.pool.QueryRow(ctx, `SELECT to_regproc($1) IS NOT NULL`, strings.Trim(b.schema, `"`)+".ledger_op_v1").Scan(&fn); err != nil {
		t.Fatal(err)
	}
	if version != 2 || !fn {
		t.Errorf("schema version %d (want 2, as the previous build knows), ledger_op_v1 present %v", version, fn)
	}
	// A second handle finds the function and leaves it alone.
	l2, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = l2.Close()
}
