package gate_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/securitykey"
	"github.com/readiness-dev/readiness/internal/checks/testsuite"
	"github.com/readiness-dev/readiness/internal/checks/workflow"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/gate"
	"github.com/readiness-dev/readiness/internal/cli/root"
	"github.com/readiness-dev/readiness/internal/config"
)

// TestNewCmdSettings: a gate command's flags and arguments become `with:`
// settings, only when given; paths become absolute.
func TestNewCmdSettings(t *testing.T) {
	cwd, _ := filepath.Abs(".")
	for _, tc := range []struct {
		name     string
		gate     checks.Gate
		args     []string
		want     map[string]any
		wantCode int // exit code of a rejected command line; 0 when accepted
	}{
		{name: "tests: defaults", gate: testsuite.Gate(), want: map[string]any{}},
		{
			name: "tests: everything", gate: testsuite.Gate(),
			args: []string{"--config", "ci.yaml", "--suite", "go", "--suite", "py", "--repeat", "5", "--log-dir", "logs", "--policy", "pol", "--format", "json", "--output", filepath.Join(t.TempDir(), "e.json")},
			want: map[string]any{"only": []string{"go", "py"}, "repeat": 5, "log_dir": filepath.Join(cwd, "logs")},
		},
		{name: "tests: unknown format", gate: testsuite.Gate(), args: []string{"--format", "yaml"}, wantCode: cli.ExitUsage},
		{name: "tests: stray argument", gate: testsuite.Gate(), args: []string{"go"}, wantCode: cli.ExitUsage},
		{name: "tests: bad number", gate: testsuite.Gate(), args: []string{"--repeat", "x"}, wantCode: cli.ExitUsage},
		{
			name: "key: file and windows", gate: securitykey.Gate(),
			args: []string{"k.asc", "--security-txt", "none", "--expiry-fail", "60d", "--security-md", "S.md"},
			want: map[string]any{"key": filepath.Join(cwd, "k.asc"), "security_txt": "none", "expiry_fail": "1440h0m0s", "security_md": filepath.Join(cwd, "S.md")},
		},
		{name: "key: bad duration", gate: securitykey.Gate(), args: []string{"--expiry-fail", "soon"}, wantCode: cli.ExitUsage},
		{name: "key: two files", gate: securitykey.Gate(), args: []string{"a", "b"}, wantCode: cli.ExitUsage},
		{
			name: "workflow: flags", gate: workflow.Gate(), args: []string{"--actionlint=false", "--max-file-bytes", "1MiB"},
			want: map[string]any{"actionlint": false, "max_file_bytes": int64(1 << 20)},
		},
		{name: "workflow: missing target", gate: workflow.Gate(), args: []string{"no/such/dir"}, wantCode: cli.ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			io, _, _ := cli.Test()
			app := root.NewApp(io)
			var got *gate.Options
			cmd := gate.NewCmd(app, tc.gate, func(_ context.Context, o *gate.Options) error {
				got = o
				return nil
			})
			top := &cobra.Command{Use: "readiness", SilenceErrors: true, SilenceUsage: true}
			top.AddCommand(cmd)
			top.SetArgs(append([]string{cmd.Name()}, tc.args...))
			top.SetOut(io.Out)
			top.SetErr(io.ErrOut)
			err := top.Execute()
			if tc.wantCode != 0 {
				if err == nil {
					t.Fatalf("accepted, want exit %d", tc.wantCode)
				}
				var ee *cli.ExitError
				if errors.As(err, &ee) && ee.Code != tc.wantCode {
					t.Fatalf("exit %d (%v), want %d", ee.Code, err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Set); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

func runCLI(t *testing.T, app *cli.App, args ...string) int {
	t.Helper()
	return cli.Run(context.Background(), app, args)
}

func testsConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "readiness.yaml")
	if err := os.WriteFile(path, []byte("version: 1\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTestsRun runs a real `go test -json` through `readiness tests run`:
// one suite passes (GO), the other is flaky over two runs (NO-GO, with the
// flake in the evidence).
func TestTestsRun(t *testing.T) {
	gomod, err := filepath.Abs(filepath.Join("..", "..", "checks", "testsuite", "testdata", "gomod"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cfg := testsConfig(t, `checks:
  - name: tests
    with:
      log_dir: `+filepath.Join(tmp, "logs")+`
      suites:
        - name: fast
          command: [go, test, -json, -count=1, -run, TestWaitForInflight, ./ledger/]
          dir: `+gomod+`
          env: {GOFLAGS: "", GOWORK: "off", GOTOOLCHAIN: local}
          report: {format: go-test-json}
          required: [TestWaitForInflightPreservesCompletedOutputAfterRestart]
        - name: flaky
          command: [go, test, -json, -count=1, -run, TestFlakyCounter, ./ledger/]
          dir: `+gomod+`
          env: {GOFLAGS: "", GOWORK: "off", GOTOOLCHAIN: local, GOMOD_FLAKY_COUNTER: `+filepath.Join(tmp, "counter")+`}
          report: {format: go-test-json}
`)
	io, out, errOut := cli.Test()
	if code := runCLI(t, root.NewApp(io), "tests", "run", "--config", cfg, "--suite", "fast"); code != cli.ExitGO {
		t.Fatalf("exit %d, want 0 (GO)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out.String(), "GO") {
		t.Errorf("no GO verdict in:\n%s", out)
	}

	io, out, errOut = cli.Test()
	evidence := filepath.Join(tmp, "evidence.json")
	if code := runCLI(t, root.NewApp(io), "tests", "run", "--config", cfg, "--suite", "flaky", "--repeat", "2", "--format", "json", "--output", evidence); code != cli.ExitNOGO {
		t.Fatalf("exit %d, want 1 (NO-GO)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	data, err := os.ReadFile(evidence)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Checks []checks.Result `json:"checks"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range doc.Checks[0].Findings {
		ids = append(ids, f.ID)
	}
	if diff := cmp.Diff([]string{"TESTS-FLAKY/flaky/example.com/gomod/ledger/TestFlakyCounter"}, ids); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	suites := doc.Checks[0].Facts["suites"].([]any)
	if len(suites) != 1 || suites[0].(map[string]any)["name"] != "flaky" || suites[0].(map[string]any)["repeat"].(float64) != 2 {
		t.Errorf("--suite/--repeat not applied: %v", suites)
	}
}

func TestTestsRunUsageErrors(t *testing.T) {
	other := checks.Gate{Type: "other", New: func(checks.Env, config.CheckSpec) (checks.Check, error) {
		return checks.CheckFunc(func(context.Context) (checks.Result, error) { return checks.Result{}, nil }), nil
	}}
	withTests := testsConfig(t, `checks:
  - name: tests
    with:
      suites:
        - {name: go, command: [go, test], report: {format: go-test-json}}
`)
	for _, tc := range []struct {
		name    string
		cfg     string
		args    []string
		wantErr string
	}{
		{"no tests check", testsConfig(t, "checks:\n  - name: other\n"), nil, `has no check of type "tests"`},
		{"unknown suite", withTests, []string{"--suite", "py"}, "--suite py: no such suite in"},
		{"bad with block", testsConfig(t, "checks:\n  - name: tests\n    with:\n      suites:\n        - {name: go, command: [go], report: {format: nunit}}\n"), nil, `readiness.yaml:3: check "tests": suite "go": report.format "nunit"`},
		{"missing config", filepath.Join(t.TempDir(), "none.yaml"), nil, "config file not found"},
		{"negative repeat", withTests, []string{"--repeat", "-1"}, `check "tests": --repeat must be between 1 and 100`},
		{"repeat too high", withTests, []string{"--repeat", "101"}, "--repeat must be between 1 and 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			io, _, errOut := cli.Test()
			app := root.NewApp(io)
			gates := append(app.Gates(), other)
			app.Gates = func() []checks.Gate { return gates }
			args := append([]string{"tests", "run", "--config", tc.cfg}, tc.args...)
			if code := runCLI(t, app, args...); code != cli.ExitUsage {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.wantErr)
			}
		})
	}
}

// A gate command whose Select picks no check is a usage error: an empty
// selection would otherwise run every configured check, of every type.
func TestSelectPickingNothingRunsNothing(t *testing.T) {
	ran := false
	pick := checks.Gate{Type: "picky", New: func(checks.Env, config.CheckSpec) (checks.Check, error) {
		return checks.CheckFunc(func(context.Context) (checks.Result, error) { ran = true; return checks.Result{}, nil }), nil
	}, Command: &checks.Command{Group: "picky", Use: "run", AllOfType: true,
		Select: func(checks.Env, []config.CheckSpec, map[string]any) ([]string, error) { return nil, nil }}}
	cfg := testsConfig(t, "checks:\n  - name: p\n    type: picky\n")
	io, _, errOut := cli.Test()
	app := root.NewApp(io)
	gates := append(app.Gates(), pick)
	app.Gates = func() []checks.Gate { return gates }
	if code := runCLI(t, app, "picky", "run", "--config", cfg); code != cli.ExitUsage {
		t.Fatalf("exit %d, want 2; stderr: %s", code, errOut)
	}
	if ran || !strings.Contains(errOut.String(), "picks none of the picky checks") {
		t.Errorf("ran=%v, stderr %q", ran, errOut)
	}
}
