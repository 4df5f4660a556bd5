package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
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

// pgKey is how a key is passed to PostgreSQL: its sha256 (the index) and
// its bytes (compared too, so that rows never depend on the hash alone).
func pgKey(key string) ([]byte, []byte) {
	return checksum([]byte(key)), []byte(key)
}

type pgBackend struct {
	pool    *pgxpool.Pool
	connCfg *pgx.ConnConfig
	schema  string // quoted
	channel string
	lockNS  string
	logf    func(string, ...any)
	state   string
}

// pgNow is the database clock in microseconds: leases are judged by one
// clock whatever host the routers run on.
const pgNow = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`

func openPostgres(ctx context.Context, d DSN, appName string, opts Options, logf func(string, ...any)) (*pgBackend, error) {
	pcfg, err := pgxpool.ParseConfig(d.Conn)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", d, err)
	}
	app := "readiness-ledger:" + appName
	if len(app) > 63 {
		app = app[:63]
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = app
	// A router's ledger needs few connections: operations are short and
	// serialized per key. pool_max_conns in the DSN overrides.
	if !strings.Contains(d.Conn, "pool_max_conns") {
		pcfg.MaxConns = 4
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", d, err)
	}
	schema := pgx.Identifier{d.Schema}.Sanitize()
	b := &pgBackend{
		pool: pool, connCfg: pcfg.ConnConfig.Copy(), schema: schema,
		channel: "readiness_ledger_" + d.Schema, lockNS: d.Schema + ":", logf: logf,
	}
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
		err = b.migrate(ctx)
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
		pool.Close()
		return nil, fmt.Errorf("postgres %s: %w", d, err)
	}
	return b, nil
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
		_, err = tx.Exec(ctx, `UPDATE `+b.schema+`.meta SET version = $1`, len(pgMigrations))
		return err
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

func (b *pgBackend) close() error { b.pool.Close(); return nil }

func (b *pgBackend) readState(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, key string) (State, int64, error) {
	var (
		data, sum, oOwner     []byte
		aOwner, aErr          []byte
		aStatus               *string
		completed, expires    *int64
		token, lease, updated *int64
		now                   int64
	)
	h, k := pgKey(key)
	if err := q.QueryRow(ctx, b.state, h, k).Scan(&data, &sum, &oOwner, &completed, &expires, &aOwner, &token, &aStatus, &aErr, &lease, &updated, &now); err != nil {
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

// tx runs f holding the key's advisory lock, so that operations on one key
// are serialized across every connection, and reads the state first.
func (b *pgBackend) tx(ctx context.Context, key string, f func(tx pgx.Tx, st *State, now int64) error) (State, error) {
	var st State
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, b.lockID(key)); err != nil {
			return err
		}
		var now int64
		var err error
		if st, now, err = b.readState(ctx, tx, key); err != nil {
			return err
		}
		return f(tx, &st, now)
	})
	return st, err
}

// lockID is the advisory lock of a key: 64 bits of the sha256 of the
// schema and the key (bytes, which hashtext would refuse unless UTF-8).
func (b *pgBackend) lockID(key string) int64 {
	s := sha256.Sum256([]byte(b.lockNS + key))
	return int64(binary.BigEndian.Uint64(s[:8]))
}

func (b *pgBackend) notify(ctx context.Context, tx pgx.Tx, key string) error {
	// The payload is text: the key travels hex-encoded (MaxKeySize keeps
	// it under NOTIFY's 8000-byte limit).
	payload := hex.EncodeToString([]byte(key))
	if len(payload) > 7000 {
		payload = "" // too long for NOTIFY: listeners refresh every key
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, b.channel, payload)
	return err
}

func (b *pgBackend) claim(ctx context.Context, key, owner string, lease time.Duration) (Claim, error) {
	owned := false
	st, err := b.tx(ctx, key, func(tx pgx.Tx, st *State, now int64) error {
		if st.Output != nil {
			return nil
		}
		a := st.Attempt
		live := a != nil && a.Status == AttemptRunning && now < us(a.LeaseUntil)
		until := now + lease.Microseconds()
		switch {
		case live && a.Owner != owner:
			return nil
		case live:
			if _, err := tx.Exec(ctx, `UPDATE `+b.schema+`.attempts SET lease_until = $2, updated_at = $3 WHERE key_hash = $1`, checksum([]byte(key)), until, now); err != nil {
				return err
			}
			a.LeaseUntil, a.UpdatedAt = fromUS(until), fromUS(now)
		default:
			var token int64
			if err := tx.QueryRow(ctx, `INSERT INTO `+b.schema+`.attempts AS t (key_hash, key, owner, token, status, error, lease_until, updated_at)
				VALUES ($1, $5, $2, nextval('`+strings.Trim(b.schema, `"`)+`.tokens'), 'running', '', $3, $4)
				ON CONFLICT (key_hash) DO UPDATE SET owner = excluded.owner, token = excluded.token, status = 'running', error = '',
					lease_until = excluded.lease_until, updated_at = excluded.updated_at
				RETURNING token`, checksum([]byte(key)), []byte(owner), until, now, []byte(key)).Scan(&token); err != nil {
				return err
			}
			st.Attempt = &Attempt{Owner: owner, Token: token, Status: AttemptRunning, LeaseUntil: fromUS(until), UpdatedAt: fromUS(now)}
			if err := b.notify(ctx, tx, key); err != nil {
				return err
			}
		}
		owned = true
		return nil
	})
	if err != nil {
		return Claim{}, err
	}
	return Claim{Owned: owned, State: st}, nil
}

func (b *pgBackend) renew(ctx context.Context, key, owner string, lease time.Duration) (State, error) {
	return b.tx(ctx, key, func(tx pgx.Tx, st *State, now int64) error {
		if st.Output != nil {
			return ErrCompleted
		}
		a := st.Attempt
		if a == nil || a.Owner != owner || a.Status != AttemptRunning {
			return ErrNotOwner
		}
		until := now + lease.Microseconds()
		if _, err := tx.Exec(ctx, `UPDATE `+b.schema+`.attempts SET lease_until = $2, updated_at = $3 WHERE key_hash = $1`, checksum([]byte(key)), until, now); err != nil {
			return err
		}
		a.LeaseUntil, a.UpdatedAt = fromUS(until), fromUS(now)
		return nil
	})
}

func (b *pgBackend) complete(ctx context.Context, key, owner string, data []byte, retention time.Duration) (State, bool, error) {
	stored := false
	st, err := b.tx(ctx, key, func(tx pgx.Tx, st *State, now int64) error {
		if st.Output != nil {
			return nil
		}
		expires := now + retention.Microseconds()
		if _, err := tx.Exec(ctx, `INSERT INTO `+b.schema+`.outputs (key_hash, key, data, sha256, owner, completed_at, expires_at) VALUES ($1, $6, $2, $7, $3, $4, $5)
			ON CONFLICT (key_hash) DO UPDATE SET data = excluded.data, sha256 = excluded.sha256, owner = excluded.owner, completed_at = excluded.completed_at, expires_at = excluded.expires_at`,
			checksum([]byte(key)), data, []byte(owner), now, expires, []byte(key), checksum(data)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+b.schema+`.attempts WHERE key_hash = $1`, checksum([]byte(key))); err != nil {
			return err
		}
		if err := b.notify(ctx, tx, key); err != nil {
			return err
		}
		st.Output = &Output{Data: data, Owner: owner, CompletedAt: fromUS(now), ExpiresAt: fromUS(expires)}
		st.Attempt = nil
		stored = true
		return nil
	})
	if err != nil {
		return State{}, false, err
	}
	return st, stored, nil
}

func (b *pgBackend) fail(ctx context.Context, key, owner, msg string) (State, error) {
	return b.tx(ctx, key, func(tx pgx.Tx, st *State, now int64) error {
		if st.Output != nil {
			return ErrCompleted
		}
		a := st.Attempt
		if a != nil && a.Owner == owner && a.Status == AttemptFailed && a.Error == msg {
			return nil
		}
		if a == nil || a.Owner != owner || a.Status != AttemptRunning {
			return ErrNotOwner
		}
		if _, err := tx.Exec(ctx, `UPDATE `+b.schema+`.attempts SET status = 'failed', error = $2, updated_at = $3 WHERE key_hash = $1`, checksum([]byte(key)), []byte(msg), now); err != nil {
			return err
		}
		a.Status, a.Error, a.UpdatedAt = AttemptFailed, msg, fromUS(now)
		return b.notify(ctx, tx, key)
	})
}

func (b *pgBackend) inspect(ctx context.Context, key string) (State, error) {
	st, _, err := b.readState(ctx, b.pool, key)
	return st, err
}

func (b *pgBackend) forget(ctx context.Context, key string) (State, error) {
	return b.tx(ctx, key, func(tx pgx.Tx, st *State, now int64) error {
		if _, err := tx.Exec(ctx, `DELETE FROM `+b.schema+`.attempts WHERE key_hash = $1`, checksum([]byte(key))); err != nil {
			return err
		}
		st.Attempt = nil
		return b.notify(ctx, tx, key)
	})
}

func (b *pgBackend) recreate(ctx context.Context, key, owner string, lease time.Duration) (State, error) {
	return b.tx(ctx, key, func(tx pgx.Tx, st *State, now int64) error {
		until := now + lease.Microseconds()
		var token int64
		if err := tx.QueryRow(ctx, `INSERT INTO `+b.schema+`.attempts (key_hash, key, owner, token, status, error, lease_until, updated_at)
			VALUES ($1, $5, $2, nextval('`+strings.Trim(b.schema, `"`)+`.tokens'), 'running', '', $3, $4)
			ON CONFLICT (key_hash) DO UPDATE SET owner = excluded.owner, token = excluded.token, status = 'running', error = '',
				lease_until = excluded.lease_until, updated_at = excluded.updated_at
			RETURNING token`, checksum([]byte(key)), []byte(owner), until, now, []byte(key)).Scan(&token); err != nil {
			return err
		}
		st.Attempt = &Attempt{Owner: owner, Token: token, Status: AttemptRunning, LeaseUntil: fromUS(until), UpdatedAt: fromUS(now)}
		return b.notify(ctx, tx, key)
	})
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
	backoff := 5 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, b.connCfg)
		if err == nil {
			_, err = conn.Exec(ctx, `LISTEN `+pgx.Identifier{b.channel}.Sanitize())
		}
		if err == nil {
			if !first {
				b.logf("ledger: postgres listener reconnected")
			}
			changed(nil) // whatever changed while not listening
			first = false
			backoff = 5 * time.Millisecond
			err = b.listen(ctx, conn, changed)
		}
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(cctx)
			cancel()
		}
		if ctx.Err() != nil {
			return
		}
		b.logf("ledger: postgres listener: %v; reconnecting in %s", err, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

func (b *pgBackend) listen(ctx context.Context, conn *pgx.Conn, changed func([]string)) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		key, err := hex.DecodeString(n.Payload)
		if n.Payload == "" || err != nil {
			changed(nil)
			continue
		}
		changed([]string{string(key)})
	}
}
