package ledger_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ledgerEnv points the ledger commands at a fresh SQLite file.
func ledgerEnv(t *testing.T) map[string]string {
	return map[string]string{"READINESS_LEDGER_DSN": "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "ledger.db"))}
}

// TestLedgerReviewBugByHand replays the review's sequence with the shell
// commands the docs give: the waiter gets the output, the new owner's
// claim reports it, the failure is refused.
func TestLedgerReviewBugByHand(t *testing.T) {
	env := ledgerEnv(t)
	steps := []struct {
		args   []string
		code   int
		stdout string // substring; exact when prefixed with =
		stderr string
	}{
		{args: []string{"ledger", "claim", "prompt-42", "--owner", "router-a", "--lease", "30s"}, stdout: `owner: router-a owns "prompt-42"`},
		{args: []string{"ledger", "claim", "prompt-42", "--owner", "router-b"}, code: 1, stderr: `"prompt-42" is running: claimed by router-a`},
		{args: []string{"ledger", "complete", "prompt-42", "--owner", "router-a", "--output", "the answer"}, stdout: `stored: "prompt-42" completed by router-a (10 bytes`},
		{args: []string{"ledger", "claim", "prompt-42", "--owner", "router-restarted"}, code: 1, stdout: "=the answer", stderr: "already has an output"},
		{args: []string{"ledger", "fail", "prompt-42", "--owner", "router-restarted", "--error", "new owner failed"}, code: 1, stderr: "the failure was not recorded and waiters get the output"},
		{args: []string{"ledger", "wait", "prompt-42", "--timeout", "2s"}, stdout: "=the answer"},
		{args: []string{"ledger", "complete", "prompt-42", "--owner", "router-b", "--output", "another"}, stdout: `kept: "prompt-42" already had an output`},
		{args: []string{"ledger", "inspect", "prompt-42"}, stdout: "state:    completed"},
	}
	for _, s := range steps {
		r := run(t, env, s.args...)
		what := strings.Join(s.args, " ")
		if r.code != s.code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, s.code, r.stdout, r.stderr)
		}
		if exact, ok := strings.CutPrefix(s.stdout, "="); ok {
			if r.stdout != exact {
				t.Errorf("%s: stdout %q, want %q", what, r.stdout, exact)
			}
		} else if !strings.Contains(r.stdout, s.stdout) {
			t.Errorf("%s: stdout %q, want it to contain %q", what, r.stdout, s.stdout)
		}
		if !strings.Contains(r.stderr, s.stderr) {
			t.Errorf("%s: stderr %q, want it to contain %q", what, r.stderr, s.stderr)
		}
	}
}

func TestLedgerFailAndWait(t *testing.T) {
	env := ledgerEnv(t)
	if r := run(t, env, "ledger", "claim", "k", "--owner", "a"); r.code != 0 {
		t.Fatalf("claim: %+v", r)
	}
	if r := run(t, env, "ledger", "fail", "k", "--owner", "b", "--error", "x"); r.code != 1 || !strings.Contains(r.stderr, "does not hold the running attempt") {
		t.Fatalf("fail by a non-owner: %+v", r)
	}
	if r := run(t, env, "ledger", "fail", "k", "--owner", "a", "--error", "upstream 503"); r.code != 0 {
		t.Fatalf("fail: %+v", r)
	}
	r := run(t, env, "ledger", "wait", "k", "--timeout", "5s")
	if r.code != 1 || !strings.Contains(r.stderr, "generation by a failed: upstream 503") {
		t.Fatalf("wait on a failed key: %+v", r)
	}
	r = run(t, env, "ledger", "wait", "other", "--timeout", "200ms", "--json")
	if r.code != 1 || !strings.Contains(r.stderr, `wait for key "other" timed out after `) || !strings.Contains(r.stderr, "last state: absent") {
		t.Fatalf("wait timeout: %+v", r)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["timeout"] == nil {
		t.Fatalf("wait --json timeout document: %v %s", err, r.stdout)
	}
}

func TestLedgerOutputFileAndJSON(t *testing.T) {
	env := ledgerEnv(t)
	f := filepath.Join(t.TempDir(), "out.bin")
	if err := os.WriteFile(f, []byte("line 1\nline 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// complete never creates a ledger (issue 15): a claim makes it.
	if r := run(t, env, "ledger", "claim", "k", "--owner", "a"); r.code != 0 {
		t.Fatalf("claim: %+v", r)
	}
	if r := run(t, env, "ledger", "complete", "k", "--owner", "a", "--output-file", f, "--json"); r.code != 0 || !strings.Contains(r.stdout, `"stored": true`) {
		t.Fatalf("complete --output-file: %+v", r)
	}
	if r := run(t, env, "ledger", "wait", "k"); r.stdout != "line 1\nline 2\n" {
		t.Fatalf("wait printed %q", r.stdout)
	}
	r := run(t, env, "ledger", "wait", "k", "--json")
	var res struct {
		Output []byte `json:"output"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || string(res.Output) != "line 1\nline 2\n" {
		t.Fatalf("wait --json: %v %s", err, r.stdout)
	}
	if r := run(t, env, "ledger", "complete", "e", "--owner", "a", "--output", ""); r.code != 0 {
		t.Fatalf("an empty --output is an output: %+v", r)
	}
	if r := run(t, env, "ledger", "wait", "e", "--timeout", "1s"); r.code != 0 || r.stdout != "" {
		t.Fatalf("wait for an empty output: %+v", r)
	}
}

func TestLedgerUsageErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"ledger", "inspect", "k"}, "no ledger: pass --db DSN or set READINESS_LEDGER_DSN"},
		{nil, []string{"ledger", "inspect", "k", "--db", "mysql://x"}, `--db: bad ledger DSN "mysql://x"`},
		{ledgerEnv(t), []string{"ledger", "claim", "k"}, "--owner is required"},
		{ledgerEnv(t), []string{"ledger", "complete", "k", "--owner", "a"}, "give exactly one of --output and --output-file"},
		{ledgerEnv(t), []string{"ledger", "wait", "k", "--timeout", "0s"}, "--timeout must be positive"},
		{nil, []string{"ledger", "test", "--run", "("}, "--run: error parsing regexp"},
		{nil, []string{"ledger", "test", "--modes", "threads"}, `--modes: "threads" is not inproc or procs`},
	}
	for _, tt := range tests {
		r := run(t, tt.env, tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
		}
	}
}

// TestLedgerTestCommand runs `readiness ledger test` in-process, with this
// test binary re-executed as the worker processes (TestMain).
func TestLedgerTestCommand(t *testing.T) {
	t.Setenv("READINESS_CLI_TEST_MAIN", "1") // inherited by the worker processes
	start := time.Now()
	r := run(t, nil, "ledger", "test", "--run", "review-restart|owner-killed-after", "--repeat", "2", "--processes", "2")
	if r.code != 0 {
		t.Fatalf("ledger test: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"SCENARIO", "lost-output/review-restart", "procs", "inproc", "LEDGER-LOST-OUTPUT", "PASS: 8 runs on sqlite"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	t.Logf("ledger test took %s", time.Since(start))
}
