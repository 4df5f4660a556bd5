package ledgersuite

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// driverEnv makes the test binary act as `readiness ledger driver`.
const driverEnv = "READINESS_LEDGER_TEST_DRIVER"

// selfDriver is readiness's own ledger as a driver command: this test
// binary re-executed.
func selfDriver(t testing.TB, dsn string) *ledgerproto.Command {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &ledgerproto.Command{Argv: []string{exe, "--db", dsn}, Env: []string{driverEnv + "=1"}}
}

func runLogged(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg.Progress = func(o Outcome) {
		status := "PASS"
		switch {
		case o.Skipped != "":
			status = "SKIP (" + o.Skipped + ")"
		case !o.Passed:
			status = "FAIL: " + o.Error
		}
		t.Logf("%-42s %-6s %8s %s", o.Scenario, o.Mode, o.Duration.Round(time.Millisecond), status)
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// outcomes maps scenario/mode to pass, fail or skip.
func outcomes(rep *Report) map[string]string {
	m := map[string]string{}
	for _, s := range rep.Scenarios {
		v := "pass"
		switch {
		case s.Failed > 0:
			v = "fail"
		case s.Skipped > 0:
			v = "skip"
		}
		m[s.Scenario+"/"+string(s.Mode)] = v
	}
	return m
}

// The reference proof: every scenario gives the same result through
// readiness's own driver as against the ledger directly (the one
// scenario that needs the ledger's own PostgreSQL connections is not
// listed for a driver, and skipped on SQLite either way).
func TestSuiteThroughOwnDriverSQLite(t *testing.T) {
	t.Parallel()
	dsn := "sqlite://" + t.TempDir() + "/ledger.db"
	direct := runLogged(t, Config{DSN: dsn, Worker: testWorker(t), Processes: 3})
	through := runLogged(t, Config{Driver: selfDriver(t, dsn), Processes: 3})
	want, got := outcomes(direct), outcomes(through)
	for id, w := range want {
		if strings.HasPrefix(id, "store-fault/connection-killed/") {
			if _, listed := got[id]; listed {
				t.Errorf("%s is listed for a driver", id)
			}
			continue
		}
		if got[id] != w {
			t.Errorf("%s: direct %s, through the driver %s", id, w, got[id])
		}
	}
	if len(got) != len(want)-2 {
		t.Errorf("direct ran %d scenario×modes, the driver %d (want all but connection-killed's two)", len(want), len(got))
	}
	for _, s := range through.Scenarios {
		if s.Failed > 0 {
			t.Errorf("%s [%s] through the driver: %s", s.Scenario, s.Mode, strings.Join(s.Failures, " | "))
		}
	}
	res := Evaluate(through)
	if res.Status != checks.StatusPass || len(res.Findings) != 0 {
		t.Errorf("the reference driver must pass with no finding (connection-killed is not listed), got %s %+v", res.Status, res.Findings)
	}
	info, ok := res.Facts["ledger_driver"].(*DriverInfo)
	if !ok || info.Protocol != ledgerproto.Version || !info.Handshake.Durable || len(info.Command) != 3 {
		t.Errorf("evidence must record the driver command, protocol and handshake, got %#v", res.Facts["ledger_driver"])
	}
}
