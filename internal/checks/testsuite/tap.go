package testsuite

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

var (
	tapPlanRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^1\.\.(\d+)\s*(?:#\s*(.*))?$`) })
	tapPointRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(not ok|ok)(?:\s|$)`) })
)

// tapBlock is one level of (sub)tests: the top level, or the indented
// block of a subtest.
type tapBlock struct {
	indent  int
	name    string // the subtest's name; "" at the top level
	planned int    // -1 until a plan line is seen
	count   int
}

// parseTAP reads the Test Anything Protocol, versions 12 to 14, as Perl's
// Test::More, node --test --test-reporter=tap, tape and others write it:
// test points `ok N - description # SKIP reason`, the plan `1..N`, YAML
// diagnostic blocks, `Bail out!`, and indented subtests announced by
// `# Subtest: name`. A subtest's tests are named `parent > child`; a test
// point without a description is named `#N`.
//
// A stream with no plan, whose plan disagrees with the tests it reports,
// or that bails out returns an error with what was read.
func parseTAP(data []byte) (Report, error) {
	var rep Report
	if len(bytes.TrimSpace(data)) == 0 {
		return rep, errors.New("the TAP stream is empty")
	}
	blocks := []*tapBlock{{indent: 0, planned: -1}}
	pending := map[int]string{} // indent → name from "# Subtest: name"
	var (
		yamlIndent = -1 // inside a YAML block when >= 0
		yaml       []string
		lastTest   = -1 // index in rep.Tests a YAML block attaches to
		other      int
		bail       string
		bailed     bool
	)
	flushYAML := func() {
		if lastTest >= 0 && len(yaml) > 0 {
			t := &rep.Tests[lastTest]
			if t.Outcome.failing() {
				t.Output = tail(strings.Join(yaml, "\n"), maxOutputLines)
				if m := yamlMessage(yaml); m != "" {
					t.Message = m
				}
			}
		}
		yaml, yamlIndent = nil, -1
	}
	closeBlock := func() {
		b := blocks[len(blocks)-1]
		blocks = blocks[:len(blocks)-1]
		if b.planned >= 0 && b.planned != b.count {
			rep.note("subtest %q planned %d tests and reported %d", b.name, b.planned, b.count)
		}
	}
	path := func() []string {
		var p []string
		for _, b := range blocks[1:] {
			p = append(p, b.name)
		}
		return p
	}

	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for _, raw := range lines {
		raw = strings.ToValidUTF8(raw, "\uFFFD")
		content := strings.TrimLeft(raw, " \t")
		indent := indentOf(raw[:len(raw)-len(content)])
		content = strings.TrimRight(content, " \t")
		if yamlIndent >= 0 {
			if content == "..." && indent == yamlIndent {
				flushYAML()
				continue
			}
			if content == "" || indent >= yamlIndent {
				if len(yaml) < maxOutputLines*4 {
					yaml = append(yaml, strings.TrimPrefix(raw, strings.Repeat(" ", yamlIndent)))
				}
				continue
			}
			flushYAML() // an unterminated block: go on with this line
		}
		if content == "" {
			continue
		}
		if strings.HasPrefix(content, "Bail out!") {
			bail, bailed = strings.TrimSpace(strings.TrimPrefix(content, "Bail out!")), true
			break
		}
		if content == "---" && lastTest >= 0 && indent > blocks[len(blocks)-1].indent {
			yamlIndent = indent
			continue
		}
		isPoint := tapPointRE().MatchString(content)
		plan := tapPlanRE().FindStringSubmatch(content)
		if !isPoint && plan == nil {
			switch {
			case strings.HasPrefix(content, "# Subtest"):
				name := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(content, "# Subtest"), ":"))
				pending[indent] = cleanName(tapUnescape(name))
			case strings.HasPrefix(content, "#"), strings.HasPrefix(content, "TAP version"), strings.HasPrefix(content, "pragma "):
			default:
				other++
			}
			continue
		}
		// Move to the block this line's indentation belongs to.
		for len(blocks) > 1 && indent < blocks[len(blocks)-1].indent {
			closeBlock()
		}
		if top := blocks[len(blocks)-1]; indent > top.indent {
			name, ok := pending[top.indent]
			if !ok {
				name = "(subtest)"
			}
			delete(pending, top.indent)
			if len(blocks) >= maxXMLDepth {
				return rep, fmt.Errorf("subtests nest deeper than %d levels", maxXMLDepth)
			}
			blocks = append(blocks, &tapBlock{indent: indent, name: name, planned: -1})
		}
		b := blocks[len(blocks)-1]
		lastTest = -1
		if plan != nil {
			n, err := strconv.Atoi(plan[1])
			if err != nil || n > 1<<30 {
				return rep, fmt.Errorf("the plan %q is not a number of tests", content)
			}
			b.planned = n
			if n == 0 && len(blocks) == 1 && plan[2] != "" {
				rep.note("the suite skipped everything: %s", firstLine(plan[2]))
			}
			continue
		}
		b.count++
		tc := tapTestPoint(content, b.count)
		if p := path(); len(p) > 0 {
			tc.Parent = strings.Join(p, " > ")
			tc.ID = truncateBytes(tc.Parent+" > "+tc.ID, maxNameBytes)
		}
		delete(pending, indent)
		rep.Tests = append(rep.Tests, tc)
		lastTest = len(rep.Tests) - 1
	}
	flushYAML()
	for len(blocks) > 1 {
		closeBlock()
	}
	if other > 0 {
		rep.note("%d line(s) were not TAP", other)
	}
	top := blocks[0]
	switch {
	case bailed:
		msg := "the suite bailed out"
		if bail != "" {
			msg += ": " + firstLine(bail)
		}
		return rep, errors.New(msg)
	case top.planned < 0 && top.count == 0:
		return rep, errors.New("no TAP test lines or plan found: this is not TAP output")
	case top.planned < 0:
		return rep, fmt.Errorf("no plan line (1..N) after %d tests: the TAP stream is incomplete", top.count)
	case top.planned != top.count:
		return rep, fmt.Errorf("the plan announces %d tests but %d were reported: the TAP stream is incomplete", top.planned, top.count)
	}
	return rep, nil
}

// tapTestPoint parses `ok 3 - description # SKIP reason`.
func tapTestPoint(content string, seq int) TestCase {
	ok := !strings.HasPrefix(content, "not ok")
	rest := strings.TrimPrefix(strings.TrimPrefix(content, "not ok"), "ok")
	rest = strings.TrimLeft(rest, " \t")
	num := seq
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i != 0 {
		if i < 0 {
			i = len(rest)
		}
		if n, err := strconv.Atoi(rest[:i]); err == nil {
			num = n
		}
		rest = strings.TrimLeft(rest[i:], " \t")
	}
	if strings.HasPrefix(rest, "- ") || rest == "-" {
		rest = rest[1:]
	}
	desc, directive := splitDirective(rest)
	tc := TestCase{ID: cleanName(tapUnescape(desc)), Outcome: Passed}
	if tc.ID == "" {
		tc.ID = "#" + strconv.Itoa(num)
	}
	if !ok {
		tc.Outcome = Failed
	}
	upper := strings.ToUpper(directive)
	switch {
	case strings.HasPrefix(upper, "SKIP"):
		tc.Outcome = Skipped
		tc.Message = firstLine(strings.TrimSpace(directive[4:]))
	case strings.HasPrefix(upper, "TODO"):
		if !ok {
			tc.Outcome = XFailed
		}
		tc.Message = firstLine(strings.TrimSpace(directive[4:]))
	}
	return tc
}

// splitDirective splits a description at the first unescaped '#' that
// starts a SKIP or TODO directive.
func splitDirective(s string) (desc, directive string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '#':
			d := strings.TrimSpace(s[i+1:])
			u := strings.ToUpper(d)
			if strings.HasPrefix(u, "SKIP") || strings.HasPrefix(u, "TODO") {
				return strings.TrimSpace(s[:i]), d
			}
		}
	}
	return strings.TrimSpace(s), ""
}

// tapUnescape undoes TAP 14's `\#` and `\\` escapes.
func tapUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '#' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func indentOf(ws string) int {
	n := 0
	for _, c := range ws {
		if c == '\t' {
			n += 4
		} else {
			n++
		}
	}
	return n
}

// yamlMessage pulls the message or error out of a TAP YAML diagnostic.
func yamlMessage(lines []string) string {
	for i, l := range lines {
		s := strings.TrimSpace(l)
		for _, key := range []string{"message:", "error:"} {
			if v, ok := strings.CutPrefix(s, key); ok {
				v = strings.TrimSpace(v)
				if (v == "|-" || v == "|" || v == ">" || v == ">-") && i+1 < len(lines) {
					v = strings.TrimSpace(lines[i+1])
				}
				return firstLine(strings.Trim(v, `'"`))
			}
		}
	}
	return ""
}
