package ledger

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool lets the Ledger handles of one process share their PostgreSQL
// connections: one connection pool and one LISTEN connection per store,
// however many handles are open. A server shared with a team's
// applications has a connection limit (max_connections, often 100); a
// process that opens a handle per router it plays (the regression suite)
// would otherwise cost a pool and a listener per handle. Handles sharing
// a Pool still behave as separate routers: each has its own owner IDs,
// its own waiters, and learns of the others' writes from the store's
// notifications, never from each other directly.
//
// SQLite handles ignore the Pool. Close it after every handle using it.
type Pool struct {
	name     string
	maxConns int32
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	stores   map[string]*pgShared
	closed   bool
}

// NewPool returns a Pool whose connections carry application_name
// "readiness-ledger:"+name and which opens at most maxConns pooled
// connections per store (at least 1), plus one LISTEN connection.
func NewPool(name string, maxConns int) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{name: name, maxConns: int32(max(1, maxConns)), ctx: ctx, cancel: cancel, stores: map[string]*pgShared{}}
}

// AppName is the application_name of the Pool's connections.
func (p *Pool) AppName() string { return appName(p.name) }

// Connections is how many server connections the Pool may hold per
// store: its pooled connections and its listener.
func (p *Pool) Connections() int { return int(p.maxConns) + 1 }

// Close stops the listeners and closes the pooled connections.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	stores := p.stores
	p.stores = nil
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	for _, s := range stores {
		s.pool.Close()
	}
}

// appName is the application_name of a handle's or pool's connections
// (PostgreSQL keeps 63 bytes of it).
func appName(name string) string {
	app := "readiness-ledger:" + name
	if len(app) > 63 {
		app = app[:63]
	}
	return app
}

// store returns the shared connections of one store (connection string
// and schema), creating them on first use.
func (p *Pool) store(ctx context.Context, d DSN, cfg *pgxpool.Config, logf func(string, ...any)) (*pgShared, error) {
	id := d.Conn + "\x00" + d.Schema
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: the connection pool is closed", ErrUnavailable)
	}
	if s := p.stores[id]; s != nil {
		return s, nil
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = p.AppName()
	cfg.MaxConns = p.maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", d, err)
	}
	s := &pgShared{pool: pool, connCfg: cfg.ConnConfig.Copy(), channel: "readiness_ledger_" + d.Schema, logf: logf, subs: map[*pgSub]struct{}{}}
	p.stores[id] = s
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		s.listen(p.ctx)
	}()
	return s, nil
}

// pgShared is one store's shared pool and listener.
type pgShared struct {
	pool    *pgxpool.Pool
	connCfg *pgx.ConnConfig
	channel string
	logf    func(string, ...any)
	mu      sync.Mutex
	subs    map[*pgSub]struct{}
}

// pgSub is one handle's interest in the store's notifications.
type pgSub struct {
	origin  string
	changed func([]string)
}

// subscribe registers a handle's change callback until ctx ends. The
// caller refreshes its watched keys once after subscribing: a commit
// whose notification arrived before the subscription is then still seen.
func (s *pgShared) subscribe(origin string, changed func([]string)) func() {
	sub := &pgSub{origin: origin, changed: changed}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}
}

func (s *pgShared) snapshot() []*pgSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*pgSub, 0, len(s.subs))
	for sub := range s.subs {
		out = append(out, sub)
	}
	return out
}

// listen keeps one LISTEN connection for every handle of the store,
// reconnecting with backoff; after each (re)connection every handle
// re-reads its watched keys, since notifications sent meanwhile are lost.
func (s *pgShared) listen(ctx context.Context) {
	listenLoop(ctx, s.connCfg, s.channel, s.logf, "shared postgres listener", func() {
		for _, sub := range s.snapshot() {
			sub.changed(nil)
		}
	}, s.dispatch)
}

// listenLoop keeps one LISTEN connection on channel, reconnecting with
// backoff (5 ms, doubling to 1 s) until ctx ends: connected runs after each
// (re)connection, since notifications sent meanwhile are lost, and serve
// reads the connection until it fails.
func listenLoop(ctx context.Context, cfg *pgx.ConnConfig, channel string, logf func(string, ...any), what string,
	connected func(), serve func(context.Context, *pgx.Conn) error) {
	backoff := 5 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_, err = conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize())
		}
		if err == nil {
			if !first {
				logf("ledger: %s reconnected", what)
			}
			first = false
			connected()
			backoff = 5 * time.Millisecond
			err = serve(ctx, conn)
		}
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(cctx)
			cancel()
		}
		if ctx.Err() != nil {
			return
		}
		logf("ledger: %s: %v; reconnecting in %s", what, err, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// dispatch hands each notification to every handle but the one that
// wrote it (which told its own waiters already).
func (s *pgShared) dispatch(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		origin, hexKey, found := strings.Cut(n.Payload, ":")
		if !found {
			hexKey, origin = origin, ""
		}
		key, kerr := hex.DecodeString(hexKey)
		for _, sub := range s.snapshot() {
			switch {
			case origin != "" && origin == sub.origin:
			case n.Payload == "" || kerr != nil:
				sub.changed(nil)
			default:
				sub.changed([]string{string(key)})
			}
		}
	}
}
