package ledger_test

import (
	"strings"
	"testing"
)

// TestLedgerDriverHelp: ledger driver --help prints the command's help
// and exits 0 (it printed Go flag usage and exited 2).
func TestLedgerDriverHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		r := run(t, nil, "ledger", "driver", arg)
		if r.code != 0 || !strings.Contains(r.stdout, "--db DSN") || strings.Contains(r.stderr, "Usage of") {
			t.Errorf("ledger driver %s: exit %d\nstdout: %s\nstderr: %s", arg, r.code, r.stdout, r.stderr)
		}
	}
}

// A ledger driver that cannot be started or speaks another protocol is a
// usage error (exit 2) naming the driver and what it did, never a pass.
// The sh drivers are fakes that exist only to misbehave on demand.
func TestLedgerTestDriverBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"no command", []string{"ledger", "test", "--driver"}, []string{"--driver needs the driver command after --"}},
		{"command without --driver", []string{"ledger", "test", "--", "python3", "x.py"}, []string{"needs --driver"}},
		{"bad --driver-env", []string{"ledger", "test", "--driver", "--driver-env", "NOEQUALS", "--", "true"}, []string{"want KEY=VALUE"}},
		{"driver missing", []string{"ledger", "test", "--driver", "--", "/nonexistent/ledger-driver"}, []string{`ledger driver "/nonexistent/ledger-driver"`, "exited before its handshake"}},
		{"driver exits", []string{"ledger", "test", "--driver", "--", "/bin/sh", "-c", "echo 'no such table: inflight' >&2; exit 4"},
			[]string{"exited before its handshake", "status 4", "no such table: inflight"}},
		{"wrong protocol", []string{"ledger", "bench", "--driver", "--", "/bin/sh", "-c", `read l; echo '{"type":"init_ok","protocol":9,"ops":["claim","complete","fail","wait"]}'; sleep 5`},
			[]string{"protocol version 9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, tc.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
		})
	}
}

// TestLedgerTestMaxConns: a connection budget too small for the worker
// processes is a usage error before anything connects.
func TestLedgerTestMaxConns(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"too small", []string{"ledger", "test", "--db", "postgres://u@127.0.0.1:1/x?sslmode=disable", "--max-conns", "10"}, "too small for 4 worker processes"},
		{"not positive", []string{"ledger", "test", "--max-conns", "0"}, "--max-conns must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}
