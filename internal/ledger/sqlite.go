package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Defaults for SQLite.
const (
	// DefaultPoll is how often a process with waiters looks for commits by
	// other processes (PRAGMA data_version, one cheap read on one
	// connection). Measured by `readiness ledger bench`: 1 ms keeps the
	// cross-process p99 within a few ms while 1,000 idle waiters cost
	// about one percent of a core.
	DefaultPoll        = time.Millisecond
	DefaultBusyTimeout = 10 * time.Second
	// eventsKeep is how long change events stay in the events table; a
	// process that falls further behind refreshes every watched key.
	eventsKeep = 30 * time.Second
)

// sqliteMigrations is the schema, one step per version (PRAGMA user_version).
var sqliteMigrations = []string{
	// 1: outputs apart from attempts, so an output is never overwritten by
	// a failure or a re-claim; events feed other processes' waiters and
	// number the attempts (AUTOINCREMENT never reuses a number).
	`CREATE TABLE outputs (
		key          TEXT PRIMARY KEY,
		data         BLOB NOT NULL,
		owner        TEXT NOT NULL,
		completed_at INTEGER NOT NULL,
		expires_at   INTEGER NOT NULL
	);
	CREATE INDEX outputs_expires ON outputs(expires_at);
	CREATE TABLE attempts (
		key         TEXT PRIMARY KEY,
		owner       TEXT NOT NULL,
		token       INTEGER NOT NULL,
		status      TEXT NOT NULL CHECK (status IN ('running', 'failed')),
		error       TEXT NOT NULL DEFAULT '',
		lease_until INTEGER NOT NULL,
		updated_at  INTEGER NOT NULL
	);
	CREATE TABLE events (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		key TEXT NOT NULL,
		at  INTEGER NOT NULL
	);`,
}

type sqliteBackend struct {
	db   *sql.DB
	poll time.Duration
	dsn  string
	logf func(string, ...any)
	now  func() time.Time
}

func openSQLite(ctx context.Context, d DSN, logf func(string, ...any)) (*sqliteBackend, error) {
	if dir := filepath.Dir(d.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite %s: %w", d.Path, err)
		}
	}
	busy := d.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	sync := "NORMAL"
	if d.Synchronous == "full" {
		sync = "FULL"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Set("_txlock", "immediate")
	driverDSN := "file:" + (&url.URL{Path: d.Path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", driverDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", d.Path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	b := &sqliteBackend{db: db, poll: d.Poll, dsn: driverDSN, logf: logf, now: time.Now}
	if b.poll <= 0 {
		b.poll = DefaultPoll
	}
	deadline := time.Now().Add(busy)
	for {
		err = b.migrate(ctx)
		if err == nil || !b.transient(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", d.Path, err)
	}
	return b, nil
}

func (b *sqliteBackend) migrate(ctx context.Context) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(sqliteMigrations) {
		return fmt.Errorf("schema version %d is newer than this build knows (%d)", v, len(sqliteMigrations))
	}
	for i := v; i < len(sqliteMigrations); i++ {
		if _, err := tx.ExecContext(ctx, sqliteMigrations[i]); err != nil {
			return fmt.Errorf("migrate to version %d: %w", i+1, err)
		}
	}
	if v < len(sqliteMigrations) {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(sqliteMigrations))); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (b *sqliteBackend) transient(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

func (b *sqliteBackend) close() error { return b.db.Close() }

func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

const sqliteStateQuery = `
SELECT o.data, o.owner, o.completed_at, o.expires_at,
       a.owner, a.token, a.status, a.error, a.lease_until, a.updated_at
FROM (SELECT ? AS key) k
LEFT JOIN outputs o ON o.key = k.key AND o.expires_at > ?
LEFT JOIN attempts a ON a.key = k.key`

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readState reads key's output and attempt in one statement, so both come
// from one snapshot.
func readState(ctx context.Context, q queryer, query, key string, now int64, at time.Time) (State, error) {
	var (
		data                  []byte
		oOwner, aOwner        sql.NullString
		aStatus, aErr         sql.NullString
		completed, expires    sql.NullInt64
		token, lease, updated sql.NullInt64
	)
	err := q.QueryRowContext(ctx, query, key, now).Scan(&data, &oOwner, &completed, &expires, &aOwner, &token, &aStatus, &aErr, &lease, &updated)
	if err != nil {
		return State{}, err
	}
	st := State{Key: key, ReadAt: at}
	if oOwner.Valid {
		if data == nil {
			data = []byte{}
		}
		st.Output = &Output{Data: data, Owner: oOwner.String, CompletedAt: fromUS(completed.Int64), ExpiresAt: fromUS(expires.Int64)}
	}
	if aOwner.Valid {
		st.Attempt = &Attempt{Owner: aOwner.String, Token: token.Int64, Status: AttemptStatus(aStatus.String), Error: aErr.String, LeaseUntil: fromUS(lease.Int64), UpdatedAt: fromUS(updated.Int64)}
	}
	return st, nil
}

// tx runs f in a BEGIN IMMEDIATE transaction (the DSN's _txlock), so a
// writer takes the write lock up front and waits for it under
// busy_timeout instead of failing to upgrade a read lock.
func (b *sqliteBackend) tx(ctx context.Context, f func(tx *sql.Tx, now time.Time) error) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx, b.now().UTC().Truncate(time.Microsecond)); err != nil {
		return err
	}
	return tx.Commit()
}

func (b *sqliteBackend) event(ctx context.Context, tx *sql.Tx, key string, now time.Time) (int64, error) {
	r, err := tx.ExecContext(ctx, `INSERT INTO events(key, at) VALUES (?, ?)`, key, us(now))
	if err != nil {
		return 0, err
	}
	return r.LastInsertId()
}

func (b *sqliteBackend) claim(ctx context.Context, key, owner string, lease time.Duration) (Claim, error) {
	var c Claim
	err := b.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		st, err := readState(ctx, tx, sqliteStateQuery, key, us(now), now)
		if err != nil {
			return err
		}
		c = Claim{State: st}
		if st.Output != nil {
			return nil // replay, never a new owner
		}
		a := st.Attempt
		live := a != nil && a.Status == AttemptRunning && now.Before(a.LeaseUntil)
		switch {
		case live && a.Owner != owner:
			return nil
		case live: // the same owner again: extend
			a.LeaseUntil = now.Add(lease)
			a.UpdatedAt = now
			_, err = tx.ExecContext(ctx, `UPDATE attempts SET lease_until = ?, updated_at = ? WHERE key = ?`, us(a.LeaseUntil), us(now), key)
		default:
			var token int64
			if token, err = b.event(ctx, tx, key, now); err != nil {
				return err
			}
			c.State.Attempt = &Attempt{Owner: owner, Token: token, Status: AttemptRunning, LeaseUntil: now.Add(lease), UpdatedAt: now}
			_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO attempts(key, owner, token, status, error, lease_until, updated_at) VALUES (?, ?, ?, 'running', '', ?, ?)`,
				key, owner, token, us(now.Add(lease)), us(now))
		}
		c.Owned = err == nil
		return err
	})
	return c, err
}

func (b *sqliteBackend) renew(ctx context.Context, key, owner string, lease time.Duration) (State, error) {
	var st State
	err := b.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if st, err = readState(ctx, tx, sqliteStateQuery, key, us(now), now); err != nil {
			return err
		}
		if st.Output != nil {
			return ErrCompleted
		}
		a := st.Attempt
		if a == nil || a.Owner != owner || a.Status != AttemptRunning {
			return ErrNotOwner
		}
		a.LeaseUntil, a.UpdatedAt = now.Add(lease), now
		_, err = tx.ExecContext(ctx, `UPDATE attempts SET lease_until = ?, updated_at = ? WHERE key = ?`, us(a.LeaseUntil), us(now), key)
		return err
	})
	return st, err
}

func (b *sqliteBackend) complete(ctx context.Context, key, owner string, data []byte, retention time.Duration) (State, bool, error) {
	var st State
	var stored bool
	err := b.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if st, err = readState(ctx, tx, sqliteStateQuery, key, us(now), now); err != nil {
			return err
		}
		if st.Output != nil {
			stored = false
			return nil
		}
		o := &Output{Data: data, Owner: owner, CompletedAt: now, ExpiresAt: now.Add(retention)}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO outputs(key, data, owner, completed_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			key, data, owner, us(now), us(o.ExpiresAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE key = ?`, key); err != nil {
			return err
		}
		if _, err := b.event(ctx, tx, key, now); err != nil {
			return err
		}
		st.Output, st.Attempt, stored = o, nil, true
		return nil
	})
	return st, stored, err
}

func (b *sqliteBackend) fail(ctx context.Context, key, owner, msg string) (State, error) {
	var st State
	err := b.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if st, err = readState(ctx, tx, sqliteStateQuery, key, us(now), now); err != nil {
			return err
		}
		if st.Output != nil {
			return ErrCompleted
		}
		a := st.Attempt
		if a != nil && a.Owner == owner && a.Status == AttemptFailed && a.Error == msg {
			return nil // a retried Fail that had committed
		}
		if a == nil || a.Owner != owner || a.Status != AttemptRunning {
			return ErrNotOwner
		}
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET status = 'failed', error = ?, updated_at = ? WHERE key = ?`, msg, us(now), key); err != nil {
			return err
		}
		a.Status, a.Error, a.UpdatedAt = AttemptFailed, msg, now
		_, err = b.event(ctx, tx, key, now)
		return err
	})
	return st, err
}

func (b *sqliteBackend) inspect(ctx context.Context, key string) (State, error) {
	now := b.now().UTC().Truncate(time.Microsecond)
	return readState(ctx, b.db, sqliteStateQuery, key, us(now), now)
}

func (b *sqliteBackend) forget(ctx context.Context, key string) (State, error) {
	var st State
	err := b.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE key = ?`, key); err != nil {
			return err
		}
		if _, err := b.event(ctx, tx, key, now); err != nil {
			return err
		}
		var err error
		st, err = readState(ctx, tx, sqliteStateQuery, key, us(now), now)
		return err
	})
	return st, err
}

func (b *sqliteBackend) recreate(ctx context.Context, key, owner string, lease time.Duration) (State, error) {
	var st State
	err := b.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		token, err := b.event(ctx, tx, key, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO attempts(key, owner, token, status, error, lease_until, updated_at) VALUES (?, ?, ?, 'running', '', ?, ?)`,
			key, owner, token, us(now.Add(lease)), us(now)); err != nil {
			return err
		}
		st, err = readState(ctx, tx, sqliteStateQuery, key, us(now), now)
		return err
	})
	return st, err
}

func (b *sqliteBackend) sweep(ctx context.Context, retention time.Duration) error {
	return b.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outputs WHERE expires_at <= ?`, us(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE status = 'failed' AND updated_at <= ?`, us(now.Add(-retention))); err != nil {
			return err
		}
		// Keep the newest event whatever its age: AUTOINCREMENT would not
		// reuse its number anyway, and readers find their place by it.
		_, err := tx.ExecContext(ctx, `DELETE FROM events WHERE at <= ? AND seq < (SELECT max(seq) FROM events)`, us(now.Add(-eventsKeep)))
		return err
	})
}

// feed polls PRAGMA data_version on a connection of its own while anyone
// in this process waits. The value changes when another connection (in
// this process or another) commits; then the events appended since the
// last look name the keys to re-read.
func (b *sqliteBackend) feed(ctx context.Context, h *hub, changed func([]string)) {
	for ctx.Err() == nil {
		err := b.feedOnce(ctx, h, changed)
		if ctx.Err() != nil {
			return
		}
		b.logf("ledger: sqlite change feed: %v; restarting", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		changed(nil)
	}
}

func (b *sqliteBackend) feedOnce(ctx context.Context, h *hub, changed func([]string)) error {
	db, err := sql.Open("sqlite", b.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	version, err := conn.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		return err
	}
	defer version.Close()
	since, err := conn.PrepareContext(ctx, "SELECT seq, key FROM events WHERE seq > ? ORDER BY seq")
	if err != nil {
		return err
	}
	defer since.Close()
	var last int64
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM events").Scan(&last); err != nil {
		return err
	}
	var dv int64 = -1
	ticker := time.NewTicker(b.poll)
	defer ticker.Stop()
	for {
		if h.idle() {
			ticker.Stop()
			select {
			case <-ctx.Done():
				return nil
			case <-h.active:
			}
			ticker.Reset(b.poll)
			dv = -1 // look right away: something may have changed while idle
		} else {
			select {
			case <-ctx.Done():
				return nil
			case <-ticker.C:
			}
		}
		var v int64
		if err := version.QueryRowContext(ctx).Scan(&v); err != nil {
			return err
		}
		if v == dv {
			continue
		}
		dv = v
		rows, err := since.QueryContext(ctx, last)
		if err != nil {
			return err
		}
		var keys []string
		gap := false
		first := true
		for rows.Next() {
			var seq int64
			var key string
			if err := rows.Scan(&seq, &key); err != nil {
				rows.Close()
				return err
			}
			if first && seq != last+1 && last > 0 {
				gap = true // events pruned before we read them
			}
			first = false
			last = seq
			if h.watched(key) {
				keys = append(keys, key)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		switch {
		case gap:
			changed(nil)
		case len(keys) > 0:
			changed(keys)
		}
	}
}
