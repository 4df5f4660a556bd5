package testsuite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// run builds a clean run whose report holds tests given as "ID=outcome".
func run(n, exit int, tests ...string) runRecord {
	r := runRecord{N: n, ExitCode: exit, Log: fmt.Sprintf("/logs/run%d.log", n)}
	for _, s := range tests {
		id, o, _ := strings.Cut(s, "=")
		tc := TestCase{ID: id, Outcome: Outcome(o)}
		if o == "retried" {
			tc.Outcome, tc.Retries = Passed, 1
		}
		if i := strings.LastIndexByte(id, '/'); i > 0 {
			tc.Parent = id[:i]
		}
		if pkg, name, ok := strings.Cut(id, "/"); ok && pkg == "p" {
			tc.Aliases = []string{name} // as go test -json names tests
		}
		r.Report.Tests = append(r.Report.Tests, tc)
	}
	return r
}

func suiteWith(format string, required []string, runs ...runRecord) *suiteRun {
	sr := &suiteRun{suite: suite{SuiteOptions{Name: "s", Command: []string{"runner"}, Repeat: len(runs), Report: ReportOptions{Format: format}}}, runs: runs}
	for _, p := range required {
		pat := Pattern{Value: p, Line: 7}
		if err := pat.compile(format); err != nil {
			panic(err)
		}
		sr.Required = append(sr.Required, pat)
	}
	return sr
}

type brief struct{ ID, Msg string }

func briefs(sr *suiteRun) []brief {
	var out []brief
	for _, f := range analyze(sr, "readiness.yaml") {
		out = append(out, brief{f.ID, f.Message})
	}
	return out
}

func TestAnalyze(t *testing.T) {
	for _, tc := range []struct {
		name string
		sr   *suiteRun
		want []brief
	}{
		{
			name: "required test flaky across runs is failing",
			sr:   suiteWith(FormatGoTest, []string{"p/TestRestart"}, run(1, 0, "p/TestRestart=passed"), run(2, 1, "p/TestRestart=failed"), run(3, 0, "p/TestRestart=passed")),
			want: []brief{{"TESTS-REQUIRED-FAILED/s/p/TestRestart", "suite s: required test p/TestRestart failed in run 2 of 3 (passed 2 of 3): flaky"}},
		},
		{
			name: "required test missing from one run",
			sr:   suiteWith(FormatGoTest, []string{"p/TestRestart"}, run(1, 0, "p/TestRestart=passed", "p/TestB=passed"), run(2, 0, "p/TestB=passed")),
			want: []brief{{"TESTS-REQUIRED-MISSING/s/p/TestRestart", "suite s: required test p/TestRestart is missing from run 2 of 2 (present in the others)"}},
		},
		{
			name: "required test passing after a retry",
			sr:   suiteWith(FormatJUnit, []string{"C.t"}, run(1, 0, "C.t=retried")),
			want: []brief{{"TESTS-REQUIRED-FAILED/s/C.t", "suite s: required test C.t passed only after the runner retried it (passed 1 of 1, and needed a retry to pass in 1 run(s)): flaky"}},
		},
		{
			name: "unfinished required test",
			sr:   suiteWith(FormatGoTest, []string{"TestHang"}, run(1, 1, "p/TestHang=unfinished", "p/TestB=passed")),
			want: []brief{{"TESTS-REQUIRED-FAILED/s/p/TestHang", "suite s: required test p/TestHang failed in run 1 of 1 (passed 0 of 1)"}},
		},
		{
			name: "failing parent reported through its subtest only",
			sr:   suiteWith(FormatGoTest, nil, run(1, 1, "p/TestA=failed", "p/TestA/sub=failed", "p/TestA/ok=passed", "p/TestB=failed")),
			want: []brief{
				{"TESTS-FAILED/s/p/TestA/sub", "suite s: test p/TestA/sub failed in run 1 of 1"},
				{"TESTS-FAILED/s/p/TestB", "suite s: test p/TestB failed in run 1 of 1"},
			},
		},
		{
			name: "non-required flaky and retried",
			sr:   suiteWith(FormatJUnit, nil, run(1, 1, "a=failed", "b=retried"), run(2, 0, "a=passed", "b=passed")),
			want: []brief{
				{"TESTS-FLAKY/s/a", "suite s: test a is flaky: passed 1 of 2, failed in run 1"},
				{"TESTS-FLAKY/s/b", "suite s: test b is flaky: passed 2 of 2, and needed a retry to pass in 1 run(s)"},
			},
		},
		{
			name: "skipped tests only: nothing ran",
			sr:   suiteWith(FormatTAP, nil, run(1, 0, "a=skipped", "b=xfail")),
			want: []brief{{"TESTS-NONE-RAN/s", "suite s: no test ran in run 1 of 1 (the report lists 2 test(s), 2 skipped); nothing was tested"}},
		},
		{
			name: "cached second run",
			sr: func() *suiteRun {
				r2 := run(2, 0, "p/TestA=passed")
				r2.Report.Cached = []string{"p"}
				return suiteWith(FormatGoTest, nil, run(1, 0, "p/TestA=passed"), r2)
			}(),
			want: []brief{{"TESTS-CACHED/s", "suite s: go test replayed cached results in run 2 of 2 (p) instead of running the tests again; the repeat proves nothing: add -count=1"}},
		},
		{
			name: "missing required pattern suggests similar names",
			sr:   suiteWith(FormatJUnit, []string{"tests/t.py::test_restart_keeps_output"}, run(1, 0, "tests/t.py::test_restart_keeps_output_v2=passed")),
			want: []brief{{"TESTS-REQUIRED-MISSING/s/tests/t.py::test_restart_keeps_output", "suite s: required test tests/t.py::test_restart_keeps_output is not in the report of any run; the report's closest names: tests/t.py::test_restart_keeps_output_v2"}},
		},
		{
			// Renamed and re-parametrised: the closest names first, the unrelated one left out.
			name: "missing required test lists the closest names, best first",
			sr: suiteWith(FormatJUnit, []string{"tests/api/test_ledger.py::test_waiters_get_output_after_restart"},
				run(1, 0, "tests/api/test_ledger.py::test_dedupes=passed", "tests/api/test_ledger.py::test_waiter_gets_output_after_restart=passed",
					"tests/api/test_ledger.py::TestRestart::test_waiters_get_output_after_restart[sqlite]=passed")),
			want: []brief{{"TESTS-REQUIRED-MISSING/s/tests/api/test_ledger.py::test_waiters_get_output_after_restart",
				"suite s: required test tests/api/test_ledger.py::test_waiters_get_output_after_restart is not in the report of any run; the report's closest names: " +
					"tests/api/test_ledger.py::TestRestart::test_waiters_get_output_after_restart[sqlite], tests/api/test_ledger.py::test_waiter_gets_output_after_restart"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, briefs(tc.sr)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnalyzeCapsTestFindings(t *testing.T) {
	var tests []string
	for i := 0; i < maxTestFindings+30; i++ {
		tests = append(tests, fmt.Sprintf("t%03d=failed", i))
	}
	got := briefs(suiteWith(FormatJUnit, nil, run(1, 1, tests...)))
	if len(got) != maxTestFindings+1 {
		t.Fatalf("%d findings, want %d", len(got), maxTestFindings+1)
	}
	last := got[len(got)-1]
	if last.ID != "TESTS-FAILED/s/(more)" || !strings.HasPrefix(last.Msg, "suite s: 30 more failing or flaky tests") {
		t.Errorf("last finding = %+v", last)
	}
}

// TestCauseLine: a failed command's excerpt is the line that says why, not
// the last one (issue 27, 8).
func TestCauseLine(t *testing.T) {
	for _, tc := range []struct{ name, out, want string }{
		{"npm", "> x@1.0.0 test\n> vitest run\n\nnpm error code ENOENT\nnpm error syscall open\nnpm error path /w/package.json\nnpm error errno -2\nnpm error enoent Could not read package.json: Error: ENOENT: no such file or directory\nnpm error enoent This is related to npm not being able to find a file.\nnpm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n",
			"npm error enoent Could not read package.json: Error: ENOENT: no such file or directory"},
		{"old npm", "npm ERR! code ELIFECYCLE\nnpm ERR! Test failed.  See above for more details.\n", "npm ERR! Test failed.  See above for more details."},
		{"go build", "# acme/x\nx/x.go:3:2: undefined: foo\nFAIL\tacme/x [build failed]\n", "x/x.go:3:2: undefined: foo"},
		{"rust", "   Compiling x v0.1.0\nerror[E0425]: cannot find value `y` in this scope\n --> src/lib.rs:2:5\nerror: could not compile `x`\n", "error[E0425]: cannot find value `y` in this scope"},
		{"nothing recognisable", "line one\nlast words\n", "last words"},
		{"empty", "", "(none)"},
	} {
		if got := causeLine(tc.out); got != tc.want {
			t.Errorf("%s: causeLine = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestFactsKeepRequiredBeyondCap: in a suite with more tests than the
// facts table holds, a required test that passed is still in the table
// (required rows first), whatever its place in the report.
func TestFactsKeepRequiredBeyondCap(t *testing.T) {
	tests := make([]string, 0, maxFactTests+10)
	for i := range maxFactTests + 10 {
		tests = append(tests, fmt.Sprintf("p/TestMany%05d=passed", i))
	}
	last := fmt.Sprintf("p/TestMany%05d", maxFactTests+9)
	sr := suiteWith("go-test-json", []string{last}, run(1, 0, tests...))
	facts := factsOf("/logs", []*suiteRun{sr})
	suites, _ := facts["suites"].([]any)
	if len(suites) != 1 {
		t.Fatalf("facts hold %d suites, want 1", len(suites))
	}
	s := suites[0].(map[string]any)
	table, _ := s["tests"].(map[string]any)
	if _, ok := table[last]; !ok {
		t.Errorf("required test %s is not in the facts table (%d rows, %v omitted)", last, len(table), s["tests_omitted"])
	}
	if got := s["tests_omitted"]; got != float64(10) {
		t.Errorf("tests_omitted = %v, want 10", got)
	}
}
