package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestBytesAreAccepted (issue 15, 3a): keys, owners and failure messages
// are bytes; what SQLite accepts PostgreSQL accepts too, and waiters in
// another handle receive it at once.
func TestBytesAreAccepted(t *testing.T) {
	forStores(t, func(t *testing.T, dsn string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		w, l := open(t, dsn, Options{}), open(t, dsn, Options{})
		key := "k\xff\xfe\x00" + randomHex(4)
		owner := "o\xc3\x28\x00"
		msg := "boom \xff\x00 \x80"
		if c, err := l.Claim(ctx, key, owner, time.Minute); err != nil || !c.Owned {
			t.Fatalf("claim a non-UTF-8 key: %+v %v", c, err)
		}
		done := make(chan error, 1)
		go func() { _, err := w.Wait(ctx, key); done <- err }()
		time.Sleep(50 * time.Millisecond)
		if _, err := l.Fail(ctx, key, owner, msg); err != nil {
			t.Fatalf("fail with a non-UTF-8 message: %v", err)
		}
		var fe *FailedError
		if err := <-done; !errors.As(err, &fe) || fe.Message != msg || fe.Owner != owner {
			t.Fatalf("the waiter must get the failure with its bytes, got %v", err)
		}
		if c, err := l.Claim(ctx, key, owner+"2", time.Minute); err != nil || !c.Owned {
			t.Fatalf("re-claim: %+v %v", c, err)
		}
		out := []byte("\x00\xffout")
		if _, stored, err := l.Complete(ctx, key, owner+"2", out); err != nil || !stored {
			t.Fatalf("complete: %v %v", stored, err)
		}
		st, err := w.Inspect(ctx, key)
		if err != nil || st.Output == nil || !bytes.Equal(st.Output.Data, out) || st.Output.Owner != owner+"2" || st.Key != key {
			t.Fatalf("inspect: %+v %v", st, err)
		}
	})
}

// TestKeySizeLimit (issue 15, 3b and 4): a key of MaxKeySize bytes works on
// both stores, across handles; a longer one and an empty one are refused at
// once by every operation, and errors echo only a prefix of a key.
func TestKeySizeLimit(t *testing.T) {
	forStores(t, func(t *testing.T, dsn string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w, l := open(t, dsn, Options{}), open(t, dsn, Options{})
		key := randomHex(8) + strings.Repeat("\xfe", MaxKeySize-16)
		if c, err := l.Claim(ctx, key, "A", time.Minute); err != nil || !c.Owned {
			t.Fatalf("claim a %d-byte key: %v", len(key), err)
		}
		done := make(chan error, 1)
		go func() {
			res, err := w.Wait(ctx, key)
			if err == nil && string(res.Output) != "long" {
				err = errors.New("wrong output " + string(res.Output))
			}
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		if _, _, err := l.Complete(ctx, key, "A", []byte("long")); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the waiter of a long key: %v", err)
		}
		for _, bad := range []string{"", key + "x"} {
			start := time.Now()
			errs := map[string]error{}
			_, errs["claim"] = l.Claim(ctx, bad, "A", time.Minute)
			_, _, errs["complete"] = l.Complete(ctx, bad, "A", nil)
			_, errs["fail"] = l.Fail(ctx, bad, "A", "x")
			_, errs["inspect"] = l.Inspect(ctx, bad)
			_, errs["wait"] = l.Wait(ctx, bad)
			_, errs["do"] = l.Do(ctx, bad, func(context.Context) ([]byte, error) { return nil, nil })
			errs["renew"] = l.Renew(ctx, bad, "A", time.Minute)
			errs["forget"] = l.Forget(ctx, bad)
			for op, err := range errs {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%s of a %d-byte key: want ErrInvalid, got %v", op, len(bad), err)
				} else if len(err.Error()) > 4*keyRefMax+200 {
					t.Errorf("%s: the error echoes the key: %d bytes", op, len(err.Error()))
				}
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing a %d-byte key took %s", len(bad), d)
			}
		}
	})
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSQLiteNotOurs (issue 15, 5): another application's database, random
// bytes and a directory are refused without a write; a missing file is not
// created when it must exist; a ledger made before application_id opens.
func TestSQLiteNotOurs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	foreign := filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES ('mine'); PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	random := filepath.Join(dir, "random.db")
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	if err := os.WriteFile(random, noise, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		opts       Options
		want       error
	}{
		{"another application's database", foreign, Options{}, ErrNotLedger},
		{"random bytes", random, Options{}, ErrNotLedger},
		{"a directory", dir, Options{}, ErrNotLedger},
		{"missing, must exist", filepath.Join(dir, "typo", "l.db"), Options{MustExist: true}, ErrNoLedger},
		{"missing, read-only", filepath.Join(dir, "typo2.db"), Options{ReadOnly: true}, ErrNoLedger},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before []byte
			if fi, err := os.Stat(tc.path); err == nil && !fi.IsDir() {
				before = fileBytes(t, tc.path)
			}
			l, err := Open(ctx, "sqlite://"+tc.path, tc.opts)
			if err == nil {
				l.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if before != nil && !bytes.Equal(before, fileBytes(t, tc.path)) {
				t.Error("the file was written to")
			}
			if _, err := os.Stat(tc.path + "-wal"); err == nil {
				t.Error("a WAL was created beside it")
			}
			if before == nil && tc.want == ErrNoLedger {
				if _, err := os.Stat(tc.path); err == nil {
					t.Error("the missing database was created")
				}
			}
		})
	}
	t.Run("a ledger made before application_id", func(t *testing.T) {
		path := filepath.Join(dir, "v1.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(sqliteMigrations[0] + `; INSERT INTO outputs VALUES ('old', x'6869', 'A', 1, 9000000000000000); PRAGMA user_version = 1`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		l := open(t, "sqlite://"+path, Options{})
		st, err := l.Inspect(ctx, "old")
		if err != nil || st.Output == nil || string(st.Output.Data) != "hi" {
			t.Fatalf("the old ledger's output after the upgrade: %+v %v", st, err)
		}
	})
}

// TestReadOnlyOpen (issue 15, 6): Inspect and Wait open read-only and
// write nothing; writes through a read-only handle fail.
func TestReadOnlyOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "l.db")
	l, err := Open(ctx, "sqlite://"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Complete(ctx, "k", "A", []byte("out")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	before := fileBytes(t, path)
	r, err := Open(ctx, "sqlite://"+path, Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if res, err := r.Wait(ctx, "k"); err != nil || string(res.Output) != "out" {
		t.Fatalf("wait read-only: %+v %v", res, err)
	}
	if st, err := r.Inspect(ctx, "k"); err != nil || st.Phase() != PhaseCompleted {
		t.Fatalf("inspect read-only: %+v %v", st, err)
	}
	if _, err := r.Claim(ctx, "k2", "A", time.Second); err == nil {
		t.Error("a claim through a read-only handle succeeded")
	}
	if !bytes.Equal(before, fileBytes(t, path)) {
		t.Error("a read-only open changed the database file")
	}
}

// TestChecksumMismatchIsAnError (issue 15, 9): bytes changed inside a
// stored output are never delivered.
func TestChecksumMismatchIsAnError(t *testing.T) {
	forStores(t, func(t *testing.T, dsn string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		l := open(t, dsn, Options{Budget: time.Second})
		key := "sum-" + randomHex(4)
		if _, _, err := l.Complete(ctx, key, "A", []byte("the answer")); err != nil {
			t.Fatal(err)
		}
		corrupt(t, l, key)
		_, err := l.Inspect(ctx, key)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("inspect: want ErrCorrupt, got %v", err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
		defer wcancel()
		if res, err := l.Wait(wctx, key); !errors.Is(err, ErrCorrupt) {
			t.Errorf("wait: want ErrCorrupt, got %q %v", res.Output, err)
		}
		if c, err := l.Claim(ctx, key, "B", time.Second); !errors.Is(err, ErrCorrupt) {
			t.Errorf("claim: want ErrCorrupt, got %+v %v", c, err)
		}
	})
}

// corrupt flips bytes of key's stored output behind the ledger's back.
func corrupt(t *testing.T, l *Ledger, key string) {
	t.Helper()
	ctx := context.Background()
	switch b := l.b.(type) {
	case *sqliteBackend:
		if _, err := b.db.ExecContext(ctx, `UPDATE outputs SET data = ? WHERE key = ?`, []byte("the answeR"), key); err != nil {
			t.Fatal(err)
		}
	case *pgBackend:
		if _, err := b.pool.Exec(ctx, `UPDATE `+b.schema+`.outputs SET data = $1 WHERE key = $2`, []byte("the answeR"), []byte(key)); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown backend %T", b)
	}
}

// TestPostgresUnreachable (issue 15, 2): nothing listening and an unknown
// database are ErrUnavailable, said at once.
func TestPostgresUnreachable(t *testing.T) {
	pg := os.Getenv("READINESS_TEST_POSTGRES_DSN")
	dsns := []string{"postgres://postgres@127.0.0.1:1/test?sslmode=disable"}
	if pg != "" {
		dsns = append(dsns, strings.Replace(pg, "/test?", "/readiness_no_such_db?", 1))
	}
	for _, dsn := range dsns {
		start := time.Now()
		l, err := Open(context.Background(), dsn, Options{})
		if err == nil {
			l.Close()
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: want ErrUnavailable, got %v", dsn, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %s", dsn, d)
		}
	}
}

// TestPostgresOpenRetried (issue 15, 8): a backend terminated while the
// ledger opens is retried within the budget. The terminations run in a
// loop against every connection of the opening handle's application_name.
func TestPostgresOpenRetried(t *testing.T) {
	dsn := postgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, _ := ParseDSN(dsn)
	killer, err := pgx.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close(ctx)
	// Rounds until three of them really lost a backend while opening (the
	// killer may find none before Open is done): a round whose connection
	// nobody terminated tests nothing.
	terminated, rounds := 0, 0
	for i := 0; terminated < 3; i++ {
		if i == 60 {
			t.Fatalf("in %d rounds only %d terminated a backend while Open ran; the retry was not exercised", i, terminated)
		}
		rounds++
		name := "open-retry-" + randomHex(3)
		stop, stopped := make(chan struct{}), make(chan struct{})
		var killed atomic.Bool
		go func() {
			defer close(stopped)
			// Terminate the opening handle's first backend, once.
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				_ = killer.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE $1`, "readiness-ledger:"+name+"%").Scan(&n)
				if n > 0 {
					killed.Store(true)
					return
				}
				time.Sleep(time.Duration(i%3) * time.Millisecond)
			}
		}()
		l, err := Open(ctx, dsn, Options{Name: name, Budget: 20 * time.Second})
		duringOpen := killed.Load()
		close(stop)
		<-stopped
		if err != nil {
			t.Fatalf("round %d: open failed although its connections were only terminated: %v", i, err)
		}
		if duringOpen {
			terminated++
		}
		l.Close()
	}
	t.Logf("%d of %d rounds terminated a backend while Open ran", terminated, rounds)
}
