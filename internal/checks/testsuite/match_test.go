package testsuite

import (
	"testing"
)

func TestPatternMatch(t *testing.T) {
	pytestTC := TestCase{ID: "tests/api/test_ledger.py::TestLedgerRestart::test_waiters", Aliases: []string{"tests.api.test_ledger.TestLedgerRestart.test_waiters"}}
	goTC := TestCase{ID: "example.com/m/ledger/TestRestart/odd_name", Aliases: []string{"TestRestart/odd_name"}}
	surefire := TestCase{ID: "com.example.LedgerTest.restarts", Aliases: []string{"com.example.LedgerTest#restarts", "LedgerTest.restarts", "LedgerTest#restarts"}}
	param := TestCase{ID: "tests/t.py::test_p[a-1]", Aliases: []string{"tests.t.test_p[a-1]"}}
	for _, tc := range []struct {
		pattern string
		format  string
		test    TestCase
		want    bool
	}{
		{"tests/api/test_ledger.py::TestLedgerRestart::test_waiters", FormatJUnit, pytestTC, true},
		{"tests.api.test_ledger.TestLedgerRestart.test_waiters", FormatJUnit, pytestTC, true},
		{"tests/api/test_ledger.py::TestLedgerRestart::*", FormatJUnit, pytestTC, true},
		{"tests/api/test_ledger.py::test_waiters", FormatJUnit, pytestTC, false},
		// The heuristic takes a capitalised module for a class; the dotted
		// alias still lets the node ID match.
		{"tests/Api.py::test_x", FormatJUnit, TestCase{ID: "tests.py::Api::test_x", Aliases: []string{"tests.Api.test_x"}}, true},
		{"tests/t.py::test_p[a-1]", FormatJUnit, param, true},
		{"tests/t.py::test_p[a-2]", FormatJUnit, param, false},
		{"TestRestart/odd name", FormatGoTest, goTC, true},
		{"TestRestart/odd name", FormatJUnit, goTC, false},
		{"example.com/m/ledger/TestRestart/*", FormatGoTest, goTC, true},
		{"TestRestart", FormatGoTest, goTC, false},
		{"re:.*/ledger/TestRestart(/.*)?", FormatGoTest, goTC, true},
		{"re:TestRestart", FormatGoTest, goTC, false}, // anchored: the whole name
		{"LedgerTest#restarts", FormatJUnit, surefire, true},
		{"com.example.LedgerTest.*", FormatJUnit, surefire, true},
		{"*Ledger*res*", FormatJUnit, surefire, true},
		{"*Ledger*res", FormatJUnit, surefire, false},
	} {
		p := Pattern{Value: tc.pattern}
		if err := p.compile(tc.format); err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := p.Match(&tc.test); got != tc.want {
			t.Errorf("%q (%s) matching %q = %v, want %v", tc.pattern, tc.format, tc.test.ID, got, tc.want)
		}
	}
}

func TestPatternCompileErrors(t *testing.T) {
	for _, v := range []string{"", "re:(unclosed"} {
		p := Pattern{Value: v}
		if err := p.compile(FormatJUnit); err == nil {
			t.Errorf("%q compiled; want an error", v)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"a", "a", true}, {"a", "ab", false}, {"*", "", true}, {"a*", "abc", true},
		{"*c", "abc", true}, {"a*a", "a", false}, {"a*a", "aa", true}, {"a*b*c", "abxbc", true},
		{"a*b*c", "acb", false}, {"x[1]*", "x[1]-y", true}, {"x?", "xy", false},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestPytestID(t *testing.T) {
	for _, tc := range []struct{ classname, name, file, want string }{
		{"tests.api.test_ledger", "test_x", "", "tests/api/test_ledger.py::test_x"},
		{"tests.api.test_ledger.TestA.TestB", "test_x", "", "tests/api/test_ledger.py::TestA::TestB::test_x"},
		{"test_top", "test_x", "", "test_top.py::test_x"},
		{"tests.Api.TestA", "test_x", "tests/Api.py", "tests/Api.py::TestA::test_x"},
	} {
		if got := pytestID(tc.classname, tc.name, tc.file); got != tc.want {
			t.Errorf("pytestID(%q, %q, %q) = %q, want %q", tc.classname, tc.name, tc.file, got, tc.want)
		}
	}
}
