package ledgersuite

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

const fakeHello = `{"type":"init_ok","protocol":1,"ops":["claim","complete","fail","wait"],"durable":true}`

// A driver that handshakes and then misbehaves (a fake in sh: no real
// driver dies or lies on demand) fails every run it touched under
// LEDGER-STORE-FAULT, and the check's status is error: never a pass.
func TestFakeDriverMisbehavesDuringRun(t *testing.T) {
	t.Parallel()
	for name, script := range map[string]string{
		"exits":      `read r; echo "Traceback: sqlite3.OperationalError" >&2; exit 1`,
		"non-JSON":   `read r; echo "claimed!"; sleep 30`,
		"unknown id": `read r; echo '{"id":4242,"state":"absent"}'; sleep 30`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := &ledgerproto.Command{Argv: []string{"/bin/sh", "-c", `read init; echo '` + fakeHello + `'; ` + script}}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep, err := Run(ctx, Config{Driver: cmd, Processes: 2, Run: regexp.MustCompile(`^empty-output$`)})
			if err != nil {
				t.Fatal(err)
			}
			res := Evaluate(rep)
			if res.Status != checks.StatusError || !strings.Contains(res.Error, "misbehaved") {
				t.Errorf("status %s (%s), want error", res.Status, res.Error)
			}
			n := 0
			for _, f := range res.Findings {
				if f.Rule == RuleStoreFault {
					n++
				}
			}
			if n != 2 {
				t.Errorf("want a LEDGER-STORE-FAULT finding per mode, got %+v", res.Findings)
			}
			if name == "exits" && !strings.Contains(res.Error, "sqlite3.OperationalError") {
				t.Errorf("the error must quote the driver's stderr: %s", res.Error)
			}
		})
	}
}

func TestDriverOptions(t *testing.T) {
	for _, tc := range []struct {
		o   Options
		err string
	}{
		{Options{Driver: []string{"python3", "d.py"}, Env: map[string]string{"A": "b"}}, ""},
		{Options{Driver: []string{"python3"}, DSN: "sqlite:///x.db"}, "exclude each other"},
		{Options{Driver: []string{""}}, "empty"},
		{Options{Env: map[string]string{"A": "b"}}, "only for a driver"},
		{Options{Driver: []string{"d"}, Env: map[string]string{"A=B": "b"}}, "not a valid variable"},
	} {
		err := checkDriverOptions(tc.o)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.err)
		}
	}
}

// A driver whose store fails (a fake in sh answering every request with a
// "store" error: no real disk fills on demand) is a fault, never an
// accusation: LEDGER-STORE-FAULT naming the op and the error, status
// error; it used to be reported under the scenario's own rule.
func TestFakeDriverStoreErrorsAreFaults(t *testing.T) {
	t.Parallel()
	script := `read init; echo '` + fakeHello + `'; while read r; do id=$(echo "$r" | sed 's/.*"id":\([0-9]*\).*/\1/'); ` +
		`echo '{"id":'"$id"',"error":{"kind":"store","message":"database or disk is full"}}'; done`
	cmd := &ledgerproto.Command{Argv: []string{"/bin/sh", "-c", script}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Driver: cmd, Processes: 2, Run: regexp.MustCompile(`^empty-output$`)})
	if err != nil {
		t.Fatal(err)
	}
	res := Evaluate(rep)
	if res.Status != checks.StatusError || !strings.Contains(res.Error, "disk is full") {
		t.Errorf("status %s (%s), want error naming the store's error", res.Status, res.Error)
	}
	if len(res.Findings) != 2 {
		t.Fatalf("want one finding per mode, got %+v", res.Findings)
	}
	for _, f := range res.Findings {
		if f.Rule != RuleStoreFault || !strings.Contains(f.Message, "claim") || !strings.Contains(f.Message, "disk is full") {
			t.Errorf("want LEDGER-STORE-FAULT naming the op and the error, got %s: %s", f.Rule, f.Message)
		}
	}
}
