package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Defaults for SQLite.
const (
	// DefaultPoll is how often a process with waiters looks for commits by
	// other processes (PRAGMA data_version on one connection) when it
	// cannot watch the database files. 1 ms keeps the cross-process p99
	// within a few ms but costs about 4% of a core per process while
	// anyone waits (measured by `readiness ledger bench`).
	DefaultPoll = time.Millisecond
	// DefaultSafetyPoll is the look-anyway interval when the files are
	// watched: the watch wakes waiters at once; this catches a lost
	// wake-up. It is all an idle waiting process costs: 50 ms made 1,000
	// waiters over 4 processes 2.2-2.7 % of a core, 100 ms 1.3-1.5 %.
	DefaultSafetyPoll  = 100 * time.Millisecond
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
	// 2: each output carries the sha256 of its data, checked on every
	// read (migrate fills it for outputs stored before).
	`ALTER TABLE outputs ADD COLUMN sha256 BLOB;`,
}

// sqliteAppID marks a SQLite file as a ledger (PRAGMA application_id,
// "RDLG"): a database without it that is not empty belongs to someone
// else and is never written to.
const sqliteAppID = 0x52444c47

type sqliteBackend struct {
	db   *sql.DB
	path string
	// watch wakes the feed on writes to the database files; poll is the
	// interval without a watch, safety the interval with one.
	watch  bool
	poll   time.Duration
	safety time.Duration
	dsn    string
	logf   func(string, ...any)
	now    func() time.Time
	own    seqSet
	// writer admits one write transaction of this process at a time.
	// SQLite has one writer per file anyway; queued here, in-process
	// writers wait their turn on a channel instead of in SQLite's busy
	// handler, which sleeps 1, 2, 5, 10 … ms between tries and made a
	// busy ledger spend its time asleep. Other processes still meet the
	// file lock and busy_timeout. Whoever holds it commits every write
	// queued meanwhile in one transaction (group commit, see tx).
	writer *committer[*writeOp]
	// stmts are prepared once per statement text (database/sql prepares
	// each on a connection the first time it runs there): parsing SQL
	// was 40% of the CPU at the peer's workload.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	// feedFrom is the newest event when Open returned: the change feed
	// reports every event after it. It is taken before Open returns, so
	// before any waiter's first read; a feed that took it later, on its
	// own goroutine, would skip a commit landing between a waiter's first
	// read and that moment, and the waiter would sleep until its timeout.
	feedFrom int64
}

// seqSet remembers the events this handle wrote (a bounded number), so
// that the feed does not re-read what the writer already published.
type seqSet struct {
	mu    sync.Mutex
	m     map[int64]struct{}
	order []int64
}

const ownKeep = 4096

func (s *seqSet) add(seqs []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int64]struct{}{}
	}
	for _, q := range seqs {
		s.m[q] = struct{}{}
		s.order = append(s.order, q)
	}
	for len(s.order) > ownKeep {
		delete(s.m, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *seqSet) take(seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[seq]
	if ok {
		delete(s.m, seq)
	}
	return ok
}

func openSQLite(ctx context.Context, d DSN, opts Options, logf func(string, ...any)) (*sqliteBackend, error) {
	fail := func(err error) (*sqliteBackend, error) { return nil, fmt.Errorf("sqlite %s: %w", d.Path, err) }
	busy := d.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	fi, err := os.Stat(d.Path)
	switch {
	case err == nil && fi.IsDir():
		return fail(fmt.Errorf("%w: it is a directory; give the path of a database file in it", ErrNotLedger))
	case err == nil:
		if err := probeSQLite(ctx, d.Path, opts.ReadOnly, busy); err != nil {
			return fail(err)
		}
	case errors.Is(err, fs.ErrNotExist) && (opts.MustExist || opts.ReadOnly):
		return fail(fmt.Errorf("%w: the file does not exist (a mistyped --db?); nothing was created", ErrNoLedger))
	case errors.Is(err, fs.ErrNotExist):
		if dir := filepath.Dir(d.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fail(fmt.Errorf("%w: %w", ErrUnavailable, err))
			}
		}
	default:
		return fail(fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	sync := "NORMAL"
	if d.Synchronous == "full" {
		sync = "FULL"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	if opts.ReadOnly {
		// Readers change nothing, not even the journal mode.
		q.Set("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+sync+")")
		q.Set("_txlock", "immediate")
	}
	driverDSN := "file:" + (&url.URL{Path: d.Path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", driverDSN)
	if err != nil {
		return fail(err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	b := &sqliteBackend{db: db, path: d.Path, watch: !d.NoWatch, poll: d.Poll, safety: DefaultSafetyPoll, dsn: driverDSN, logf: logf, now: time.Now,
		stmts: map[string]*sql.Stmt{}}
	b.writer = newCommitter(1, b.runGroup)
	if b.poll <= 0 {
		b.poll = DefaultPoll
	}
	if !opts.ReadOnly {
		deadline := time.Now().Add(busy)
		for {
			err = b.migrate(ctx)
			if err == nil || !b.transient(err) || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err == nil {
		err = db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM events").Scan(&b.feedFrom)
	}
	if err != nil {
		db.Close()
		return fail(err)
	}
	return b, nil
}

// probeSQLite looks at an existing file through a read-only connection
// that sets no pragma, so that nothing is written to a database that turns
// out not to be a ledger: it must be empty, or carry the ledger's
// application_id, or be a ledger made before the application_id was set
// (user_version and the three tables). A reader needs the current schema.
//
// Another router may hold the file's lock (or be recovering its WAL) at
// the moment this one opens it: the probe waits for it like any other
// connection (busy_timeout changes the connection, not the file) and
// retries SQLITE_BUSY_RECOVERY, which SQLite does not hand to the busy
// handler, until the same budget is spent.
func probeSQLite(ctx context.Context, path string, readOnly bool, busy time.Duration) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer db.Close()
	var appID, version, objects, ledgerTables int
	deadline := time.Now().Add(busy)
	for {
		err = db.QueryRowContext(ctx, `SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_master), (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('outputs', 'attempts', 'events'))`).
			Scan(&appID, &version, &objects, &ledgerTables)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB {
			return fmt.Errorf("%w: the file is not a SQLite database; point --db at a ledger file or a new path", ErrNotLedger)
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	ours := appID == sqliteAppID || (appID == 0 && version >= 1 && version <= len(sqliteMigrations) && ledgerTables == 3)
	switch {
	case objects == 0 && appID == 0 && readOnly:
		return fmt.Errorf("%w: the database is empty", ErrNoLedger)
	case objects == 0 && appID == 0:
		return nil
	case !ours:
		return fmt.Errorf("%w: the database belongs to another application (application_id %d, %d schema objects); refusing to touch it", ErrNotLedger, appID, objects)
	case version > len(sqliteMigrations):
		return fmt.Errorf("%w: schema version %d is newer than this build knows (%d)", ErrUnavailable, version, len(sqliteMigrations))
	case readOnly && version < len(sqliteMigrations):
		return fmt.Errorf("%w: schema version %d predates this build (%d); a write command (claim) upgrades it", ErrUnavailable, version, len(sqliteMigrations))
	}
	return nil
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
	if v < 2 {
		if err := fillChecksums(ctx, tx); err != nil {
			return err
		}
	}
	if v < len(sqliteMigrations) {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(sqliteMigrations))); err != nil {
			return err
		}
	}
	var app int
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return err
	}
	if app != sqliteAppID {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", sqliteAppID)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// fillChecksums stores the sha256 of outputs written before version 2.
func fillChecksums(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT key, data FROM outputs WHERE sha256 IS NULL`)
	if err != nil {
		return err
	}
	sums := map[string][]byte{}
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			rows.Close()
			return err
		}
		sums[key] = checksum(data)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for key, sum := range sums {
		if _, err := tx.ExecContext(ctx, `UPDATE outputs SET sha256 = ? WHERE key = ?`, sum, key); err != nil {
			return err
		}
	}
	return nil
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

func (b *sqliteBackend) close() error {
	b.stmtMu.Lock()
	for _, st := range b.stmts {
		_ = st.Close()
	}
	b.stmts = map[string]*sql.Stmt{}
	b.stmtMu.Unlock()
	return b.db.Close()
}

// stmt returns the prepared statement of query.
func (b *sqliteBackend) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	b.stmtMu.Lock()
	defer b.stmtMu.Unlock()
	if st := b.stmts[query]; st != nil {
		return st, nil
	}
	st, err := b.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	b.stmts[query] = st
	return st, nil
}

// queryRow runs a prepared query outside a transaction.
func (b *sqliteBackend) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := b.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

const sqliteStateQuery = `
SELECT o.data, o.sha256, o.owner, o.completed_at, o.expires_at,
       a.owner, a.token, a.status, a.error, a.lease_until, a.updated_at
FROM (SELECT ? AS key) k
LEFT JOIN outputs o ON o.key = k.key AND o.expires_at > ?
LEFT JOIN attempts a ON a.key = k.key`

type queryer interface {
	queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error)
}

// readState reads key's output and attempt in one statement, so both come
// from one snapshot.
func readState(ctx context.Context, q queryer, query, key string, now int64, at time.Time) (State, error) {
	var (
		data, sum             []byte
		oOwner, aOwner        sql.NullString
		aStatus, aErr         sql.NullString
		completed, expires    sql.NullInt64
		token, lease, updated sql.NullInt64
	)
	row, err := q.queryRow(ctx, query, key, now)
	if err != nil {
		return State{}, err
	}
	err = row.Scan(&data, &sum, &oOwner, &completed, &expires, &aOwner, &token, &aStatus, &aErr, &lease, &updated)
	if err != nil {
		return State{}, err
	}
	st := State{Key: key, ReadAt: at}
	if oOwner.Valid {
		if err := verify(key, data, sum); err != nil {
			return State{}, err
		}
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

// writeOp is one write waiting for the writer.
type writeOp struct {
	ctx  context.Context
	f    func(tx *sqlTx, now time.Time) error
	err  error
	done chan struct{}
}

func (op *writeOp) doneCh() chan struct{} { return op.done }

// tx runs f in a BEGIN IMMEDIATE transaction (the DSN's _txlock), so a
// writer takes the write lock up front and waits for it under
// busy_timeout instead of failing to upgrade a read lock.
//
// Writes of this process are group-committed: f is queued, and whoever
// holds the writer runs every queued write in one transaction, in queue
// order, each seeing the ones before it. One commit then carries many
// writes, the pages they share are written to the WAL once, and the
// writer changes hands once per group instead of once per write. Every
// write is still committed (and durable, as the DSN's synchronous setting
// makes it) before its tx returns; if any write of a group fails, the
// group is rolled back and the others are run again without it, so that
// one write's failure never becomes another's.
func (b *sqliteBackend) tx(ctx context.Context, f func(tx *sqlTx, now time.Time) error) error {
	op := &writeOp{ctx: ctx, f: f, done: make(chan struct{})}
	if err := b.writer.do(ctx, op); err != nil {
		return err
	}
	return op.err
}

// runGroup commits group in one transaction and closes each op's done.
func (b *sqliteBackend) runGroup(group []*writeOp) {
	for len(group) > 0 {
		if len(group) == 1 {
			op := group[0]
			op.err = b.commit(op.ctx, op.f)
			close(op.done)
			return
		}
		var failed *writeOp
		// The transaction outlives any one caller's context: a caller that
		// gives up must not roll back the others' writes. Each statement
		// still runs under its own caller's context.
		err := b.commit(context.WithoutCancel(group[0].ctx), func(tx *sqlTx, _ time.Time) error {
			for _, op := range group {
				op.err = op.f(tx, b.clock())
				if op.err != nil && !verdict(op.err) {
					failed = op
					return op.err
				}
			}
			return nil
		})
		switch {
		case err == nil:
			for _, op := range group {
				close(op.done)
			}
			return
		case failed == nil:
			// BEGIN or COMMIT failed: nothing was written, for anyone.
			for _, op := range group {
				op.err = err
				close(op.done)
			}
			return
		}
		// One write failed and took the group down with it: it gets its
		// error, the others run again without it.
		close(failed.done)
		rest := make([]*writeOp, 0, len(group)-1)
		for _, op := range group {
			if op != failed {
				op.err = nil
				rest = append(rest, op)
			}
		}
		group = rest
	}
}

// verdict errors are answers, not faults: an operation returns them
// before writing anything, so they never spoil the group they ran in.
func verdict(err error) bool {
	return errors.Is(err, ErrNotOwner) || errors.Is(err, ErrCompleted)
}

func (b *sqliteBackend) clock() time.Time { return b.now().UTC().Truncate(time.Microsecond) }

// commit runs f in one transaction.
func (b *sqliteBackend) commit(ctx context.Context, f func(tx *sqlTx, now time.Time) error) error {
	t, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	tx := &sqlTx{Tx: t, b: b}
	if err := f(tx, b.clock()); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return err
	}
	if len(tx.seqs) > 0 {
		b.own.add(tx.seqs)
	}
	return nil
}

// sqlTx is a transaction that runs prepared statements and remembers
// the events it appended.
type sqlTx struct {
	*sql.Tx
	b    *sqliteBackend
	seqs []int64
}

func (tx *sqlTx) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := tx.b.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...), nil
}

func (tx *sqlTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.b.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (b *sqliteBackend) event(ctx context.Context, tx *sqlTx, key string, now time.Time) (int64, error) {
	r, err := tx.exec(ctx, `INSERT INTO events(key, at) VALUES (?, ?)`, key, us(now))
	if err != nil {
		return 0, err
	}
	seq, err := r.LastInsertId()
	if err == nil {
		tx.seqs = append(tx.seqs, seq)
	}
	return seq, err
}

func (b *sqliteBackend) claim(ctx context.Context, key, owner string, lease time.Duration) (Claim, error) {
	var c Claim
	err := b.tx(ctx, func(tx *sqlTx, now time.Time) error {
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
			_, err = tx.exec(ctx, `UPDATE attempts SET lease_until = ?, updated_at = ? WHERE key = ?`, us(a.LeaseUntil), us(now), key)
		default:
			var token int64
			if token, err = b.event(ctx, tx, key, now); err != nil {
				return err
			}
			c.State.Attempt = &Attempt{Owner: owner, Token: token, Status: AttemptRunning, LeaseUntil: now.Add(lease), UpdatedAt: now}
			_, err = tx.exec(ctx, `INSERT OR REPLACE INTO attempts(key, owner, token, status, error, lease_until, updated_at) VALUES (?, ?, ?, 'running', '', ?, ?)`,
				key, owner, token, us(now.Add(lease)), us(now))
		}
		c.Owned = err == nil
		return err
	})
	return c, err
}

func (b *sqliteBackend) renew(ctx context.Context, key, owner string, lease time.Duration) (State, error) {
	var st State
	err := b.tx(ctx, func(tx *sqlTx, now time.Time) error {
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
		_, err = tx.exec(ctx, `UPDATE attempts SET lease_until = ?, updated_at = ? WHERE key = ?`, us(a.LeaseUntil), us(now), key)
		return err
	})
	return st, err
}

func (b *sqliteBackend) complete(ctx context.Context, key, owner string, data []byte, retention time.Duration) (State, bool, error) {
	var st State
	var stored bool
	err := b.tx(ctx, func(tx *sqlTx, now time.Time) error {
		var err error
		if st, err = readState(ctx, tx, sqliteStateQuery, key, us(now), now); err != nil {
			return err
		}
		if st.Output != nil {
			stored = false
			return nil
		}
		o := &Output{Data: data, Owner: owner, CompletedAt: now, ExpiresAt: now.Add(retention)}
		if _, err := tx.exec(ctx, `INSERT OR REPLACE INTO outputs(key, data, sha256, owner, completed_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			key, data, checksum(data), owner, us(now), us(o.ExpiresAt)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM attempts WHERE key = ?`, key); err != nil {
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
	err := b.tx(ctx, func(tx *sqlTx, now time.Time) error {
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
		if _, err := tx.exec(ctx, `UPDATE attempts SET status = 'failed', error = ?, updated_at = ? WHERE key = ?`, msg, us(now), key); err != nil {
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
	return readState(ctx, b, sqliteStateQuery, key, us(now), now)
}

func (b *sqliteBackend) forget(ctx context.Context, key string) (State, error) {
	var st State
	err := b.tx(ctx, func(tx *sqlTx, now time.Time) error {
		if _, err := tx.exec(ctx, `DELETE FROM attempts WHERE key = ?`, key); err != nil {
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
	err := b.tx(ctx, func(tx *sqlTx, now time.Time) error {
		token, err := b.event(ctx, tx, key, now)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT OR REPLACE INTO attempts(key, owner, token, status, error, lease_until, updated_at) VALUES (?, ?, ?, 'running', '', ?, ?)`,
			key, owner, token, us(now.Add(lease)), us(now)); err != nil {
			return err
		}
		st, err = readState(ctx, tx, sqliteStateQuery, key, us(now), now)
		return err
	})
	return st, err
}

func (b *sqliteBackend) sweep(ctx context.Context, retention time.Duration) error {
	return b.tx(ctx, func(tx *sqlTx, now time.Time) error {
		if _, err := tx.exec(ctx, `DELETE FROM outputs WHERE expires_at <= ?`, us(now)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM attempts WHERE status = 'failed' AND updated_at <= ?`, us(now.Add(-retention))); err != nil {
			return err
		}
		// Keep the newest event whatever its age: AUTOINCREMENT would not
		// reuse its number anyway, and readers find their place by it.
		_, err := tx.exec(ctx, `DELETE FROM events WHERE at <= ? AND seq < (SELECT max(seq) FROM events)`, us(now.Add(-eventsKeep)))
		return err
	})
}

// feed tells this process's waiters about commits made by other
// connections (other processes, or other handles). PRAGMA data_version,
// read on a connection of the feed's own, changes when another connection
// commits; the events appended since the last look then name the keys to
// re-read. The feed looks when the WAL file is written (inotify, via
// fsnotify) and, as a safety net, every SafetyPoll; without a file watch
// (watch=false, or inotify unavailable) it polls every poll interval.
// Nothing runs while nobody in this process waits.
func (b *sqliteBackend) feed(ctx context.Context, h *hub, changed func([]string)) {
	// last survives restarts of the feed: events committed while it was
	// down are read, not skipped.
	last := b.feedFrom
	for ctx.Err() == nil {
		err := b.feedOnce(ctx, h, changed, &last)
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

// fileWatch wakes the feed when the database or its WAL is written.
type fileWatch struct {
	w      *fsnotify.Watcher
	dir    string
	names  map[string]bool
	active bool
}

func newFileWatch(path string) (*fileWatch, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	w, err := fsnotify.NewBufferedWatcher(256)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(abs)
	return &fileWatch{w: w, dir: filepath.Dir(abs), names: map[string]bool{base: true, base + "-wal": true}}, nil
}

// set adds or removes the directory watch, so that an idle process is
// not woken by every write.
func (f *fileWatch) set(on bool) error {
	if f == nil || f.active == on {
		return nil
	}
	f.active = on
	if on {
		return f.w.Add(f.dir)
	}
	return f.w.Remove(f.dir)
}

func (f *fileWatch) events() (<-chan fsnotify.Event, <-chan error) {
	if f == nil {
		return nil, nil
	}
	return f.w.Events, f.w.Errors
}

func (f *fileWatch) close() {
	if f != nil {
		_ = f.w.Close()
	}
}

func (b *sqliteBackend) feedOnce(ctx context.Context, h *hub, changed func([]string), lastp *int64) error {
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
	last := *lastp
	defer func() { *lastp = last }()
	var fw *fileWatch
	interval := b.poll
	if b.watch {
		if fw, err = newFileWatch(b.path); err != nil {
			b.logf("ledger: no file watch on %s (%v); polling every %s", b.path, err, b.poll)
			fw = nil
		} else {
			defer fw.close()
			interval = b.safety
		}
	}
	fileEvents, watchErrors := fw.events()
	// After a file event the feed polls every poll interval for a short
	// while: the WAL frames are written (the event) before the commit
	// becomes visible in the WAL index (data_version), so the first look
	// may be too early. Looks are at most one per poll interval, however
	// many writes there are.
	const hotFor = 20 * time.Millisecond
	var hotUntil, lastLook time.Time
	var dv int64 = -1
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		if h.idle() {
			timer.Stop()
			if err := fw.set(false); err != nil {
				return err
			}
		idle:
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-h.active:
					break idle
				case <-fileEvents: // queued before the watch was removed
				}
			}
			if err := fw.set(true); err != nil {
				return err
			}
			dv = -1 // look right away: something may have changed while idle
		} else {
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			case ev := <-fileEvents:
				if !fw.names[filepath.Base(ev.Name)] {
					continue
				}
				now := time.Now()
				hotUntil = now.Add(hotFor)
				if wait := lastLook.Add(b.poll).Sub(now); wait > 0 {
					timer.Reset(wait) // looked a moment ago: look again soon
					continue
				}
			case err := <-watchErrors:
				// An overflowed event queue loses wake-ups: look now, and
				// let the safety poll cover the rest.
				b.logf("ledger: file watch: %v", err)
			}
		}
		lastLook = time.Now()
		next := interval
		if lastLook.Before(hotUntil) {
			next = b.poll
		}
		timer.Reset(next)
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
			if b.own.take(seq) {
				continue // this handle wrote it and told its waiters already
			}
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
