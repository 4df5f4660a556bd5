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

// parseGoTest reads the stdout of `go test -json` (cmd/test2json).
//
// Each test is identified as package/TestName (subtests
// package/TestName/sub). A package that fails outside any test (a build
// error, a panic in TestMain or init, a timeout before any test reported)
// becomes a failed test named after the package, so the failure is not
// lost. A test that started and never ended (the run was killed) is
// Unfinished. Lines that are not JSON are noted and kept in Text.
func parseGoTest(data []byte) (Report, error) {
	var rep Report
	if len(bytes.TrimSpace(data)) == 0 {
		return rep, errors.New("the output is empty: no test2json events (is the command `go test -json …`?)")
	}
	tests := map[[2]string]*goTest{}
	var order []*goTest
	pkgs := map[string]*goPkg{}
	build := map[string][]string{} // ImportPath → build output
	pkg := func(name string) *goPkg {
		p, ok := pkgs[name]
		if !ok {
			p = &goPkg{order: len(pkgs)}
			pkgs[name] = p
		}
		return p
	}
	var text strings.Builder
	keepText := func(s string) {
		text.WriteString(s)
		if text.Len() > 4*maxOutputBytes {
			t := tail(text.String(), maxOutputLines*4)
			text.Reset()
			text.WriteString(t)
			text.WriteByte('\n')
		}
	}
	events, nonJSON, cutOff := 0, 0, false
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
			rep.note("a %d-byte line was skipped", len(line))
			continue
		}
		var ev goEvent
		if line[0] != '{' || json.Unmarshal(line, &ev) != nil || ev.Action == "" {
			if last && line[0] == '{' {
				cutOff = true
			}
			nonJSON++
			keepText(strings.ToValidUTF8(string(line), "\uFFFD") + "\n")
			continue
		}
		events++
		switch ev.Action {
		case "build-output":
			if len(build[ev.ImportPath]) < maxOutputLines*2 {
				build[ev.ImportPath] = append(build[ev.ImportPath], ev.Output)
			}
			keepText(ev.Output)
			continue
		case "build-fail":
			continue
		}
		if ev.Test == "" {
			p := pkg(ev.Package)
			switch ev.Action {
			case "start":
				p.started = true
			case "output":
				keepText(ev.Output)
				if cachedRE().MatchString(ev.Output) {
					rep.Cached = append(rep.Cached, ev.Package)
				}
				p.output = append(p.output, ev.Output)
				if len(p.output) > maxOutputLines*2 {
					p.output = p.output[len(p.output)-maxOutputLines:]
				}
			case "pass", "fail", "skip":
				p.ended = true
				p.outcome = map[string]Outcome{"pass": Passed, "fail": Failed, "skip": Skipped}[ev.Action]
				p.failedBuild = ev.FailedBuild
			}
			continue
		}
		pkg(ev.Package).started = true
		key := [2]string{ev.Package, ev.Test}
		t, ok := tests[key]
		if !ok {
			t = &goTest{pkg: ev.Package, name: ev.Test}
			tests[key] = t
			order = append(order, t)
		}
		switch ev.Action {
		case "run", "cont", "pause":
			t.started = true
		case "output":
			keepText(ev.Output)
			t.addOutput(ev.Output)
		case "pass":
			t.outcome, t.elapsed = Passed, ev.Elapsed
		case "fail":
			t.outcome, t.elapsed = Failed, ev.Elapsed
		case "skip":
			t.outcome, t.elapsed = Skipped, ev.Elapsed
		}
	}
	rep.Text = text.String()
	if nonJSON > 0 {
		rep.note("%d line(s) of the output were not test2json events", nonJSON)
	}
	if events == 0 {
		return rep, errors.New("no test2json events in the output (is the command `go test -json …`?)")
	}

	failedIn := map[string]bool{}
	for _, t := range order {
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
		rep.Tests = append(rep.Tests, tc)
	}

	// Packages that failed with no failing test in them.
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return pkgs[names[i]].order < pkgs[names[j]].order })
	for _, n := range names {
		p := pkgs[n]
		if failedIn[n] {
			continue
		}
		switch {
		case p.ended && p.outcome == Failed:
			tc := TestCase{ID: goID(n, ""), Outcome: Failed, Message: "the package failed outside any test"}
			out := strings.Join(p.output, "")
			if p.failedBuild != "" {
				tc.Message = "the package did not build"
				if l := compilerError(build[p.failedBuild]); l != "" {
					tc.Message += ": " + l
				}
				out = strings.Join(build[p.failedBuild], "") + out
			}
			tc.Output = tail(out, maxOutputLines)
			if l := goPanicLine(p.output); l != "" && p.failedBuild == "" {
				tc.Message += ": " + l
			}
			rep.Tests = append(rep.Tests, tc)
		case p.started && !p.ended:
			rep.Tests = append(rep.Tests, TestCase{
				ID: goID(n, ""), Outcome: Unfinished,
				Message: "the package started and never finished (the run was killed, timed out or crashed)",
				Output:  tail(strings.Join(p.output, ""), maxOutputLines),
			})
		}
	}
	if cutOff {
		rep.note("the last line is an incomplete JSON event: the output was cut off")
	}
	return rep, nil
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
