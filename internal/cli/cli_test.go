package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/checkstest"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// TestMain lets the test binary act as the readiness CLI with the test gate
// compiled in, so subprocess tests can send real signals to a real process.
func TestMain(m *testing.M) {
	if os.Getenv("READINESS_CLI_TEST_MAIN") == "1" {
		app := root.NewApp(cli.System())
		gates := append(app.Gates(), checkstest.Gate())
		app.Gates = func() []checks.Gate { return gates }
		os.Exit(cli.MainApp(app, os.Args[1:]))
	}
	os.Exit(m.Run())
}

var fixedNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type runResult struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, dir string, env map[string]string, args ...string) runResult {
	t.Helper()
	io, out, errOut := cli.Test()
	io.Getenv = func(k string) string { return env[k] }
	app := root.NewApp(io)
	app.Now = func() time.Time { return fixedNow }
	gates := append(app.Gates(), checkstest.Gate())
	app.Gates = func() []checks.Gate { return gates }
	if dir != "" {
		t.Chdir(dir)
	}
	code := cli.Run(context.Background(), app, args)
	return runResult{code, out.String(), errOut.String()}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte("version: 1\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const goConfig = `checks:
  - name: alpha
    type: test
  - name: beta
    type: test
    with: {findings: [{severity: medium, message: "just a warning"}]}
`

const nogoConfig = `checks:
  - name: alpha
    type: test
  - name: beta
    type: test
    with: {behaviour: fail, findings: [{id: T-1, severity: high, message: "a blocker", path: src/x.go, line: 7}]}
  - name: gamma
    type: test
    with: {behaviour: panic}
`

func TestCheckExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		config     string
		args       []string
		code       int
		stdoutHas  []string
		stderrHas  []string
		stderrNot  []string
		stdoutLast string
	}{
		{name: "go", config: goConfig, code: 0, stdoutLast: "GO", stdoutHas: []string{"alpha", "beta", "[medium] TEST-FINDING: just a warning"}},
		{name: "nogo", config: nogoConfig, code: 1, stdoutLast: "NO-GO: 2 blocking findings in 2 checks",
			stdoutHas: []string{"[high] TEST-FINDING: a blocker (src/x.go:7)", "gamma could not complete: check panicked: test gate was told to panic", "fix: Change the test gate's configuration."},
			stderrNot: []string{"goroutine"}},
		{name: "only narrows", config: nogoConfig, args: []string{"--only", "alpha"}, code: 0, stdoutLast: "GO (partial: 1 of 3 configured checks ran)"},
		{name: "waiver", config: nogoConfig + "waivers:\n  - {id: T-1, check: beta, reason: known, owner: me, expires: 2026-12-31}\n", args: []string{"--only", "beta"}, code: 0, stdoutHas: []string{"Waived:", "waived by T-1: known (owner me, expires 2026-12-31)"}},
		{name: "expired waiver", config: nogoConfig + "waivers:\n  - {id: T-1, reason: known, owner: me, expires: 2026-11-01}\n", args: []string{"--only", "beta"}, code: 1,
			stdoutHas: []string{"waiver T-1 (owner me) expired on 2026-11-01"}},
		{name: "timeout", config: "timeout: 1h\nchecks:\n  - {name: slow, type: test, timeout: 50ms, with: {behaviour: hang}}\n", code: 1, stdoutHas: []string{"slow could not complete: timed out after 50ms"}},
		{name: "required skipped", config: "checks:\n  - {name: s, type: test, with: {behaviour: skip, summary: nothing to do}}\n", code: 1, stdoutHas: []string{"required check s did not run: nothing to do"}},
		{name: "optional skipped", config: "checks:\n  - {name: s, type: test, required: false, with: {behaviour: skip}}\n  - {name: t, type: test}\n", code: 0},
		{name: "only optional skipped", config: "checks:\n  - {name: s, type: test, required: false, with: {behaviour: skip}}\n", code: 1, stdoutHas: []string{"no checks ran; nothing was proved"}},
		{name: "unknown check type", config: "checks:\n  - name: sbom\n", code: 2, stderrHas: []string{`readiness.yaml:3: check "sbom": unknown check type "sbom"`}},
		{name: "bad with", config: "checks:\n  - {name: a, type: test, with: {behavior: pass}}\n", code: 2, stderrHas: []string{`readiness.yaml:3: unknown key "behavior"`}},
		{name: "unknown --only", config: goConfig, args: []string{"--only", "delta"}, code: 2, stderrHas: []string{"--only delta: no such check"}},
		{name: "unknown format", config: goConfig, args: []string{"--format", "pdf"}, code: 2, stderrHas: []string{`unknown --format "pdf"`}},
		{name: "output dir missing", config: goConfig, args: []string{"--output", "nope/out.json"}, code: 2, stderrHas: []string{"--output nope/out.json: directory nope does not exist"}},
		{name: "unknown flag", config: goConfig, args: []string{"--colour"}, code: 2, stderrHas: []string{"unknown flag: --colour"}},
		{name: "policy syntax error", config: goConfig, args: []string{"--policy", "pol"}, code: 2, stderrHas: []string{"pol/bad.rego:4: unexpected eof token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, tt.config)
			if err := os.MkdirAll(filepath.Join(dir, "pol"), 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "pol", "bad.rego"), []byte("package readiness\n\ndeny contains x if {{\n"), 0o644)
			r := run(t, dir, nil, append([]string{"check"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stdoutHas {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			for _, s := range tt.stderrNot {
				if strings.Contains(r.stderr+r.stdout, s) {
					t.Errorf("output contains %q", s)
				}
			}
			if tt.code == 2 && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("usage error is not one line:\n%s", r.stderr)
			}
			if tt.stdoutLast != "" {
				lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
				if last := lines[len(lines)-1]; last != tt.stdoutLast {
					t.Errorf("last line %q, want %q", last, tt.stdoutLast)
				}
			}
		})
	}
}

func TestMissingConfig(t *testing.T) {
	r := run(t, t.TempDir(), nil, "check")
	if r.code != 2 || !strings.Contains(r.stderr, "no readiness.yaml, .readiness.yaml, .github/readiness.yaml in") || !strings.Contains(r.stderr, "config file not found; run `readiness init`") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestEvidenceAndPolicyEval(t *testing.T) {
	dir := writeConfig(t, goConfig)
	r := run(t, dir, nil, "check", "--format", "json", "--output", "evidence.json")
	if r.code != 0 {
		t.Fatalf("check: exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != "" || !strings.Contains(r.stderr, "GO") {
		t.Errorf("with --output, stdout should be empty and stderr name the verdict: %q / %q", r.stdout, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc evidence.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != evidence.Schema || doc.Verdict.Decision != "GO" || len(doc.Checks) != 2 || doc.Config.Digest == "" {
		t.Errorf("evidence: schema %q decision %q checks %d digest %q", doc.Schema, doc.Verdict.Decision, len(doc.Checks), doc.Config.Digest)
	}

	// Re-judge with a stricter user policy: no check re-runs, verdict flips.
	os.MkdirAll(filepath.Join(dir, "strict"), 0o755)
	os.WriteFile(filepath.Join(dir, "strict", "strict.rego"), []byte(`package readiness
import rego.v1
deny contains {"msg": sprintf("%s: medium findings block here", [c.name]), "check": c.name} if {
	some c in input.checks
	some f in c.findings
	f.severity == "medium"
}
`), 0o644)
	r = run(t, dir, nil, "policy", "eval", "--input", "evidence.json", "--policy", "strict")
	if r.code != 1 || !strings.Contains(r.stdout, "beta: medium findings block here") {
		t.Errorf("policy eval: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, dir, nil, "policy", "eval", "--input", "evidence.json")
	if r.code != 0 {
		t.Errorf("policy eval with the default policy: exit %d\n%s", r.code, r.stdout)
	}

	os.WriteFile(filepath.Join(dir, "old.json"), []byte(`{"schema": "readiness.dev/evidence/v0"}`), 0o644)
	r = run(t, dir, nil, "policy", "eval", "--input", "old.json")
	if r.code != 2 || !strings.Contains(r.stderr, `old.json: evidence schema "readiness.dev/evidence/v0" is not supported`) {
		t.Errorf("old schema: exit %d stderr %q", r.code, r.stderr)
	}
	r = run(t, dir, nil, "policy", "eval")
	if r.code != 2 || !strings.Contains(r.stderr, "--input is required") {
		t.Errorf("no input: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestEveryFormat(t *testing.T) {
	dir := writeConfig(t, nogoConfig)
	for _, f := range []string{"text", "json", "markdown", "sarif", "junit"} {
		r := run(t, dir, nil, "check", "--format", f)
		if r.code != 1 || r.stdout == "" {
			t.Errorf("%s: exit %d, %d bytes", f, r.code, len(r.stdout))
		}
	}
}

func TestStepSummaryAppended(t *testing.T) {
	dir := writeConfig(t, goConfig)
	summary := filepath.Join(dir, "summary.md")
	os.WriteFile(summary, []byte("earlier step\n"), 0o644)
	r := run(t, dir, map[string]string{"GITHUB_STEP_SUMMARY": summary}, "check")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(summary)
	if !strings.HasPrefix(string(data), "earlier step\n## ✅ readiness: GO") {
		t.Errorf("summary not appended:\n%s", data)
	}
}

func TestExplain(t *testing.T) {
	r := run(t, "", nil, "explain", "check-error")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "CHECK-ERROR — A check could not complete") || !strings.Contains(r.stdout, "What to do:") {
		t.Errorf("explain: exit %d\n%s", r.code, r.stdout)
	}
	r = run(t, "", nil, "explain", "TEST-FINDING/some-id")
	if r.code != 0 || !strings.Contains(r.stdout, "TEST-FINDING") {
		t.Errorf("explain by finding ID: exit %d %s", r.code, r.stderr)
	}
	r = run(t, "", nil, "explain", "NOPE")
	if r.code != 2 || !strings.Contains(r.stderr, `no rule "NOPE"`) {
		t.Errorf("unknown rule: exit %d %q", r.code, r.stderr)
	}
	r = run(t, "", nil, "explain", "--list")
	if r.code != 0 || !strings.Contains(r.stdout, "WAIVER-EXPIRED") {
		t.Errorf("list: exit %d", r.code)
	}
}

func TestVersionAndPolicyTest(t *testing.T) {
	r := run(t, "", nil, "version", "--json")
	var info map[string]string
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &info) != nil || info["go_version"] == "" {
		t.Errorf("version: exit %d %q", r.code, r.stdout)
	}
	r = run(t, "", nil, "policy", "test")
	if r.code != 0 || !strings.Contains(r.stdout, "passed, 0 failed") {
		t.Errorf("policy test: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestSIGINTDuringSlowCheck runs the CLI as a real process, interrupts it
// while a check is still running, and expects the finished check in the
// report, the interrupted one as an error, and NO-GO.
func TestSIGINTDuringSlowCheck(t *testing.T) {
	dir := writeConfig(t, "checks:\n  - {name: fast, type: test}\n  - {name: slow, type: test, with: {behaviour: hang}}\n")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "check")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "READINESS_CLI_TEST_MAIN=1", "CI=true")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Never let a broken CLI hang the suite.
	watchdog := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	// Wait until both checks have started and fast has finished.
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		all := strings.Join(seen, "\n")
		if strings.Contains(all, "fast pass") && strings.Contains(all, "slow started") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("readiness did not exit after SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d after SIGINT, want 1 (NO-GO)", code)
	}
	out := stdout.String()
	for _, want := range []string{"fast   pass", "slow could not complete: interrupted before it finished", "the run was interrupted before every check finished"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, out, strings.Join(seen, "\n"))
		}
	}
}

var _ = checks.StatusPass
