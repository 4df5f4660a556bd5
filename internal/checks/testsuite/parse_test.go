package testsuite

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/readiness-dev/readiness/internal/testutil/golden"

	"github.com/google/go-cmp/cmp"
)

// goldenJSON compares v, as indented JSON, with testdata/golden/name.
func goldenJSON(t *testing.T, name string, v any) {
	t.Helper()
	golden.JSON(t, filepath.Join("testdata", "golden", name), v)
}

func goldenBytes(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Assert(t, filepath.Join("testdata", "golden", name), got)
}

type parsed struct {
	Error  string `json:"error,omitempty"`
	Counts Counts `json:"counts"`
	Report Report `json:"report"`
}

// TestParseRealReports parses reports written by the real tools (see
// testdata/reports/README.md for how each was made) and compares what was
// understood with golden files.
func TestParseRealReports(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format string
	}{
		{"pytest-xunit2.xml", FormatJUnit},
		{"pytest-xunit1.xml", FormatJUnit},
		{"jest-junit.xml", FormatJUnit},
		{"jest-junit-suite-errors.xml", FormatJUnit},
		{"jest-junit-load-error-omitted.xml", FormatJUnit},
		{"surefire/TEST-com.example.ledger.LedgerRestartTest.xml", FormatJUnit},
		{"surefire/TEST-com.example.ledger.JournalTest.xml", FormatJUnit},
		{"gotest-failing.json", FormatGoTest},
		{"gotest-build-failure.json", FormatGoTest},
		{"gotest-cached.json", FormatGoTest},
		{"gotest-killed.json", FormatGoTest},
		{"node-test.tap", FormatTAP},
		{"perl-test-more.tap", FormatTAP},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "reports", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := parserFor(tc.format)(data)
			p := parsed{Counts: rep.Count(), Report: rep}
			if err != nil {
				p.Error = err.Error()
			}
			p.Report.Text = ""
			goldenJSON(t, "parse/"+strings.ReplaceAll(tc.file, "/", "_")+".json", p)
		})
	}
}

// TestParseBadInput feeds each parser what a broken runner leaves behind:
// nothing, the wrong format, a cut-off file, hostile nesting.
func TestParseBadInput(t *testing.T) {
	pytest, err := os.ReadFile(filepath.Join("testdata", "reports", "pytest-xunit2.xml"))
	if err != nil {
		t.Fatal(err)
	}
	gojson, err := os.ReadFile(filepath.Join("testdata", "reports", "gotest-failing.json"))
	if err != nil {
		t.Fatal(err)
	}
	tap, err := os.ReadFile(filepath.Join("testdata", "reports", "perl-test-more.tap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		format  string
		in      string
		wantErr string // substring; "" means no error
		tests   int
	}{
		{"junit empty", FormatJUnit, "  \n", "the report is empty", 0},
		{"junit not xml", FormatJUnit, "Traceback (most recent call last):\n  boom", "not a JUnit XML report", 0},
		{"junit json instead", FormatJUnit, `{"tests": []}`, "not a JUnit XML report", 0},
		{"junit wrong root", FormatJUnit, `<html><body>502 Bad Gateway</body></html>`, "root element is <html>", 0},
		{"junit truncated", FormatJUnit, string(pytest[:len(pytest)/2]), "truncated", 2},
		{"junit unclosed", FormatJUnit, `<testsuite name="s"><testcase name="a"/>`, "truncated", 1},
		{"junit bad syntax", FormatJUnit, `<testsuite><testcase name="a"></testsuite>`, "not well-formed XML at line 1", 0},
		{"junit deep nesting", FormatJUnit, "<testsuites>" + strings.Repeat("<testsuite>", 100), "nest deeper than 64", 0},
		{"junit unknown entity", FormatJUnit, `<testsuite><testcase name="&bogus;"/></testsuite>`, "not well-formed XML", 0},
		{"junit latin1", FormatJUnit, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite><testcase classname=\"C\" name=\"caf\xe9\"/></testsuite>", "", 1},
		{"junit unsupported encoding", FormatJUnit, `<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`, "unsupported encoding", 0},
		{"junit zero tests", FormatJUnit, `<testsuites><testsuite name="pytest" tests="0"/></testsuites>`, "", 0},
		{"junit nested testcase", FormatJUnit, `<testsuite><testcase name="a"><testcase name="b"/></testcase></testsuite>`, "", 1},
		{"gotest empty", FormatGoTest, "", "output is empty", 0},
		{"gotest plain text", FormatGoTest, "ok  \texample.com/m\t0.01s\n", "no test2json events", 0},
		{"gotest truncated line", FormatGoTest, string(gojson[:len(gojson)-40]), "", 8},
		{"gotest garbage json", FormatGoTest, `{"Action": 5}` + "\n[1,2]\n{\n", "no test2json events", 0},
		{"tap empty", FormatTAP, "", "TAP stream is empty", 0},
		{"tap not tap", FormatTAP, "hello\nworld\n", "not TAP output", 0},
		{"tap no plan", FormatTAP, "ok 1 - a\nok 2 - b\n", "no plan line", 2},
		{"tap plan mismatch", FormatTAP, string(tap[:strings.Index(string(tap), "ok 3")]), "plan announces 5 tests but 2", 2},
		{"tap bail out", FormatTAP, "1..3\nok 1 - a\nBail out! database is down\n", "bailed out: database is down", 1},
		{"tap skip all", FormatTAP, "1..0 # SKIP no database\n", "", 0},
		{"tap huge plan", FormatTAP, "1..99999999999999999999\n", "not a number of tests", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := parserFor(tc.format)([]byte(tc.in))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
			if len(rep.Tests) != tc.tests {
				t.Errorf("%d tests read, want %d: %+v", len(rep.Tests), tc.tests, rep.Tests)
			}
		})
	}
}

func TestParseOddNames(t *testing.T) {
	in := "<testsuite>" +
		`<testcase classname="a.B" name="tab&#9;and&#10;newline"/>` +
		`<testcase classname="" name="  spaced  "/>` +
		`<testcase classname="" name=""/>` +
		`<testcase classname="x" name="` + strings.Repeat("é", 2000) + `"/>` +
		"</testsuite>"
	rep, err := parseJUnit([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tc := range rep.Tests {
		if !utf8.ValidString(tc.ID) || len(tc.ID) > maxNameBytes+len("…") {
			t.Errorf("ID not clean or not bounded: %d bytes", len(tc.ID))
		}
		ids = append(ids, tc.ID[:min(len(tc.ID), 24)])
	}
	want := []string{"a.B.tab and newline", "spaced", "(unnamed test)", "x." + strings.Repeat("é", 11)}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
}

func TestJUnitHugeFailureIsBounded(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`<testsuite><testcase classname="c" name="n"><failure message="boom">`)
	for i := 0; i < 100000; i++ {
		b.WriteString("at frame\n")
	}
	b.WriteString(`</failure></testcase></testsuite>`)
	rep, err := parseJUnit(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Tests[0].Output; len(got) > maxOutputBytes+8 || strings.Count(got, "\n") > maxOutputLines {
		t.Errorf("output not bounded: %d bytes, %d lines", len(got), strings.Count(got, "\n"))
	}
}

// TestFailureOutputKeepsTheEnd: a long failure keeps its last lines, where
// pytest writes "E   AssertionError" and node:test its error and stack;
// the first lines (the test's own source) are what is dropped.
func TestFailureOutputKeepsTheEnd(t *testing.T) {
	var src []string
	for i := range 60 {
		src = append(src, fmt.Sprintf("    step_%02d()", i))
	}
	pytestDetail := "def test_long():\n" + strings.Join(src, "\n") + "\n>       assert state == \"done\"\nE       AssertionError: assert 'pending' == 'done'\n\ntests/test_long.py:63: AssertionError"
	var yaml []string
	for i := range 60 {
		yaml = append(yaml, fmt.Sprintf("    at step%02d (file:///src/test/long.test.js:%d:3)", i, i+1))
	}
	for _, tc := range []struct {
		name, format, report, last, first string
	}{
		{"junit", FormatJUnit, `<testsuites><testsuite name="pytest"><testcase classname="tests.test_long" name="test_long" file="tests/test_long.py" line="0"><failure message="AssertionError">` +
			xmlEscape(pytestDetail) + `</failure></testcase></testsuite></testsuites>`,
			"tests/test_long.py:63: AssertionError", "def test_long():"},
		{"tap", FormatTAP, "TAP version 13\nnot ok 1 - long\n  ---\n  error: 'expected done'\n  stack: |-\n" + strings.Join(yaml, "\n") + "\n    at last frame\n  ...\n1..1\n",
			"at last frame", "error: 'expected done'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := parserFor(tc.format)([]byte(tc.report))
			if err != nil || len(rep.Tests) != 1 {
				t.Fatalf("Parse: %v, %d tests", err, len(rep.Tests))
			}
			out := rep.Tests[0].Output
			if !strings.HasSuffix(out, tc.last) || strings.Contains(out, tc.first) || strings.Count(out, "\n")+1 > maxOutputLines {
				t.Errorf("output keeps the wrong end or too much (%d lines):\n%s", strings.Count(out, "\n")+1, out)
			}
			if tc.format == FormatJUnit && rep.Tests[0].Line != 1 {
				t.Errorf("pytest line=\"0\" is the file's first line: got line %d, want 1", rep.Tests[0].Line)
			}
		})
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
