package testsuite

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// goEvent is one line of `go test -json` (cmd/test2json) output.
type goEvent struct {
	Action      string
	Package     string
	Test        string
	Output      string
	Elapsed     float64
	FailedBuild string
	ImportPath  string
}

// maxLineBytes bounds one test2json line; longer lines are skipped.
const maxLineBytes = 4 << 20

var cachedRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ok\s+\S+\s+\(cached\)`) })

type goTest struct {
	pkg, name string
	started   bool
	outcome   Outcome
	elapsed   float64
	output    []string // ring of the last lines
	skipMsg   string
}

func (t *goTest) addOutput(s string) {
	t.output = append(t.output, s)
	if len(t.output) > maxOutputLines*2 {
		t.output = t.output[len(t.output)-maxOutputLines:]
	}
}

type goPkg struct {
	started, ended bool
	outcome        Outcome
	failedBuild    string
	output         []string
	order          int
}

// goParse is the state of reading one `go test -json` output.
type goParse struct {
	rep     Report
	tests   map[[2]string]*goTest
	order   []*goTest
	pkgs    map[string]*goPkg
	build   map[string][]string // ImportPath → build output
	text    strings.Builder
	events  int
	nonJSON int
	cutOff  bool
}

// parseGoTest reads the stdout of `go test -json` (cmd/test2json).
//
// Each test is identified as package/TestName (subtests
// package/TestName/sub). A package that fails outside any test (a build
// error, a panic in TestMain or init, a timeout before any test reported)
// becomes a failed test named after the package, so the failure is not
// lost. A test that started and never ended (the run was killed) is
// Unfinished. Lines that are not JSON are noted and kept in Text.
func parseGoTest(data []byte) (Report, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Report{}, errors.New("the output is empty: no test2json events (is the command `go test -json …`?)")
	}
	p := &goParse{tests: map[[2]string]*goTest{}, pkgs: map[string]*goPkg{}, build: map[string][]string{}}
	p.read(data)
	p.rep.Text = p.text.String()
	if p.nonJSON > 0 {
		p.rep.note("%d line(s) of the output were not test2json events", p.nonJSON)
	}
	if p.events == 0 {
		return p.rep, errors.New("no test2json events in the output (is the command `go test -json …`?)")
	}
	failedIn := p.testCases()
	p.packageFailures(failedIn)
	if p.cutOff {
		p.rep.note("the last line is an incomplete JSON event: the output was cut off")
	}
	return p.rep, nil
}

// read takes in every line of the output: events, and the text of lines
// that are not.
func (p *goParse) read(data []byte) {
	rest := data
	for len(rest) > 0 {
		line, last := rest, true
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest, last = rest[:i], rest[i+1:], false
		} else {
			rest = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > maxLineBytes {
			p.rep.note("a %d-byte line was skipped", len(line))
			continue
		}
		var ev goEvent
		if line[0] != '{' || json.Unmarshal(line, &ev) != nil || ev.Action == "" {
			if last && line[0] == '{' {
				p.cutOff = true
			}
			p.nonJSON++
			p.keepText(strings.ToValidUTF8(string(line), "\uFFFD") + "\n")
			continue
		}
		p.events++
		p.event(ev)
	}
}

// keepText keeps the output's text, its tail only once it grows long.
func (p *goParse) keepText(s string) {
	p.text.WriteString(s)
	if p.text.Len() > 4*maxOutputBytes {
		t := tail(p.text.String(), maxOutputLines*4)
		p.text.Reset()
		p.text.WriteString(t)
		p.text.WriteByte('\n')
	}
}

func (p *goParse) pkg(name string) *goPkg {
	g, ok := p.pkgs[name]
	if !ok {
		g = &goPkg{order: len(p.pkgs)}
		p.pkgs[name] = g
	}
	return g
}

// event records one test2json event: a build's, a package's or a test's.
func (p *goParse) event(ev goEvent) {
	switch ev.Action {
	case "build-output":
		if len(p.build[ev.ImportPath]) < maxOutputLines*2 {
			p.build[ev.ImportPath] = append(p.build[ev.ImportPath], ev.Output)
		}
		p.keepText(ev.Output)
		return
	case "build-fail":
		return
	}
	if ev.Test == "" {
		p.packageEvent(ev)
		return
	}
	p.pkg(ev.Package).started = true
	key := [2]string{ev.Package, ev.Test}
	t, ok := p.tests[key]
	if !ok {
		t = &goTest{pkg: ev.Package, name: ev.Test}
		p.tests[key] = t
		p.order = append(p.order, t)
	}
	switch ev.Action {
	case "run", "cont", "pause":
		t.started = true
	case "output":
		p.keepText(ev.Output)
		t.addOutput(ev.Output)
	case "pass":
		t.outcome, t.elapsed = Passed, ev.Elapsed
	case "fail":
		t.outcome, t.elapsed = Failed, ev.Elapsed
	case "skip":
		t.outcome, t.elapsed = Skipped, ev.Elapsed
	}
}

// packageEvent records an event of a package outside any test.
func (p *goParse) packageEvent(ev goEvent) {
	g := p.pkg(ev.Package)
	switch ev.Action {
	case "start":
		g.started = true
	case "output":
		p.keepText(ev.Output)
		if cachedRE().MatchString(ev.Output) {
			p.rep.Cached = append(p.rep.Cached, ev.Package)
		}
		g.output = append(g.output, ev.Output)
		if len(g.output) > maxOutputLines*2 {
			g.output = g.output[len(g.output)-maxOutputLines:]
		}
	case "pass", "fail", "skip":
		g.ended = true
		g.outcome = map[string]Outcome{"pass": Passed, "fail": Failed, "skip": Skipped}[ev.Action]
		g.failedBuild = ev.FailedBuild
	}
}

// testCases adds a test case per test seen, in order, and returns the
// packages a test failed (or did not finish) in.
func (p *goParse) testCases() map[string]bool {
	failedIn := map[string]bool{}
	for _, t := range p.order {
		tc := TestCase{
			ID:      goID(t.pkg, t.name),
			Aliases: []string{t.name},
			Outcome: t.outcome,
		}
		if i := strings.LastIndexByte(t.name, '/'); i > 0 {
			tc.Parent = goID(t.pkg, t.name[:i])
		}
		if tc.Outcome == "" {
			tc.Outcome = Unfinished
			tc.Message = "started but never finished (the run was killed, timed out or crashed)"
		}
		if t.elapsed > 0 && t.elapsed < 1e9 {
			tc.Duration = time.Duration(t.elapsed * float64(time.Second)).Round(time.Millisecond)
		}
		out := strings.Join(t.output, "")
		switch tc.Outcome {
		case Failed, Unfinished:
			failedIn[t.pkg] = true
			tc.Output = tail(out, maxOutputLines)
			if tc.Message == "" {
				tc.Message = goFailureLine(t.output)
			}
		case Skipped:
			tc.Message = goFailureLine(t.output)
		}
		p.rep.Tests = append(p.rep.Tests, tc)
	}
	return failedIn
}

// packageFailures adds a test case named after each package that failed,
// or did not finish, with no failing test in it.
func (p *goParse) packageFailures(failedIn map[string]bool) {
	names := make([]string, 0, len(p.pkgs))
	for n := range p.pkgs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return p.pkgs[names[i]].order < p.pkgs[names[j]].order })
	for _, n := range names {
		g := p.pkgs[n]
		if failedIn[n] {
			continue
		}
		switch {
		case g.ended && g.outcome == Failed:
			tc := TestCase{ID: goID(n, ""), Outcome: Failed, Message: "the package failed outside any test"}
			out := strings.Join(g.output, "")
			if g.failedBuild != "" {
				tc.Message = "the package did not build"
				if l := compilerError(p.build[g.failedBuild]); l != "" {
					tc.Message += ": " + l
				}
				out = strings.Join(p.build[g.failedBuild], "") + out
			}
			tc.Output = tail(out, maxOutputLines)
			if l := goPanicLine(g.output); l != "" && g.failedBuild == "" {
				tc.Message += ": " + l
			}
			p.rep.Tests = append(p.rep.Tests, tc)
		case g.started && !g.ended:
			p.rep.Tests = append(p.rep.Tests, TestCase{
				ID: goID(n, ""), Outcome: Unfinished,
				Message: "the package started and never finished (the run was killed, timed out or crashed)",
				Output:  tail(strings.Join(g.output, ""), maxOutputLines),
			})
		}
	}
}

func goID(pkg, test string) string {
	if pkg = cleanName(pkg); pkg == "" {
		pkg = "(no package)"
	}
	if test == "" {
		return pkg
	}
	return cleanName(pkg + "/" + test)
}

// goFailureLine picks the line of a test's own output that most likely
// says why it failed or skipped: the first that mentions a failure, an
// error or an expectation, else the last one before the verdict (t.Log
// lines come earlier). The runner's === RUN / --- FAIL bookkeeping is
// never chosen.
func goFailureLine(output []string) string {
	var last string
	for _, l := range output {
		s := strings.TrimSpace(l)
		if s == "" || strings.HasPrefix(s, "=== ") || strings.HasPrefix(s, "--- ") {
			continue
		}
		if failureWordRE().MatchString(s) {
			return firstLine(s)
		}
		last = s
	}
	return firstLine(last)
}

var failureWordRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(fail(ed|ure|s)?|error|panic|want|expected|mismatch|timed out|timeout)\b|FAIL:`)
})

func goPanicLine(output []string) string {
	for _, l := range output {
		if s := strings.TrimSpace(l); strings.HasPrefix(s, "panic:") {
			return firstLine(s)
		}
	}
	return ""
}
