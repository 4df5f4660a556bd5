package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

func Test_NewCmdTestsRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		want     testsRunOptions
		wantCode int // exit code of a rejected command line; 0 when accepted
	}{
		{
			name: "defaults",
			want: testsRunOptions{ConfigPath: "", Render: RenderOptions{Format: "text"}},
		},
		{
			name: "everything",
			args: []string{"--config", "ci.yaml", "--suite", "go", "--suite", "py", "--repeat", "5", "--log-dir", "logs", "--policy", "pol", "--format", "json", "--output", filepath.Join(t.TempDir(), "e.json")},
			want: testsRunOptions{ConfigPath: "ci.yaml", Suites: []string{"go", "py"}, Repeat: 5, LogDir: "logs", Policy: PolicyOptions{Dirs: []string{"pol"}}, Render: RenderOptions{Format: "json"}},
		},
		{name: "negative repeat", args: []string{"--repeat", "-1"}, wantCode: ExitUsage},
		{name: "repeat too high", args: []string{"--repeat", "101"}, wantCode: ExitUsage},
		{name: "unknown format", args: []string{"--format", "yaml"}, wantCode: ExitUsage},
		{name: "stray argument", args: []string{"go"}, wantCode: ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			io, _, _ := Test()
			app := NewApp(io)
			var got *testsRunOptions
			cmd := newTestsRunCmd(app, func(_ context.Context, o *testsRunOptions) error {
				got = o
				return nil
			})
			cmd.SetArgs(tc.args)
			cmd.SetOut(io.Out)
			cmd.SetErr(io.ErrOut)
			err := cmd.Execute()
			if tc.wantCode != 0 {
				if code := app.exitCode(err); code != tc.wantCode {
					t.Fatalf("exit %d (%v), want %d", code, err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Render.Outputs = nil // a temporary path
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func runCLI(t *testing.T, app *App, args ...string) int {
	t.Helper()
	root := NewRootCmd(app)
	root.SetArgs(args)
	return app.exitCode(root.ExecuteContext(context.Background()))
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
	gomod, err := filepath.Abs(filepath.Join("..", "checks", "testsuite", "testdata", "gomod"))
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
	io, out, errOut := Test()
	if code := runCLI(t, NewApp(io), "tests", "run", "--config", cfg, "--suite", "fast"); code != ExitGO {
		t.Fatalf("exit %d, want 0 (GO)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out.String(), "GO") {
		t.Errorf("no GO verdict in:\n%s", out)
	}

	io, out, errOut = Test()
	evidence := filepath.Join(tmp, "evidence.json")
	if code := runCLI(t, NewApp(io), "tests", "run", "--config", cfg, "--suite", "flaky", "--repeat", "2", "--format", "json", "--output", evidence); code != ExitNOGO {
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			io, _, errOut := Test()
			app := NewApp(io)
			gates := append(app.Gates(), other)
			app.Gates = func() []checks.Gate { return gates }
			args := append([]string{"tests", "run", "--config", tc.cfg}, tc.args...)
			if code := runCLI(t, app, args...); code != ExitUsage {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.wantErr)
			}
		})
	}
}
