package ledgersuite

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// workerEnv makes the test binary act as a ledger worker process, so that
// the suite's cross-process scenarios need no separately built binary.
const workerEnv = "READINESS_LEDGER_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := WorkerMain(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(driverEnv) == "1" {
		if err := DriverMain(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "driver:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	os.Exit(m.Run())
}

// testWorker re-executes this test binary as a worker.
func testWorker(t testing.TB) Exec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Exec{Path: exe, Env: []string{workerEnv + "=1"}}
}

// postgresDSN returns the PostgreSQL DSN to test against, in a schema of
// its own that is dropped at the end, or skips (locally) / fails (CI).
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := need.PostgresDSN(t)
	schema := "ledger_test_" + strings.ToLower(nonce()) + nonce()
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	full := dsn + sep + "schema=" + schema
	t.Cleanup(func() { dropSchema(t, dsn, schema) })
	return full
}
