package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgMigrations is the schema, one step per version (kept in <schema>.meta).
// %[1]s is the quoted schema name.
var pgMigrations = []string{
	`CREATE SEQUENCE %[1]s.tokens;
	CREATE TABLE %[1]s.outputs (
		key          text PRIMARY KEY,
		data         bytea NOT NULL,
		owner        text NOT NULL,
		completed_at bigint NOT NULL,
		expires_at   bigint NOT NULL
	);
	CREATE INDEX outputs_expires ON %[1]s.outputs(expires_at);
	CREATE TABLE %[1]s.attempts (
		key         text PRIMARY KEY,
		owner       text NOT NULL,
		token       bigint NOT NULL,
		status      text NOT NULL CHECK (status IN ('running', 'failed')),
		error       text NOT NULL DEFAULT '',
		lease_until bigint NOT NULL,
		updated_at  bigint NOT NULL
	);`,
	// 2: keys, owners and messages are bytes (any value a caller passes,
	// as on SQLite; text refused what is not UTF-8), rows are found by
	// the sha256 of the key (a btree entry of a long key overflows an
	// index page), and each output carries the sha256 of its data.
	`CREATE TABLE %[1]s.outputs_v2 (
		key_hash     bytea PRIMARY KEY,
		key          bytea NOT NULL,
		data         bytea NOT NULL,
		sha256       bytea NOT NULL,
		owner        bytea NOT NULL,
		completed_at bigint NOT NULL,
		expires_at   bigint NOT NULL
	);
	INSERT INTO %[1]s.outputs_v2 SELECT sha256(convert_to(key, 'UTF8')), convert_to(key, 'UTF8'), data, sha256(data), convert_to(owner, 'UTF8'), completed_at, expires_at FROM %[1]s.outputs;
	DROP TABLE %[1]s.outputs;
	ALTER TABLE %[1]s.outputs_v2 RENAME TO outputs;
	CREATE INDEX outputs_expires ON %[1]s.outputs(expires_at);
	CREATE TABLE %[1]s.attempts_v2 (
		key_hash    bytea PRIMARY KEY,
		key         bytea NOT NULL,
		owner       bytea NOT NULL,
		token       bigint NOT NULL,
		status      text NOT NULL CHECK (status IN ('running', 'failed')),
		error       bytea NOT NULL DEFAULT '',
		lease_until bigint NOT NULL,
		updated_at  bigint NOT NULL
	);
	INSERT INTO %[1]s.attempts_v2 SELECT sha256(convert_to(key, 'UTF8')), convert_to(key, 'UTF8'), convert_to(owner, 'UTF8'), token, status, convert_to(error, 'UTF8'), lease_until, updated_at FROM %[1]s.attempts;
	DROP TABLE %[1]s.attempts;
	ALTER TABLE %[1]s.attempts_v2 RENAME TO attempts;`,
}

// pgLedgerOp is the function every write calls, so that a write costs one
// round trip and a group of writes can be sent, and committed, at once
// (see pgBackend.write). It does what the Go code did in a transaction of
// 5–7 statements: lock the key, read, decide, write, notify, and returns
// the verdict and the key's state afterwards. It changes no table, so it
// is not a schema version: migrate creates it where it is missing, and
// routers of the previous build keep working on the same schema during a
// rolling upgrade. A changed body gets a new name (_v2), never a
// replacement under a running older build. %[1]s is the quoted schema;
// %% is a literal %.
const pgLedgerOp = `CREATE FUNCTION %[1]s.ledger_op_v1(p_op text, p_lock bigint, p_hash bytea, p_key bytea, p_owner bytea,
	p_lease bigint, p_data bytea, p_sum bytea, p_retention bigint, p_msg bytea, p_channel text, p_payload text)
RETURNS TABLE (verdict text, o_data bytea, o_sha bytea, o_owner bytea, o_completed bigint, o_expires bigint,
	a_owner bytea, a_token bigint, a_status text, a_error bytea, a_lease bigint, a_updated bigint, now_us bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
	n bigint;
	has_o boolean;
	has_a boolean;
	cur record;
BEGIN
	-- Operations on one key are serialized across every connection.
	PERFORM pg_advisory_xact_lock(p_lock);
	n := (extract(epoch from clock_timestamp()) * 1000000)::bigint;
	PERFORM 1 FROM %[1]s.outputs t WHERE t.key_hash = p_hash AND t.key = p_key AND t.expires_at > n;
	has_o := FOUND;
	SELECT t.owner, t.status, t.error, t.lease_until INTO cur FROM %[1]s.attempts t WHERE t.key_hash = p_hash AND t.key = p_key;
	has_a := FOUND;
	verdict := 'ok';
	IF p_op = 'claim' THEN
		IF has_o OR (has_a AND cur.status = 'running' AND n < cur.lease_until AND cur.owner <> p_owner) THEN
			verdict := 'not-owned'; -- an output to replay, or another owner's live lease
		ELSIF has_a AND cur.status = 'running' AND n < cur.lease_until THEN
			UPDATE %[1]s.attempts SET lease_until = n + p_lease, updated_at = n WHERE key_hash = p_hash;
			verdict := 'owned';
		ELSE
			INSERT INTO %[1]s.attempts AS t (key_hash, key, owner, token, status, error, lease_until, updated_at)
				VALUES (p_hash, p_key, p_owner, nextval('%[1]s.tokens'), 'running', '', n + p_lease, n)
				ON CONFLICT (key_hash) DO UPDATE SET owner = excluded.owner, token = excluded.token, status = 'running', error = '',
					lease_until = excluded.lease_until, updated_at = excluded.updated_at;
			PERFORM pg_notify(p_channel, p_payload);
			verdict := 'owned';
		END IF;
	ELSIF p_op = 'renew' THEN
		IF has_o THEN
			verdict := 'completed';
		ELSIF NOT has_a OR cur.owner <> p_owner OR cur.status <> 'running' THEN
			verdict := 'not-owner';
		ELSE
			UPDATE %[1]s.attempts SET lease_until = n + p_lease, updated_at = n WHERE key_hash = p_hash;
		END IF;
	ELSIF p_op = 'complete' THEN
		IF has_o THEN
			verdict := 'not-stored'; -- the first output wins
		ELSE
			INSERT INTO %[1]s.outputs (key_hash, key, data, sha256, owner, completed_at, expires_at) VALUES (p_hash, p_key, p_data, p_sum, p_owner, n, n + p_retention)
				ON CONFLICT (key_hash) DO UPDATE SET data = excluded.data, sha256 = excluded.sha256, owner = excluded.owner,
					completed_at = excluded.completed_at, expires_at = excluded.expires_at;
			DELETE FROM %[1]s.attempts WHERE key_hash = p_hash;
			PERFORM pg_notify(p_channel, p_payload);
			verdict := 'stored';
		END IF;
	ELSIF p_op = 'fail' THEN
		IF has_o THEN
			verdict := 'completed';
		ELSIF has_a AND cur.owner = p_owner AND cur.status = 'failed' AND cur.error = p_msg THEN
			verdict := 'ok'; -- a retried fail that had committed
		ELSIF NOT has_a OR cur.owner <> p_owner OR cur.status <> 'running' THEN
			verdict := 'not-owner';
		ELSE
			UPDATE %[1]s.attempts SET status = 'failed', error = p_msg, updated_at = n WHERE key_hash = p_hash;
			PERFORM pg_notify(p_channel, p_payload);
		END IF;
	ELSIF p_op = 'forget' THEN
		DELETE FROM %[1]s.attempts WHERE key_hash = p_hash;
		PERFORM pg_notify(p_channel, p_payload);
	ELSIF p_op = 'recreate' THEN
		INSERT INTO %[1]s.attempts AS t (key_hash, key, owner, token, status, error, lease_until, updated_at)
			VALUES (p_hash, p_key, p_owner, nextval('%[1]s.tokens'), 'running', '', n + p_lease, n)
			ON CONFLICT (key_hash) DO UPDATE SET owner = excluded.owner, token = excluded.token, status = 'running', error = '',
				lease_until = excluded.lease_until, updated_at = excluded.updated_at;
		PERFORM pg_notify(p_channel, p_payload);
	ELSE
		RAISE EXCEPTION 'ledger_op_v1: unknown operation %%', p_op;
	END IF;
	RETURN QUERY SELECT verdict, o.data, o.sha256, o.owner, o.completed_at, o.expires_at,
		a.owner, a.token, a.status, a.error, a.lease_until, a.updated_at, n
	FROM (SELECT 1) x
	LEFT JOIN %[1]s.outputs o ON o.key_hash = p_hash AND o.key = p_key AND o.expires_at > n
	LEFT JOIN %[1]s.attempts a ON a.key_hash = p_hash AND a.key = p_key;
END
$fn$;`

// pgKey is how a key is passed to PostgreSQL: its sha256 (the index) and
// its bytes (compared too, so that rows never depend on the hash alone).
func pgKey(key string) ([]byte, []byte) {
	return checksum([]byte(key)), []byte(key)
}

type pgBackend struct {
	pool *pgxpool.Pool
	// shared, when set, owns pool and the LISTEN connection (Options.Pool).
	shared *pgShared
	// app is the application_name of the connections this handle uses.
	app     string
	connCfg *pgx.ConnConfig
	schema  string // quoted
	channel string
	lockNS  string
	logf    func(string, ...any)
	state   string
	// origin prefixes this handle's notifications, so that its listener
	// skips what its own writes already told this process's waiters.
	origin string
	// Writes are group-committed (see write): up to pgGroups groups at
	// once, each taking every write queued meanwhile.
	writes *committer[*pgOp]
}

// pgNow is the database clock in microseconds: leases are judged by one
// clock whatever host the routers run on.
const pgNow = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`

func openPostgres(ctx context.Context, d DSN, name string, opts Options, logf func(string, ...any)) (*pgBackend, error) {
	pcfg, err := pgxpool.ParseConfig(d.Conn)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", d, err)
	}
	var pool *pgxpool.Pool
	var shared *pgShared
	app := appName(name)
	if opts.Pool != nil {
		// Connections shared with the process's other handles.
		if shared, err = opts.Pool.store(ctx, d, pcfg, logf); err != nil {
			return nil, err
		}
		pool, app = shared.pool, opts.Pool.AppName()
	} else {
		pcfg.ConnConfig.RuntimeParams["application_name"] = app
		// A router's ledger needs few connections: every write is one
		// round trip and writes travel in groups (at most pgGroups at
		// once), the rest are reads. MaxConns, then pool_max_conns in
		// the DSN, override.
		switch {
		case opts.MaxConns > 0:
			pcfg.MaxConns = int32(opts.MaxConns)
		case !strings.Contains(d.Conn, "pool_max_conns"):
			pcfg.MaxConns = 8
		}
		if pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
			return nil, fmt.Errorf("postgres %s: %w", d, err)
		}
	}
	schema := pgx.Identifier{d.Schema}.Sanitize()
	b := &pgBackend{
		pool: pool, shared: shared, app: app, connCfg: pcfg.ConnConfig.Copy(), schema: schema,
		channel: "readiness_ledger_" + d.Schema, lockNS: d.Schema + ":", logf: logf,
		origin: randomHex(6),
	}
	b.writes = newCommitter(pgGroups, b.runGroup)
	b.state = fmt.Sprintf(`SELECT o.data, o.sha256, o.owner, o.completed_at, o.expires_at,
	       a.owner, a.token, a.status, a.error, a.lease_until, a.updated_at, n.now
	FROM (SELECT %s AS now) n
	LEFT JOIN %s.outputs o ON o.key_hash = $1 AND o.key = $2 AND o.expires_at > n.now
	LEFT JOIN %s.attempts a ON a.key_hash = $1 AND a.key = $2`, pgNow, schema, schema)
	// Connection set-up is retried like any operation: a backend
	// terminated while the ledger opens is not a reason to fail. Nothing
	// listening at all is (connection refused): it is said at once.
	budget := opts.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	deadline := time.Now().Add(budget)
	backoff := 5 * time.Millisecond
	for {
		err = b.prepare(ctx, d, opts)
		if err == nil || !b.transient(err) || errors.Is(err, syscall.ECONNREFUSED) || ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		logf("ledger: postgres open: %v; retrying in %s", err, backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
	if err != nil {
		if shared == nil {
			pool.Close()
		}
		return nil, fmt.Errorf("postgres %s: %w", d, err)
	}
	return b, nil
}

// prepare readies the schema: a writer creates or migrates it; with
// MustExist or ReadOnly nothing is created (a mistyped schema must not
// look like an empty ledger, and a read must not write), and a reader
// needs the schema this build writes.
func (b *pgBackend) prepare(ctx context.Context, d DSN, opts Options) error {
	if !opts.MustExist && !opts.ReadOnly {
		return b.migrate(ctx)
	}
	var v *int
	err := b.pool.QueryRow(ctx, `SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE 0 END`, b.schema+".meta").Scan(&v)
	if err == nil && v != nil {
		err = b.pool.QueryRow(ctx, `SELECT max(version) FROM `+b.schema+`.meta`).Scan(&v)
	}
	switch {
	case err != nil:
		return err
	case v == nil:
		return fmt.Errorf("%w: schema %q of %s holds no ledger (nothing was created; check the DSN's schema, or claim a key first)", ErrNoLedger, d.Schema, d)
	case *v > len(pgMigrations):
		return fmt.Errorf("schema version %d is newer than this build knows (%d)", *v, len(pgMigrations))
	case *v < len(pgMigrations) && opts.ReadOnly:
		return fmt.Errorf("%w: schema %q is at version %d, this build reads version %d; a writer (a router, ledger claim) migrates it", ErrNoLedger, d.Schema, *v, len(pgMigrations))
	case *v < len(pgMigrations):
		return b.migrate(ctx)
	}
	return nil
}

func (b *pgBackend) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		// One migrator at a time across every process and host.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "readiness-ledger-migrate:"+b.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+b.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+b.schema+`.meta (version int NOT NULL)`); err != nil {
			return err
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT version FROM `+b.schema+`.meta`).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := tx.Exec(ctx, `INSERT INTO `+b.schema+`.meta VALUES (0)`); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if v > len(pgMigrations) {
			return fmt.Errorf("schema version %d is newer than this build knows (%d)", v, len(pgMigrations))
		}
		for i := v; i < len(pgMigrations); i++ {
			if _, err := tx.Exec(ctx, fmt.Sprintf(pgMigrations[i], b.schema)); err != nil {
				return fmt.Errorf("migrate to version %d: %w", i+1, err)
			}
		}
		if _, err = tx.Exec(ctx, `UPDATE `+b.schema+`.meta SET version = $1`, len(pgMigrations)); err != nil {
			return err
		}
		var have bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = $1 AND p.proname = 'ledger_op_v1')`, strings.Trim(b.schema, `"`)).Scan(&have); err != nil {
			return err
		}
		if !have {
			if _, err := tx.Exec(ctx, fmt.Sprintf(pgLedgerOp, b.schema)); err != nil {
				return fmt.Errorf("create ledger_op_v1: %w", err)
			}
		}
		return nil
	})
}

func (b *pgBackend) transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin shutdown, crash, cannot connect now
			pe.Code == "53300",                     // too many connections
			pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	// Everything else from the driver is a broken or closed connection
	// (the pool replaces it), or a failure to connect.
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err)
}

func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"conn closed", "connection reset", "broken pipe", "unexpected EOF", "EOF", "terminating connection", "connection refused"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (b *pgBackend) close() error {
	if b.shared == nil {
		b.pool.Close()
	}
	return nil
}

func (b *pgBackend) readState(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, key string) (State, int64, error) {
	h, k := pgKey(key)
	return scanState(q.QueryRow(ctx, b.state, h, k), key)
}

// scanState reads a state row: output columns, attempt columns, the
// database clock; with verdict, a leading verdict column (ledger_op).
func scanState(row pgx.Row, key string, verdict ...*string) (State, int64, error) {
	var (
		data, sum, oOwner     []byte
		aOwner, aErr          []byte
		aStatus               *string
		completed, expires    *int64
		token, lease, updated *int64
		now                   int64
	)
	dest := []any{&data, &sum, &oOwner, &completed, &expires, &aOwner, &token, &aStatus, &aErr, &lease, &updated, &now}
	if len(verdict) > 0 {
		dest = append([]any{verdict[0]}, dest...)
	}
	if err := row.Scan(dest...); err != nil {
		return State{}, 0, err
	}
	st := State{Key: key, ReadAt: fromUS(now)}
	if oOwner != nil {
		if err := verify(key, data, sum); err != nil {
			return State{}, 0, err
		}
		if data == nil {
			data = []byte{}
		}
		st.Output = &Output{Data: data, Owner: string(oOwner), CompletedAt: fromUS(*completed), ExpiresAt: fromUS(*expires)}
	}
	if aOwner != nil {
		st.Attempt = &Attempt{Owner: string(aOwner), Token: *token, Status: AttemptStatus(*aStatus), Error: string(aErr), LeaseUntil: fromUS(*lease), UpdatedAt: fromUS(*updated)}
	}
	return st, now, nil
}

// lockID is the advisory lock of a key: 64 bits of the sha256 of the
// schema and the key (bytes, which hashtext would refuse unless UTF-8).
func (b *pgBackend) lockID(key string) int64 {
	s := sha256.Sum256([]byte(b.lockNS + key))
	return int64(binary.BigEndian.Uint64(s[:8]))
}

// payload is a write's notification: this handle's origin and the key,
// hex-encoded (NOTIFY's payload is text; MaxKeySize keeps it under its
// 8000-byte limit).
func (b *pgBackend) payload(key string) string {
	p := b.origin + ":" + hex.EncodeToString([]byte(key))
	if len(p) > 7000 {
		p = "" // too long for NOTIFY: listeners refresh every key
	}
	return p
}

// pgGroups is how many write groups one handle sends at once. With a
// commit costing a WAL flush (~10 ms on the development machine's disk),
// one group at a time would cap a handle at one flush's worth of writes
// per flush; two overlap a group's flush with the next group's filling.
const pgGroups = 2

// pgOp is one write: a call of ledger_op.
type pgOp struct {
	ctx  context.Context
	op   string
	key  string
	lock int64
	args []any
	// Results.
	verdict string
	st      State
	err     error
	done    chan struct{}
}

func (o *pgOp) doneCh() chan struct{} { return o.done }

// write runs one ledger_op call. Writes are group-committed: op is
// queued, and a free group slot sends every queued write in one pipeline
// that PostgreSQL runs as one implicit transaction, so a group costs one
// round trip and one commit (one WAL flush) however many writes it
// carries. Every write's verdict is delivered only after that commit
// returned, so a caller never hears "stored" for an output that is not
// durable (synchronous_commit as the server sets it). Writes in a group
// take their keys' advisory locks in lock-ID order, as every group does,
// so that two groups never wait for each other in a cycle. A write whose
// statement fails rolls its group back: it gets its error, the others are
// sent again without it.
func (b *pgBackend) write(ctx context.Context, op string, key, owner string, lease, retention time.Duration, data []byte, msg string) (string, State, error) {
	h, k := pgKey(key)
	var sum []byte
	if op == "complete" {
		sum = checksum(data)
	}
	o := &pgOp{ctx: ctx, op: op, key: key, lock: b.lockID(key), done: make(chan struct{}),
		args: []any{op, b.lockID(key), h, k, []byte(owner), lease.Microseconds(), data, sum, retention.Microseconds(), []byte(msg), b.channel, b.payload(key)}}
	if err := b.writes.do(ctx, o); err != nil {
		return "", State{}, err
	}
	return o.verdict, o.st, o.err
}

// runGroup sends group in one pipeline and closes each op's done.
func (b *pgBackend) runGroup(group []*pgOp) {
	// Lock order; writes of one key keep their order.
	sort.SliceStable(group, func(i, j int) bool { return group[i].lock < group[j].lock })
	for len(group) > 0 {
		failed, err := b.sendGroup(group)
		if failed == nil {
			for _, o := range group {
				if err != nil {
					o.verdict, o.st, o.err = "", State{}, err
				} else if o.err != nil {
					o.verdict, o.st = "", State{}
				}
				close(o.done)
			}
			return
		}
		failed.verdict, failed.st = "", State{}
		close(failed.done)
		rest := make([]*pgOp, 0, len(group)-1)
		for _, o := range group {
			if o != failed {
				o.err = nil
				rest = append(rest, o)
			}
		}
		group = rest
	}
}

// sendGroup runs group as one implicit transaction. failed is the write
// whose statement PostgreSQL refused (nothing was committed; failed.err
// says why); with failed nil, err is the group's fate: nil, committed, or
// an error for every write (sending, or the commit, failed).
func (b *pgBackend) sendGroup(group []*pgOp) (failed *pgOp, err error) {
	// The group outlives any one caller's context: a caller that gives up
	// must not abort the others' writes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(group[0].ctx), DefaultBudget)
	defer cancel()
	batch := &pgx.Batch{}
	q := `SELECT verdict, o_data, o_sha, o_owner, o_completed, o_expires, a_owner, a_token, a_status, a_error, a_lease, a_updated, now_us
		FROM ` + b.schema + `.ledger_op_v1($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	for _, o := range group {
		batch.Queue(q, o.args...)
	}
	br := b.pool.SendBatch(ctx, batch)
	for _, o := range group {
		var verdict string
		st, _, err := scanState(br.QueryRow(), o.key, &verdict)
		o.verdict, o.st, o.err = verdict, st, err
		var pe *pgconn.PgError
		if err != nil && errors.As(err, &pe) && failed == nil {
			failed = o
		}
	}
	// Close reads to the end of the pipeline: the commit's answer.
	cerr := br.Close()
	if failed != nil {
		return failed, nil
	}
	if cerr != nil {
		return nil, cerr
	}
	for _, o := range group {
		// A corrupt output is this write's answer (ledger_op writes
		// nothing where an output exists); anything else failed the pipe.
		if o.err != nil && !errors.Is(o.err, ErrCorrupt) {
			return nil, o.err
		}
	}
	return nil, nil
}

// verdictErr turns a ledger_op verdict into the backend's answer.
func verdictErr(v string) error {
	switch v {
	case "completed":
		return ErrCompleted
	case "not-owner":
		return ErrNotOwner
	}
	return nil
}

func (b *pgBackend) claim(ctx context.Context, key, owner string, lease time.Duration) (Claim, error) {
	v, st, err := b.write(ctx, "claim", key, owner, lease, 0, nil, "")
	if err != nil {
		return Claim{}, err
	}
	return Claim{Owned: v == "owned", State: st}, nil
}

func (b *pgBackend) renew(ctx context.Context, key, owner string, lease time.Duration) (State, error) {
	v, st, err := b.write(ctx, "renew", key, owner, lease, 0, nil, "")
	if err != nil {
		return State{}, err
	}
	return st, verdictErr(v)
}

func (b *pgBackend) complete(ctx context.Context, key, owner string, data []byte, retention time.Duration) (State, bool, error) {
	v, st, err := b.write(ctx, "complete", key, owner, 0, retention, data, "")
	if err != nil {
		return State{}, false, err
	}
	return st, v == "stored", nil
}

func (b *pgBackend) fail(ctx context.Context, key, owner, msg string) (State, error) {
	v, st, err := b.write(ctx, "fail", key, owner, 0, 0, nil, msg)
	if err != nil {
		return State{}, err
	}
	return st, verdictErr(v)
}

func (b *pgBackend) inspect(ctx context.Context, key string) (State, error) {
	st, _, err := b.readState(ctx, b.pool, key)
	return st, err
}

func (b *pgBackend) forget(ctx context.Context, key string) (State, error) {
	_, st, err := b.write(ctx, "forget", key, "", 0, 0, nil, "")
	return st, err
}

func (b *pgBackend) recreate(ctx context.Context, key, owner string, lease time.Duration) (State, error) {
	_, st, err := b.write(ctx, "recreate", key, owner, lease, 0, nil, "")
	return st, err
}

func (b *pgBackend) sweep(ctx context.Context, retention time.Duration) error {
	_, err := b.pool.Exec(ctx, `WITH n AS (SELECT `+pgNow+` AS now),
		o AS (DELETE FROM `+b.schema+`.outputs WHERE expires_at <= (SELECT now FROM n))
		DELETE FROM `+b.schema+`.attempts WHERE status = 'failed' AND updated_at <= (SELECT now FROM n) - $1`, retention.Microseconds())
	return err
}

// feed LISTENs on a connection of its own. When that connection dies
// (pg_terminate_backend, a restart, a network cut) it reconnects with
// backoff and then re-reads every watched key, since notifications sent
// meanwhile are lost.
func (b *pgBackend) feed(ctx context.Context, h *hub, changed func([]string)) {
	if b.shared != nil {
		// The process's one listener tells this handle; a commit whose
		// notification came before the subscription is found by the
		// re-read that follows it.
		unsubscribe := b.shared.subscribe(b.origin, changed)
		defer unsubscribe()
		changed(nil)
		<-ctx.Done()
		return
	}
	listenLoop(ctx, b.connCfg, b.channel, b.logf, "postgres listener", func() {
		changed(nil) // whatever changed while not listening
	}, func(ctx context.Context, conn *pgx.Conn) error { return b.listen(ctx, conn, changed) })
}

func (b *pgBackend) listen(ctx context.Context, conn *pgx.Conn, changed func([]string)) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		origin, hexKey, found := strings.Cut(n.Payload, ":")
		if !found {
			hexKey = origin // a writer that names no origin
		} else if origin == b.origin {
			continue // this handle wrote it and told its waiters already
		}
		key, err := hex.DecodeString(hexKey)
		if n.Payload == "" || err != nil {
			changed(nil)
			continue
		}
		changed([]string{string(key)})
	}
}
