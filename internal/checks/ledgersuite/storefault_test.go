package ledgersuite

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// limitedRoleDSN returns dsn logging in as a new role that may hold at
// most limit connections (CONNECTION LIMIT): the server refuses the rest
// with "too many connections" (SQLSTATE 53300), as a server whose
// connections are used up does. The role and its schema are dropped at
// the end.
func limitedRoleDSN(t *testing.T, dsn string, limit int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := ledger.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	role := "ledger_limited_" + nonce()
	var db string
	if err := admin.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN NOSUPERUSER CONNECTION LIMIT ` + strconv.Itoa(limit),
		`GRANT CREATE, CONNECT ON DATABASE ` + pgx.Identifier{db}.Sanitize() + ` TO ` + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, d.Conn)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer conn.Close(ctx)
		for _, q := range []string{`DROP OWNED BY ` + role + ` CASCADE`, `DROP ROLE ` + role} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	return u.String()
}

// TestStoreFaultTooManyClients runs the review's scenario across worker
// processes on a server that refuses the workers' connections: the run
// must be LEDGER-STORE-FAULT naming the refusal, with no verdict about the
// ledger (before, a refused connection was reported as LEDGER-LOST-OUTPUT).
func TestStoreFaultTooManyClients(t *testing.T) {
	t.Parallel()
	// The suite holds 2 (its pool's first connection and its listener),
	// the first worker 2: the second and third workers are refused.
	dsn := limitedRoleDSN(t, postgresDSN(t), 4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{DSN: dsn, Worker: testWorker(t), Processes: 3, Modes: []Mode{Processes},
		Run: regexp.MustCompile(`^lost-output/review-restart$`)})
	if err != nil {
		t.Fatal(err)
	}
	res := Evaluate(rep)
	if res.Status != checks.StatusError {
		t.Errorf("status = %s, want error (a store fault proves nothing)", res.Status)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("findings = %+v, want one LEDGER-STORE-FAULT", res.Findings)
	}
	f := res.Findings[0]
	if f.Rule != RuleStoreFault {
		t.Errorf("rule = %s, want %s: a refused connection is no lost output; message: %s", f.Rule, RuleStoreFault, f.Message)
	}
	for _, want := range []string{"could not open the ledger", "53300"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message does not say %q: %s", want, f.Message)
		}
	}
	if !strings.Contains(res.Error, "store failed") {
		t.Errorf("error = %q, want it to say the store failed", res.Error)
	}
}
