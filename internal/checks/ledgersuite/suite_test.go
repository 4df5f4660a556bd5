package ledgersuite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/readiness-dev/readiness/internal/ledger"
)

func dropSchema(t testing.TB, dsn, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := ledger.ParseDSN(dsn)
	if err != nil {
		t.Errorf("drop schema: %v", err)
		return
	}
	conn, err := pgx.Connect(ctx, d.Conn)
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

// runSuite runs every scenario in both modes and fails the test for each
// failing scenario, naming its rule.
func runSuite(t *testing.T, dsn string) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{DSN: dsn, Worker: testWorker(t), Processes: 3, Progress: func(o Outcome) {
		status := "PASS"
		switch {
		case o.Skipped != "":
			status = "SKIP (" + o.Skipped + ")"
		case !o.Passed:
			status = "FAIL: " + o.Error
		}
		t.Logf("%-42s %-6s %8s %s", o.Scenario, o.Mode, o.Duration.Round(time.Millisecond), status)
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Scenarios {
		if s.Failed > 0 {
			t.Errorf("%s [%s] %s: %s", s.Rule, s.Mode, s.Scenario, strings.Join(s.Failures, " | "))
		}
	}
	return rep
}

func TestSuiteSQLite(t *testing.T) {
	t.Parallel()
	rep := runSuite(t, "sqlite://"+t.TempDir()+"/ledger.db")
	for _, s := range rep.Scenarios {
		if s.Scenario == "store-fault/connection-killed" {
			if s.Skipped != s.Runs {
				t.Errorf("connection-killed must be skipped on SQLite, got %+v", s)
			}
			continue
		}
		if s.Passed != s.Runs {
			t.Errorf("%s [%s]: %d of %d passed", s.Scenario, s.Mode, s.Passed, s.Runs)
		}
	}
	fmt.Println() // keep go test's output tidy after t.Log lines
}

func TestSuitePostgres(t *testing.T) {
	t.Parallel()
	rep := runSuite(t, postgresDSN(t))
	for _, s := range rep.Scenarios {
		if s.Passed != s.Runs {
			t.Errorf("%s [%s]: %d of %d passed (skipped %d: %s)", s.Scenario, s.Mode, s.Passed, s.Runs, s.Skipped, s.Reason)
		}
	}
}
