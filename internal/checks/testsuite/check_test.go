package testsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// TestMain lets the test binary stand in for a test runner in the fault
// tests (TESTSUITE_HELPER set): it is a real process, started through
// procexec like any runner, that misbehaves on purpose.
func TestMain(m *testing.M) {
	if mode := os.Getenv("TESTSUITE_HELPER"); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

func helper(mode string) int {
	switch mode {
	case "write":
		// Print HELPER_SAY (HELPER_SAY_STDERR to stderr), copy the files HELPER_SRC (a glob) into
		// HELPER_DST (a file, or a directory when it ends in /), print
		// HELPER_STDOUT_FILE, exit HELPER_EXIT.
		// One stream at a time: the order of two pipes is not defined.
		if say := os.Getenv("HELPER_SAY"); say != "" {
			fmt.Println(say)
		}
		if say := os.Getenv("HELPER_SAY_STDERR"); say != "" {
			fmt.Fprintln(os.Stderr, say)
		}
		if src := os.Getenv("HELPER_SRC"); src != "" {
			files, _ := filepath.Glob(src)
			dst := os.Getenv("HELPER_DST")
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 99
				}
				to := dst
				if strings.HasSuffix(dst, "/") {
					_ = os.MkdirAll(dst, 0o755)
					to = filepath.Join(dst, filepath.Base(f))
				}
				if err := os.WriteFile(to, data, 0o644); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 99
				}
			}
		}
		if f := os.Getenv("HELPER_STDOUT_FILE"); f != "" {
			data, _ := os.ReadFile(f)
			os.Stdout.Write(data)
		}
		code, _ := strconv.Atoi(os.Getenv("HELPER_EXIT"))
		return code
	case "sleep":
		// Start a child that outlives us unless the whole group is killed.
		exe, _ := os.Executable()
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "TESTSUITE_HELPER=sleep-child")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 99
		}
		fmt.Println("sleeper: started child", cmd.Process.Pid)
		time.Sleep(10 * time.Minute)
		return 0
	case "sleep-child":
		writePID(os.Getenv("HELPER_PIDFILE"))
		time.Sleep(10 * time.Minute)
		return 0
	}
	return 98
}

func writePID(path string) {
	_ = os.WriteFile(path+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o644)
	_ = os.Rename(path+".tmp", path)
}

// newCheck builds a check from a `with:` block the way readiness.yaml does.
// set, a command line's settings, is laid over it as `tests run` does.
func newCheck(t *testing.T, dir, with string, set map[string]any) *Check {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(with), &node); err != nil {
		t.Fatal(err)
	}
	spec, err := config.CheckSpec{Name: "tests", Type: Type, Line: 3, With: node}.Override(set)
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromSpec(checks.Env{Dir: dir, ConfigFile: "readiness.yaml", Now: time.Now}, spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	durationRE = regexp.MustCompile(`"duration_ms": \d+`)
	goTimeRE   = regexp.MustCompile(`\((\d+\.\d+s|cached)\)|\t\d+\.\d+s`)
)

// scrub makes a result comparable with a golden file: the temporary paths
// become names, and timings zero.
func scrub(t *testing.T, res checks.Result, repl ...string) []byte {
	t.Helper()
	v := struct {
		Status   checks.Status    `json:"status"`
		Summary  string           `json:"summary"`
		Error    string           `json:"error,omitempty"`
		Findings []checks.Finding `json:"findings"`
		Facts    map[string]any   `json:"facts"`
	}{res.Status, res.Summary, res.Error, res.Findings, res.Facts}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i+1 < len(repl); i += 2 {
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	s = durationRE.ReplaceAllString(s, `"duration_ms": 0`)
	s = goTimeRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "\t") {
			return "\t0.000s"
		}
		return "(0.00s)"
	})
	return []byte(s + "\n")
}

func gomodDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("testdata", "gomod"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// goEnv keeps the outer environment's go settings out of the inner run.
const goEnv = `GOFLAGS: ""
            GOWORK: "off"
            GOTOOLCHAIN: local`

func findingIDs(res checks.Result) []string {
	var ids []string
	for _, f := range res.Findings {
		ids = append(ids, f.ID)
	}
	return ids
}

// TestGoSuiteFlakyAcrossRuns runs a real `go test -json` twice. The counter
// file makes TestFlakyCounter fail in the first run and pass in the second:
// it must be reported as flaky with its pass count; the skipped and the
// absent required tests must be reported too.
func TestGoSuiteFlakyAcrossRuns(t *testing.T) {
	tmp := t.TempDir()
	gomod := gomodDir(t)
	c := newCheck(t, tmp, `
log_dir: logs
suites:
  - name: go
    command: [go, test, -json, -count=1, ./ledger/]
    dir: `+gomod+`
    env:
            GOMOD_FLAKY_COUNTER: `+filepath.Join(tmp, "counter")+`
            `+goEnv+`
    repeat: 2
    report: {format: go-test-json}
    required:
      - TestWaitForInflightPreservesCompletedOutputAfterRestart
      - TestDedupe/odd name/with slash & ünïcode ✓
      - TestJournalReplay
      - TestRestartRecreatesInflightRow
`, nil)
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2} {
		log := filepath.Join(tmp, "logs", fmt.Sprintf("tests.go.run%d.log", n))
		data, err := os.ReadFile(log)
		if err != nil || !strings.Contains(string(data), `"Action":"run"`) {
			t.Errorf("log %s does not hold the run's output (%v)", log, err)
		}
	}
	goldenBytes(t, "check/go-flaky.json", scrub(t, res, tmp, "$TMP", gomod, "$GOMOD"))
}

// TestGoSuiteBuildFailureAndRequiredFailure: a package that does not build
// is reported as a failed test named after the package, and a required test
// that fails is TESTS-REQUIRED-FAILED, with its own output.
func TestGoSuiteBuildFailureAndRequiredFailure(t *testing.T) {
	tmp := t.TempDir()
	gomod := gomodDir(t)
	c := newCheck(t, tmp, `
log_dir: `+tmp+`
suites:
  - name: go
    command: [go, test, -json, -count=1, -tags, broken, ./...]
    dir: `+gomod+`
    env:
            GOMOD_FAIL: the ledger lost the completed output
            `+goEnv+`
    report: {format: go-test-json}
    required: [TestFailsWhenAsked]
`, nil)
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	goldenBytes(t, "check/go-build-failure.json", scrub(t, res, tmp, "$TMP", gomod, "$GOMOD"))
}

func waitForFile(t *testing.T, path string, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil {
			pid, err := strconv.Atoi(string(data))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within %s", path, within)
	return 0
}

// TestGoSuiteInterruptKillsProcessGroup interrupts a real go test while a
// test sleeps: the test binary (a child of go, not of readiness) must die
// with it, and the evidence gathered so far must name the test that was
// running.
func TestGoSuiteInterruptKillsProcessGroup(t *testing.T) {
	tmp := t.TempDir()
	pidfile := filepath.Join(tmp, "pid")
	c := newCheck(t, tmp, `
log_dir: `+tmp+`
suites:
  - name: go
    command: [go, test, -json, -count=1, -run, TestDedupe|TestSleepsWhenAsked, ./ledger/]
    dir: `+gomodDir(t)+`
    env:
            GOMOD_SLEEP_PIDFILE: `+pidfile+`
            `+goEnv+`
    report: {format: go-test-json}
`, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type out struct {
		res checks.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := c.Run(ctx)
		done <- out{res, err}
	}()
	pid := waitForFile(t, pidfile, 2*time.Minute)
	cancel() // what Ctrl-C does
	var o out
	select {
	case o = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the check did not return after its context was cancelled")
	}
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", o.err)
	}
	if !processGone(pid, 5*time.Second) {
		killPID(pid)
		t.Fatalf("the test binary (pid %d) outlived the interrupted suite", pid)
	}
	suites := o.res.Facts["suites"].([]any)
	tests := suites[0].(map[string]any)["tests"].(map[string]any)
	if got := fmt.Sprint(tests["example.com/gomod/ledger/TestSleepsWhenAsked"]); got != "[unfinished]" {
		t.Errorf("TestSleepsWhenAsked outcomes = %s, want [unfinished]; tests: %v", got, tests)
	}
}

// TestSuiteTimeoutKillsProcessGroup_FakeSleeper: a stand-in runner starts a
// child and both sleep; the suite's timeout must kill both, report
// TESTS-TIMEOUT, and not start the remaining runs.
// sleeperCheck is a check whose one suite is a stand-in runner that starts
// a child and sleeps with it, writing the child's pid to pidfile.
func sleeperCheck(t *testing.T, timeout string, repeat int) (c *Check, pidfile string) {
	t.Helper()
	tmp := t.TempDir()
	pidfile = filepath.Join(tmp, "pid")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return newCheck(t, tmp, fmt.Sprintf(`
log_dir: %s
suites:
  - name: sleeper
    command: [%s]
    env: {TESTSUITE_HELPER: sleep, HELPER_PIDFILE: %s}
    timeout: %s
    repeat: %d
    report: {format: tap}
`, tmp, exe, pidfile, timeout, repeat), nil), pidfile
}

func TestSuiteTimeoutKillsProcessGroup_FakeSleeper(t *testing.T) {
	c, pidfile := sleeperCheck(t, "3s", 3)
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pid := waitForFile(t, pidfile, time.Second)
	if !processGone(pid, 5*time.Second) {
		killPID(pid)
		t.Fatalf("the runner's child (pid %d) outlived the suite's timeout", pid)
	}
	if diff := cmp.Diff([]string{"TESTS-TIMEOUT/sleeper"}, findingIDs(res)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	f := res.Findings[0]
	if !strings.Contains(f.Message, "killed after its 3s timeout in run 1 of 1; 2 further run(s) were not started") {
		t.Errorf("message = %q", f.Message)
	}
	if tail, _ := f.Properties["output_tail"].(string); !strings.Contains(tail, "sleeper: started child") {
		t.Errorf("output tail %q does not hold the runner's output", tail)
	}
}

// TestReportFaults_FakeRunner runs a stand-in runner that writes real
// reports (testdata/reports) and exits as told, to provoke each fault the
// gate must recognise.
func TestReportFaults_FakeRunner(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	reports, err := filepath.Abs(filepath.Join("testdata", "reports"))
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.xml")
	if err := os.WriteFile(big, []byte("<testsuite>"+strings.Repeat("<testcase name=\"x\"/>", 60000)+"</testsuite>"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.xml")
	pytest, _ := os.ReadFile(filepath.Join(reports, "pytest-xunit2.xml"))
	if err := os.WriteFile(truncated, pytest[:len(pytest)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(t.TempDir(), "none.xml")
	if err := os.WriteFile(none, []byte(`<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="0" time="0.004" timestamp="2026-11-24T22:41:06.494134" hostname="vm" /></testsuites>`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// env for the helper; REPORT in values is replaced by the report path
		env     map[string]string
		format  string
		path    string // report.path; "" reads stdout
		extra   string // more suite settings
		maxMB   int
		prepare func(t *testing.T, dir string)
	}{
		{name: "pytest-failures", env: map[string]string{"HELPER_SRC": reports + "/pytest-xunit2.xml", "HELPER_DST": "REPORT", "HELPER_EXIT": "1"}, format: FormatJUnit, path: "report.xml",
			extra: `required:
      - tests/api/test_ledger.py::test_wait_for_inflight_preserves_completed_output_after_restart_failure
      - tests/api/test_ledger.py::test_known_race
      - tests.api.test_ledger.test_replays_journal
      - tests/api/test_ledger.py::test_odd_names[*]
      - tests/api/test_ledger.py::test_restart_recreates_inflight_row`},
		{name: "pytest-exit0-with-failures", env: map[string]string{"HELPER_SRC": reports + "/pytest-xunit1.xml", "HELPER_DST": "REPORT", "HELPER_EXIT": "0"}, format: FormatJUnit, path: "report.xml"},
		{name: "jest-exit1-clean-report", env: map[string]string{"HELPER_SRC": reports + "/jest-junit-load-error-omitted.xml", "HELPER_DST": "REPORT", "HELPER_EXIT": "1", "HELPER_SAY": "FAIL __tests__/broken.test.js\n  ● Test suite failed to run\n    Cannot find module './does-not-exist'"}, format: FormatJUnit, path: "junit.xml"},
		{name: "surefire-glob", env: map[string]string{"HELPER_SRC": reports + "/surefire/TEST-*.xml", "HELPER_DST": "REPORT/", "HELPER_EXIT": "1"}, format: FormatJUnit, path: "target/surefire-reports/TEST-*.xml",
			extra: `required: [LedgerRestartTest#survivesRouterRestart, com.example.ledger.LedgerRestartTest.waitersReceiveCompletedOutputAfterRestart]`},
		{name: "stale-report", env: map[string]string{"HELPER_EXIT": "0", "HELPER_SAY": "wrote nothing"}, format: FormatJUnit, path: "report.xml",
			prepare: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "report.xml"), pytest, 0o644); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "command-failed", env: map[string]string{"HELPER_EXIT": "4", "HELPER_SAY_STDERR": "ERROR: file or directory not found: tests/apii"}, format: FormatJUnit, path: "report.xml",
			extra: `required: [tests/api/test_ledger.py::test_wait_for_inflight_preserves_completed_output_after_restart_failure]`},
		{name: "truncated-report", env: map[string]string{"HELPER_SRC": truncated, "HELPER_DST": "REPORT", "HELPER_EXIT": "0"}, format: FormatJUnit, path: "report.xml"},
		{name: "none-ran", env: map[string]string{"HELPER_SRC": none, "HELPER_DST": "REPORT", "HELPER_EXIT": "5"}, format: FormatJUnit, path: "report.xml"},
		{name: "report-too-big", env: map[string]string{"HELPER_SRC": big, "HELPER_DST": "REPORT", "HELPER_EXIT": "0"}, format: FormatJUnit, path: "report.xml", maxMB: 1},
		{name: "tap-stdout", env: map[string]string{"HELPER_STDOUT_FILE": reports + "/node-test.tap", "HELPER_EXIT": "1"}, format: FormatTAP,
			extra: `required: ["ledger > expires stale rows", "ledger > waiters receive *"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.prepare != nil {
				tc.prepare(t, dir)
			}
			report := ""
			if tc.path != "" {
				report = filepath.Join(dir, tc.path)
			}
			env := map[string]string{"TESTSUITE_HELPER": "write"}
			for k, v := range tc.env {
				switch v {
				case "REPORT":
					v = report
				case "REPORT/":
					v = filepath.Dir(report) + "/"
				}
				env[k] = v
			}
			envJSON, _ := json.Marshal(env)
			reportYAML := "{format: " + tc.format
			if tc.path != "" {
				reportYAML += ", path: " + strconv.Quote(tc.path)
			}
			if tc.maxMB > 0 {
				reportYAML += ", max_mb: " + strconv.Itoa(tc.maxMB)
			}
			with := `
log_dir: ` + dir + `/logs
suites:
  - name: ` + tc.name + `
    command: [` + exe + `, -test.run=^$]
    env: ` + string(envJSON) + `
    report: ` + reportYAML + `}
`
			if tc.extra != "" {
				with += "    " + tc.extra + "\n"
			}
			res, err := newCheck(t, dir, with, nil).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			goldenBytes(t, "check/"+tc.name+".json", scrub(t, res, dir, "$DIR", exe, "$HELPER", reports, "$REPORTS", filepath.Dir(big), "$BIG", filepath.Dir(truncated), "$TRUNC", filepath.Dir(none), "$NONE"))
		})
	}
}

// TestCommandNotFound: a missing runner puts the check in error (it could
// not establish anything for that suite), and the other suites still run.
func TestCommandNotFound(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	c := newCheck(t, tmp, `
log_dir: `+tmp+`
suites:
  - name: missing
    command: [readiness-test-runner-that-does-not-exist, --json]
    report: {format: tap}
  - name: present
    command: [`+exe+`]
    env: {TESTSUITE_HELPER: write, HELPER_SAY: "1..1\nok 1 - fine", HELPER_EXIT: "0"}
    report: {format: tap}
`, nil)
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != checks.StatusError || !strings.Contains(res.Error, `suite missing: command "readiness-test-runner-that-does-not-exist" not found`) {
		t.Errorf("status %s, error %q; want error naming the missing command", res.Status, res.Error)
	}
	runs := res.Facts["suites"].([]any)[1].(map[string]any)["runs"].([]any)
	if len(runs) != 1 || runs[0].(map[string]any)["passed"].(float64) != 1 {
		t.Errorf("the second suite did not run to a pass: %v", runs)
	}
}

func TestOverrides(t *testing.T) {
	c := newCheck(t, t.TempDir(), `
suites:
  - {name: a, command: [x], report: {format: tap}, repeat: 3}
  - {name: b, command: [x], report: {format: tap}}
`, map[string]any{"only": []string{"b"}, "repeat": 5})
	if diff := cmp.Diff([]string{"b"}, c.SuiteNames()); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
	if c.suites[0].Repeat != 5 {
		t.Errorf("repeat = %d, want 5", c.suites[0].Repeat)
	}
}

func TestFromSpecErrors(t *testing.T) {
	for _, tc := range []struct{ with, want string }{
		{`{}`, "readiness.yaml:3: check \"tests\": with.suites is empty"},
		{`suites: [{name: a, command: [x], report: {format: xunit}}]`, `report.format "xunit": use one of junit, go-test-json, tap`},
		{`suites: [{name: a, command: [], report: {format: tap}}]`, "command is empty"},
		{`suites: [{name: "a b", command: [x], report: {format: tap}}]`, `name "a b"`},
		{`suites: [{name: a, command: [x], report: {format: junit}}]`, "report.path is required for junit"},
		{`suites: [{name: a, command: [x], report: {format: tap}}, {name: a, command: [y], report: {format: tap}}]`, `suite "a" is configured twice`},
		{`suites: [{name: a, command: [x], report: {format: tap}, repeat: 101}]`, "repeat must be between 1 and 100"},
		{"suites:\n  - name: a\n    command: [x]\n    report: {format: tap}\n    required:\n      - \"re:(\"", "readiness.yaml:6: suite \"a\": required test \"re:(\""},
		{"suites:\n  - name: a\n    comand: [x]", "readiness.yaml:3: unknown key \"comand\""},
		{`suites: [{name: a, command: x, report: {format: tap}}]`, "expected a list"},
		{`suites: [{name: a, command: [x], timeout: soon, report: {format: tap}}]`, `"soon" is not a duration`},
		{`suites: [{name: a, command: [x], report: {format: tap}, required: [{x: 1}]}]`, "a required test is a name or pattern"},
	} {
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(tc.with), &node); err != nil {
			t.Fatal(err)
		}
		_, err := FromSpec(checks.Env{Dir: t.TempDir(), ConfigFile: "readiness.yaml"}, config.CheckSpec{Name: "tests", Line: 3, With: node})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("with %s: error %v, want it to contain %q", tc.with, err, tc.want)
		}
	}
}

// TestPytestRealSuite runs a tiny real pytest suite, with both report
// families (scripts/test.sh installs Debian's python3-pytest).
func TestPytestRealSuite(t *testing.T) {
	pytest, err := exec.LookPath("pytest")
	if err != nil {
		need.Skip(t, "pytest is not installed (%v); apt-get install python3-pytest", err)
	}
	for _, tc := range []struct {
		family string
		// Where the failures point: xunit1 writes the (0-based) line of
		// the def; xunit2 writes no file, so the node ID gives it and the
		// traceback's last line the line.
		dedupes, journal checks.Location
	}{
		{"xunit1", checks.Location{Path: "tests/api/test_ledger.py", Line: 8}, checks.Location{Path: "tests/api/test_journal.py", Line: 15}},
		{"xunit2", checks.Location{Path: "tests/api/test_ledger.py", Line: 10}, checks.Location{Path: "tests/api/test_journal.py", Line: 73}},
	} {
		t.Run(tc.family, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "pytest"))); err != nil {
				t.Fatal(err)
			}
			c := newCheck(t, dir, `
log_dir: logs
suites:
  - name: py
    command: [`+pytest+`, -p, no:cacheprovider, -q, -o, junit_family=`+tc.family+`, --junitxml=report.xml, tests]
    env: {PYTHONDONTWRITEBYTECODE: "1"}
    report: {format: junit, path: report.xml}
    required:
      - tests/api/test_ledger.py::test_wait_for_inflight_preserves_completed_output_after_restart_failure
      - tests/api/test_ledger.py::TestLedgerRestart::test_waiters_receive_output
      - tests/api/test_ledger.py::test_known_race
      - tests/api/test_ledger.py::test_odd_names[a/b::c]
      - tests/api/test_ledger.py::test_waiters_receive_outputs
`, nil)
			res, err := c.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"TESTS-REQUIRED-SKIPPED/py/tests/api/test_ledger.py::test_known_race",
				"TESTS-REQUIRED-MISSING/py/tests/api/test_ledger.py::test_waiters_receive_outputs",
				"TESTS-FAILED/py/tests/api/test_ledger.py::test_dedupes_concurrent_requests",
				"TESTS-FAILED/py/tests/api/test_ledger.py::test_uses_db",
				"TESTS-FAILED/py/tests/api/test_journal.py::test_replay_keeps_last_write",
			}
			got := findingIDs(res)
			slices.Sort(want)
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("findings (-want +got):\n%s\nlog: %v", diff, res.Facts)
			}
			by := map[string]checks.Finding{}
			for _, f := range res.Findings {
				by[f.ID] = f
			}
			for id, loc := range map[string]checks.Location{
				"TESTS-FAILED/py/tests/api/test_ledger.py::test_dedupes_concurrent_requests": tc.dedupes,
				"TESTS-FAILED/py/tests/api/test_journal.py::test_replay_keeps_last_write":    tc.journal,
			} {
				if f := by[id]; f.Location == nil || *f.Location != loc {
					t.Errorf("%s: location %+v, want %+v", id, f.Location, loc)
				}
			}
			// The tail holds the assertion, not the top of a long test.
			tail, _ := by["TESTS-FAILED/py/tests/api/test_journal.py::test_replay_keeps_last_write"].Properties["output_tail"].(string)
			if !strings.Contains(tail, "E       AssertionError: the last journal entry was not applied") || strings.Contains(tail, "def test_replay_keeps_last_write") {
				t.Errorf("output_tail keeps the wrong end:\n%s", tail)
			}
			avail, _ := by["TESTS-REQUIRED-MISSING/py/tests/api/test_ledger.py::test_waiters_receive_outputs"].Properties["available"].([]string)
			if len(avail) == 0 || avail[0] != "tests/api/test_ledger.py::TestLedgerRestart::test_waiters_receive_output" {
				t.Errorf("available = %q, want the renamed test first", avail)
			}
		})
	}
}

// TestLogWriterIsBestEffort: a log that cannot be written must not fail
// the suite.
func TestLogWriterIsBestEffort(t *testing.T) {
	o := &outputWriter{w: failingWriter{}}
	if n, err := o.Write([]byte("line\n")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	big := strings.Repeat("x", 3*keepBytes)
	_, _ = io.WriteString(o, big+"\nlast")
	if got := o.tail(); len(got) > 2*keepBytes || !strings.HasSuffix(got, "last") {
		t.Errorf("tail keeps %d bytes, ends %q", len(got), got[len(got)-4:])
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestSuiteTimeoutNotReached: a suite with a timeout that finishes in time
// is not reported as timed out (regression: the deadline was read after the
// run's context had been cancelled).
func TestSuiteTimeoutNotReached(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	c := newCheck(t, tmp, `
log_dir: `+tmp+`
suites:
  - name: quick
    command: [`+exe+`]
    env: {TESTSUITE_HELPER: write, HELPER_SAY: "1..1\nok 1 - fine", HELPER_EXIT: "0"}
    timeout: 10m
    repeat: 2
    report: {format: tap}
`, nil)
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != checks.StatusPass || len(res.Findings) != 0 {
		t.Errorf("status %s, findings %v; want a pass", res.Status, findingIDs(res))
	}
	if runs := res.Facts["suites"].([]any)[0].(map[string]any)["runs"].([]any); len(runs) != 2 {
		t.Errorf("%d runs, want 2", len(runs))
	}
}

// TestTimeoutNamesTheDeadline_FakeSleeper: when the run's deadline fires
// before the suite's own 10m timeout, the finding names the run's deadline
// (it said "after its 10m timeout"), and that no test had started.
func TestTimeoutNamesTheDeadline_FakeSleeper(t *testing.T) {
	c, _ := sleeperCheck(t, "10m", 1)
	// The pipeline's run deadline, as withRunTimeout makes it. Whether it
	// fires before or after the sleeper starts, the outcome is the same.
	ctx, cancel := context.WithTimeoutCause(context.Background(), 2*time.Second, errors.New("the run timed out (3m); raise --timeout"))
	defer cancel()
	// Cut short, the check returns what it saw with the context's error
	// (the runner makes that an error status); the finding says why.
	res, err := c.Run(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the deadline", err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("findings %v", findingIDs(res))
	}
	m := res.Findings[0].Message
	for _, want := range []string{"the run timed out (3m); raise --timeout", "no test had started"} {
		if !strings.Contains(m, want) {
			t.Errorf("message %q lacks %q", m, want)
		}
	}
	if strings.Contains(m, "10m") {
		t.Errorf("message names the suite's 10m timeout, which did not fire: %q", m)
	}
}

// TestTempLogsCleanedUp_FakeRunner: a clean run in the default (temporary)
// log directory leaves nothing behind and names no log; a failing one
// keeps its logs for the reader (issue 27, 8).
func TestTempLogsCleanedUp_FakeRunner(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tap  string
		keep bool
	}{
		{"passing", "TAP version 13\n1..1\nok 1 - a\n", false},
		{"failing", "TAP version 13\n1..1\nnot ok 1 - a\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where os.MkdirTemp makes the default log dir
			tapFile := filepath.Join(t.TempDir(), "out.tap")
			if err := os.WriteFile(tapFile, []byte(tc.tap), 0o644); err != nil {
				t.Fatal(err)
			}
			c := newCheck(t, t.TempDir(), `
suites:
  - name: unit
    command: [`+exe+`]
    env: {TESTSUITE_HELPER: write, HELPER_STDOUT_FILE: `+tapFile+`}
    report: {format: tap}
`, nil)
			res, err := c.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			left, _ := filepath.Glob(filepath.Join(tmp, "readiness-tests-*"))
			if kept := len(left) > 0; kept != tc.keep {
				t.Errorf("log dirs left %v, want kept=%v", left, tc.keep)
			}
			logDir, _ := res.Facts["log_dir"].(string)
			if (logDir != "") != tc.keep {
				t.Errorf("facts name log_dir %q, want kept=%v", logDir, tc.keep)
			}
		})
	}
}
