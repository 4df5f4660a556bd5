package testsuite

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxXMLDepth bounds element nesting; real reports nest four or five deep.
const maxXMLDepth = 64

// parseJUnit reads a JUnit XML report as pytest --junitxml, Maven Surefire
// (JUnit 4 and 5), jest-junit and most other runners write it: a
// <testsuites> or <testsuite> root, <testcase> elements with <failure>,
// <error> and <skipped> children, and Surefire's <flakyFailure>/<flakyError>
// for a test that passed only on a retry.
//
// It never panics. A report that is empty, not XML, not JUnit, or cut off
// returns an error; the tests read before the damage are still returned.
func parseJUnit(data []byte) (Report, error) {
	var rep Report
	if len(bytes.TrimSpace(data)) == 0 {
		return rep, errors.New("the report is empty")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = charsetReader
	var (
		stack  []string // open element names
		suites []string // names of open <testsuite> elements
		tc     *junitCase
		root   string
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if root == "" {
				return rep, errors.New("no XML element found: this is not a JUnit XML report")
			}
			if len(stack) > 0 {
				return rep, fmt.Errorf("the report is truncated: <%s> is never closed", stack[len(stack)-1])
			}
			return rep, nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				if strings.Contains(se.Msg, "unexpected EOF") {
					return rep, fmt.Errorf("the report is truncated at line %d: %s", se.Line, se.Msg)
				}
				return rep, fmt.Errorf("not well-formed XML at line %d: %s", se.Line, se.Msg)
			}
			return rep, fmt.Errorf("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if root == "" {
				root = name
				if name != "testsuites" && name != "testsuite" {
					return rep, fmt.Errorf("not a JUnit XML report: the root element is <%s>, expected <testsuites> or <testsuite>", cleanName(name))
				}
			}
			if len(stack) >= maxXMLDepth {
				return rep, fmt.Errorf("elements nest deeper than %d levels; not a JUnit XML report", maxXMLDepth)
			}
			stack = append(stack, name)
			switch {
			case name == "testsuite" || name == "testsuites":
				suites = append(suites, attr(t, "name"))
			case name == "testcase":
				if tc != nil {
					rep.note("a <testcase> inside <testcase> %q was ignored", tc.name)
					break
				}
				tc = &junitCase{
					depth: len(stack), classname: attr(t, "classname"), name: attr(t, "name"),
					file: attr(t, "file"), line: attr(t, "line"), time: attr(t, "time"),
				}
				if len(suites) > 0 {
					tc.suite = suites[len(suites)-1]
				}
			case tc != nil && len(stack) == tc.depth+1:
				tc.child(name, t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				break
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch {
			case tc != nil && name == "testcase" && len(stack) == tc.depth-1:
				rep.Tests = append(rep.Tests, tc.testCase())
				tc = nil
			case tc != nil && len(stack) == tc.depth:
				tc.capturing = false
			case name == "testsuite" || name == "testsuites":
				if len(suites) > 0 {
					suites = suites[:len(suites)-1]
				}
			}
		case xml.CharData:
			if tc != nil && tc.capturing && tc.detail.Len() < maxOutputBytes*2 {
				tc.detail.Write(t)
			}
		}
	}
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// charsetReader accepts the single-byte encodings old JUnit writers declare.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		runes := make([]rune, len(data))
		for i, b := range data {
			runes[i] = rune(b)
		}
		return strings.NewReader(string(runes)), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (write the report as UTF-8)", label)
}

type junitCase struct {
	depth                              int
	suite, classname, name, file, line string
	time                               string
	outcome                            Outcome
	message                            string
	retries                            int
	detail                             bytes.Buffer
	capturing                          bool
}

// rank orders outcomes when a testcase has several children: a failure
// outweighs an error (pytest reports a failed call plus a failed teardown
// as both), which outweighs a skip.
func rank(o Outcome) int {
	switch o {
	case Failed:
		return 4
	case Errored:
		return 3
	case XFailed:
		return 2
	case Skipped:
		return 1
	}
	return 0
}

func (c *junitCase) child(name string, t xml.StartElement) {
	var o Outcome
	switch name {
	case "failure":
		o = Failed
	case "error":
		o = Errored
	case "skipped":
		o = Skipped
		if attr(t, "type") == "pytest.xfail" {
			o = XFailed
		}
	case "flakyFailure", "flakyError":
		c.retries++
		return
	default: // system-out, system-err, properties, rerunFailure …
		return
	}
	if rank(o) <= rank(c.outcome) {
		return
	}
	c.outcome = o
	c.message = attr(t, "message")
	c.detail.Reset()
	c.capturing = true
}

func (c *junitCase) testCase() TestCase {
	out := c.outcome
	if out == "" {
		out = Passed
	}
	detail := strings.TrimSpace(c.detail.String())
	msg := firstLine(c.message)
	if msg == "" {
		msg = firstLine(detail)
	}
	t := TestCase{Outcome: out, Message: msg, Retries: c.retries, File: cleanName(c.file)}
	if out != Passed && detail != "" {
		// The end says what went wrong: pytest puts the test's source
		// first and the "E   AssertionError" lines last.
		t.Output = tail(detail, maxOutputLines)
	}
	if secs, err := strconv.ParseFloat(strings.ReplaceAll(c.time, ",", ""), 64); err == nil && secs >= 0 && secs < 1e9 {
		t.Duration = time.Duration(secs * float64(time.Second)).Round(time.Millisecond)
	}
	pytest := isPytest(c.suite, t.File)
	if n, err := strconv.Atoi(c.line); err == nil && n >= 0 {
		if pytest {
			// pytest's xunit1 `line` is its 0-based item location.
			n++
		}
		if n > 0 {
			t.Line = n
		}
	}
	t.ID, t.Aliases = junitNames(c.suite, cleanName(c.classname), cleanName(c.name), t.File)
	t.ID = truncateBytes(t.ID, maxNameBytes)
	if pytest && t.File == "" {
		// xunit2 writes no file: the node ID carries it, and the traceback's
		// last "path:line: Error" line, where it is that file, the line.
		if f, _, ok := strings.Cut(t.ID, "::"); ok && strings.HasSuffix(f, ".py") {
			t.File, t.Line, t.FileFromID = f, crashLine(detail, f), true
		}
	}
	if t.Line > 0 && t.File == "" {
		t.Line = 0
	}
	return t
}

// isPytest recognises a pytest report: its suite is named "pytest" (the
// default junit_suite_name), or the testcase names a .py file.
func isPytest(suite, file string) bool {
	return suite == "pytest" || strings.HasSuffix(file, ".py")
}

// crashLine finds the line pytest's traceback ends at in file: its last
// "file:LINE: ExceptionName" line. 0 when there is none.
func crashLine(detail, file string) int {
	lines := strings.Split(detail, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		rest, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), file+":")
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, ":")
		if n, err := strconv.Atoi(num); ok && err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// junitNames derives the canonical ID and aliases of a JUnit testcase.
//
// pytest (its suite is named "pytest", or the testcase names a .py file):
// pytest writes classname "tests.api.test_ledger.TestX" and name "test_y"
// for the node ID tests/api/test_ledger.py::TestX::test_y; the ID undoes
// that. Trailing classname parts that start with an upper-case letter are
// taken for classes, the rest for the module path (or the file attribute
// decides, where junit_family=xunit1 writes it). The dotted form
// classname.name is always an alias, so a name the heuristic gets wrong can
// still be required.
//
// Everything else: classname.name (Surefire: com.example.LedgerTest.restarts),
// or just name when classname is empty or equal to it (jest-junit's default
// writes the same text in both). Surefire users may also write
// LedgerTest.restarts, com.example.LedgerTest#restarts or LedgerTest#restarts.
func junitNames(suite, classname, name, file string) (string, []string) {
	switch {
	case classname == "" && name == "":
		return "(unnamed test)", nil
	case classname == "":
		return name, nil
	case name == "" || name == classname:
		return classname, nil
	}
	dotted := classname + "." + name
	if suite == "pytest" || strings.HasSuffix(file, ".py") {
		return pytestID(classname, name, file), []string{dotted}
	}
	aliases := []string{classname + "#" + name}
	if i := strings.LastIndexByte(classname, '.'); i >= 0 && i+1 < len(classname) {
		simple := classname[i+1:]
		aliases = append(aliases, simple+"."+name, simple+"#"+name)
	}
	return dotted, aliases
}

func pytestID(classname, name, file string) string {
	if strings.HasSuffix(file, ".py") {
		mod := strings.ReplaceAll(strings.TrimSuffix(file, ".py"), "/", ".")
		switch {
		case classname == mod:
			return file + "::" + name
		case strings.HasPrefix(classname, mod+"."):
			classes := strings.Split(classname[len(mod)+1:], ".")
			return file + "::" + strings.Join(append(classes, name), "::")
		}
	}
	parts := strings.Split(classname, ".")
	i := len(parts)
	for i > 1 && startsUpper(parts[i-1]) {
		i--
	}
	id := strings.Join(parts[:i], "/") + ".py"
	for _, c := range parts[i:] {
		id += "::" + c
	}
	return id + "::" + name
}

func startsUpper(s string) bool {
	for _, r := range s {
		return unicode.IsUpper(r)
	}
	return false
}
