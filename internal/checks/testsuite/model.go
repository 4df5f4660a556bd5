package testsuite

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Outcome is what one test did in one run.
type Outcome string

const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Errored Outcome = "error"
	Skipped Outcome = "skipped"
	// XFailed is an expected failure: pytest's xfail, TAP's `not ok … # TODO`.
	// It proves nothing, so a required test that xfails counts as skipped.
	XFailed Outcome = "xfail"
	// Unfinished means the test started and never reported an end: the
	// suite was killed, timed out or crashed while it ran.
	Unfinished Outcome = "unfinished"
	// Absent is used across runs only: the test was not in that run's report.
	Absent Outcome = "absent"
)

// failing reports whether the outcome counts as a failure.
func (o Outcome) failing() bool { return o == Failed || o == Errored || o == Unfinished }

// skipping reports whether the outcome proves nothing either way.
func (o Outcome) skipping() bool { return o == Skipped || o == XFailed }

// TestCase is one test in one run's report, whatever the format.
type TestCase struct {
	// ID is the canonical name (see docs/gates/tests.md, "Test names"):
	// pytest `path/to/test_x.py::Class::test_name`, Go `package/TestName/sub`,
	// other JUnit `classname.name`, TAP `parent > description`.
	ID string `json:"id"`
	// Aliases are other names the test may be required by.
	Aliases []string `json:"aliases,omitempty"`
	// Parent is the ID of the enclosing test (Go subtests, TAP subtests), so
	// that a failing parent whose child failed is not reported twice.
	Parent  string  `json:"parent,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Message is the failure or skip reason, one line where possible.
	Message string `json:"message,omitempty"`
	// Output is the tail of the test's own output or failure details.
	Output string `json:"output,omitempty"`
	// Retries counts failed attempts inside this run before a final pass
	// (Surefire's flakyFailure/flakyError): the test is flaky.
	Retries  int           `json:"retries,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	File     string        `json:"file,omitempty"`
	Line     int           `json:"line,omitempty"`
	// FileFromID is true when File was read from a pytest node ID rather
	// than written by the runner: it is used only if the file exists.
	FileFromID bool `json:"-"`
}

// Report is one run's parsed report.
type Report struct {
	Tests []TestCase `json:"tests"`
	// Notes are oddities that did not stop parsing (non-JSON lines in a
	// test2json stream, a nested suite without a name …).
	Notes []string `json:"notes,omitempty"`
	// Cached lists Go packages whose results were replayed from the go test
	// cache instead of being run.
	Cached []string `json:"cached,omitempty"`
	// Text is the human-readable output reconstructed from a test2json
	// stream; empty for other formats.
	Text string `json:"-"`
}

// Counts are one run's totals.
type Counts struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	Errors  int `json:"errors"`
	Total   int `json:"total"`
}

// Count tallies the report. Unfinished tests count as failed, xfails as
// skipped.
func (r *Report) Count() Counts {
	var c Counts
	for _, t := range r.Tests {
		switch t.Outcome {
		case Passed:
			c.Passed++
		case Failed, Unfinished:
			c.Failed++
		case Errored:
			c.Errors++
		case Skipped, XFailed:
			c.Skipped++
		}
	}
	c.Total = len(r.Tests)
	return c
}

func (r *Report) note(format string, args ...any) {
	const maxNotes = 20
	if len(r.Notes) < maxNotes {
		r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
	} else if len(r.Notes) == maxNotes {
		r.Notes = append(r.Notes, "… further notes omitted")
	}
}

// Limits on what is kept from a report, so that a huge or hostile report
// cannot make the evidence document huge.
const (
	maxNameBytes    = 1024
	maxMessageBytes = 2048
	maxOutputLines  = 40
	maxOutputBytes  = 8192
)

// cleanName makes a test name printable and bounded: invalid UTF-8 becomes
// U+FFFD, control characters become spaces, and surrounding space goes.
func cleanName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	return truncateBytes(s, maxNameBytes)
}

// firstLine returns the first non-empty line of s, bounded.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return truncateBytes(strings.ToValidUTF8(l, "\uFFFD"), maxMessageBytes)
		}
	}
	return ""
}

// tail keeps the last n lines of s, at most maxOutputBytes of them.
func tail(s string, n int) string {
	s = strings.ToValidUTF8(strings.Trim(s, "\n"), "\uFFFD")
	if len(s) > maxOutputBytes {
		s = s[len(s)-maxOutputBytes:]
		// Do not start in the middle of a rune or a line.
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		s = strings.ToValidUTF8(s, "")
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
