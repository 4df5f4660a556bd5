package ledger

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestReadersCreateNothing: opening a store that holds no ledger to read
// it (ReadOnly: ledger inspect, wait) or to complete a claim made
// elsewhere (MustExist) fails with ErrNoLedger and creates nothing, on
// both stores. PostgreSQL used to create the schema and its tables.
func TestReadersCreateNothing(t *testing.T) {
	for _, o := range []struct {
		name string
		opts Options
	}{
		{"read-only", Options{ReadOnly: true, MustExist: true}},
		{"must-exist", Options{MustExist: true}},
	} {
		t.Run(o.name, func(t *testing.T) {
			forStores(t, func(t *testing.T, dsn string) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				l, err := Open(ctx, dsn, o.opts)
				if err == nil {
					l.Close()
					t.Fatal("opening a missing ledger succeeded")
				}
				if !errors.Is(err, ErrNoLedger) {
					t.Fatalf("err = %v, want ErrNoLedger", err)
				}
				if exists(t, dsn) {
					t.Fatalf("opening a missing ledger %s created it", dsn)
				}
				w, err := Open(ctx, dsn, Options{})
				if err != nil {
					t.Fatal(err)
				}
				w.Close()
				r, err := Open(ctx, dsn, o.opts)
				if err != nil {
					t.Fatalf("opening an existing ledger: %v", err)
				}
				if _, err := r.Inspect(ctx, "k"); err != nil {
					t.Errorf("inspect: %v", err)
				}
				r.Close()
			})
		})
	}
}

// exists reports whether the ledger's file (SQLite) or schema
// (PostgreSQL) exists.
func exists(t *testing.T, dsn string) bool {
	t.Helper()
	d, err := ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if d.Driver == DriverSQLite {
		_, err := os.Stat(d.Path)
		return err == nil
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, d.Schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
