package testsuite

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks"
)

// maxTestFindings caps TESTS-FAILED and TESTS-FLAKY findings per suite; the
// rest are summed up in one more finding. Required tests are never capped.
const maxTestFindings = 50

// testHistory is one test's outcomes across the runs of a suite.
type testHistory struct {
	id       string
	tc       TestCase // the first report entry seen, for aliases and location
	outcomes []Outcome
	cases    []*TestCase // per run; nil where absent or not observed
	pattern  *Pattern    // the required pattern it answers to
}

func (h *testHistory) tally() (pass, fail, skip, absent, retried int) {
	for i, o := range h.outcomes {
		switch {
		case o == Passed:
			pass++
		case o.failing():
			fail++
		case o.skipping():
			skip++
		case o == Absent:
			absent++
		}
		if c := h.cases[i]; c != nil && c.Retries > 0 {
			retried++
		}
	}
	return
}

// mergeRank decides which entry wins when a run reports one name twice.
func mergeRank(o Outcome) int {
	switch {
	case o.failing():
		return 3
	case o == Passed:
		return 2
	case o == XFailed:
		return 1
	}
	return 0
}

// histories builds the outcome matrix: one row per test, one column per
// run. A run that says nothing about tests (no report) leaves "" in its
// column; a test missing from a run that did report is Absent there.
func histories(sr *suiteRun) ([]*testHistory, map[string]*testHistory) {
	byID := map[string]*testHistory{}
	var order []*testHistory
	for i := range sr.runs {
		r := &sr.runs[i]
		if !r.observed() {
			continue
		}
		for j := range r.Report.Tests {
			tc := &r.Report.Tests[j]
			h, ok := byID[tc.ID]
			if !ok {
				h = &testHistory{id: tc.ID, tc: *tc, outcomes: make([]Outcome, len(sr.runs)), cases: make([]*TestCase, len(sr.runs))}
				byID[tc.ID] = h
				order = append(order, h)
			}
			if prev := h.cases[i]; prev == nil || mergeRank(tc.Outcome) > mergeRank(prev.Outcome) {
				h.cases[i], h.outcomes[i] = tc, tc.Outcome
			}
		}
	}
	for _, h := range order {
		for i := range sr.runs {
			// Absence counts only in a complete run: a killed run or a
			// truncated report never reached some tests.
			if sr.runs[i].usable() && h.outcomes[i] == "" {
				h.outcomes[i] = Absent
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].id < order[j].id })
	return order, byID
}

func runList(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return "run " + s[0]
	}
	return "runs " + strings.Join(s, ", ")
}

// book is the gate's rules table, the source of every finding's severity.
var book = checks.NewRuleBook(rulesYAML)

// Suite-level rules, in the order their findings are reported.
var suiteRules = []string{"TESTS-TIMEOUT", "TESTS-COMMAND-FAILED", "TESTS-REPORT-MISSING", "TESTS-REPORT-INVALID", "TESTS-NONE-RAN", "TESTS-EXIT-MISMATCH", "TESTS-CACHED"}

// analysis collects one suite's findings.
type analysis struct {
	sr    *suiteRun
	total int
	of    string // " of N", N the number of runs
	cmd   string
	out   []checks.Finding
}

// analyze turns a suite's runs into findings: the suite-level ones first
// (one per rule, listing the runs concerned), then the required patterns
// that matched nothing, then one per failing, flaky, skipped or missing test.
func analyze(sr *suiteRun, configFile string) []checks.Finding {
	a := &analysis{sr: sr, total: len(sr.runs), of: fmt.Sprintf(" of %d", len(sr.runs)), cmd: strings.Join(sr.Command, " ")}
	hits := suiteHits(sr)
	for _, rule := range suiteRules {
		if h, ok := hits[rule]; ok {
			msg, props := a.suiteFinding(rule, h)
			a.add(book.Finding(rule, a.subject(""), msg, nil).With(props))
		}
	}
	hs, _ := histories(sr)
	a.requiredUnmatched(hs, configFile)
	a.testFindings(hs, a.verdicts(hs))
	return a.out
}

// subject is what a finding is about: the suite, and with idSuffix one
// test or pattern of it (finding IDs are RULE/<suite>[/<test>]).
func (a *analysis) subject(idSuffix string) string {
	if idSuffix == "" {
		return a.sr.Name
	}
	return a.sr.Name + "/" + idSuffix
}

// add appends f, built by the book, naming the suite in its properties.
func (a *analysis) add(f checks.Finding) *checks.Finding {
	if f.Properties == nil {
		f.Properties = map[string]any{}
	}
	f.Properties["suite"] = a.sr.Name
	a.out = append(a.out, f)
	return &a.out[len(a.out)-1]
}

// hit is one suite-level rule's occurrences: the runs it fired in, the
// first of them (whose details the finding reports) and what kind.
type hit struct {
	runs  []int
	first *runRecord
	extra string
}

// suiteHits groups the suite-level problems of every run by rule.
func suiteHits(sr *suiteRun) map[string]*hit {
	hits := map[string]*hit{}
	mark := func(rule string, r *runRecord, extra string) {
		h, ok := hits[rule]
		if !ok {
			h = &hit{first: r, extra: extra}
			hits[rule] = h
		}
		h.runs = append(h.runs, r.N)
	}
	for i := range sr.runs {
		r := &sr.runs[i]
		if r.TimedOut {
			mark("TESTS-TIMEOUT", r, "")
			continue
		}
		exitFail := r.ExitCode != 0
		c := r.Report.Count()
		switch {
		case exitFail && !r.usable():
			mark("TESTS-COMMAND-FAILED", r, "")
		case r.Missing:
			mark("TESTS-REPORT-MISSING", r, "")
		case r.ReportErr != nil:
			mark("TESTS-REPORT-INVALID", r, "")
		case c.Passed+c.Failed+c.Errors == 0:
			mark("TESTS-NONE-RAN", r, "")
		case !exitFail && c.Failed+c.Errors > 0:
			mark("TESTS-EXIT-MISMATCH", r, "exit0")
		case exitFail && c.Failed+c.Errors == 0:
			mark("TESTS-EXIT-MISMATCH", r, "nonzero")
		}
		if r.N > 1 && len(r.Report.Cached) > 0 {
			mark("TESTS-CACHED", r, "")
		}
	}
	return hits
}

// suiteFinding is the message and properties of a suite-level rule's
// finding, told from the first run it fired in.
func (a *analysis) suiteFinding(rule string, h *hit) (string, map[string]any) {
	sr, r, cmd := a.sr, h.first, a.cmd
	where := runList(h.runs) + a.of
	props := map[string]any{"runs": h.runs, "log": r.Log, "exit_code": r.ExitCode}
	if r.Tail != "" {
		props["output_tail"] = r.Tail
	}
	var msg string
	switch rule {
	case "TESTS-TIMEOUT":
		msg = a.timeoutMessage(r, where, props)
	case "TESTS-COMMAND-FAILED":
		how := fmt.Sprintf("exited %d", r.ExitCode)
		if r.Died != "" {
			how = "died (" + r.Died + ")"
		}
		msg = fmt.Sprintf("suite %s: `%s` %s in %s", sr.Name, cmd, how, where)
		switch {
		case r.Missing:
			msg += " and wrote no report"
		case r.ReportErr != nil:
			msg += "; its report could not be read: " + firstLine(r.ReportErr.Error())
		}
		msg += "; output: " + causeLine(r.Tail)
	case "TESTS-REPORT-MISSING":
		msg = fmt.Sprintf("suite %s: `%s` exited 0 but wrote no report at %s in %s", sr.Name, cmd, sr.Report.Path, where)
		if len(r.Stale) > 0 {
			msg += fmt.Sprintf(" (%d file(s) there are left over from an earlier run and were ignored)", len(r.Stale))
			props["stale_reports"] = r.Stale
		}
	case "TESTS-REPORT-INVALID":
		msg = fmt.Sprintf("suite %s: the %s report of %s could not be read: %s", sr.Name, sr.Report.Format, where, firstLine(r.ReportErr.Error()))
		props["error"] = r.ReportErr.Error()
	case "TESTS-NONE-RAN":
		c := r.Report.Count()
		msg = fmt.Sprintf("suite %s: no test ran in %s (the report lists %d test(s), %d skipped); nothing was tested", sr.Name, where, c.Total, c.Skipped)
	case "TESTS-EXIT-MISMATCH":
		c := r.Report.Count()
		if h.extra == "exit0" {
			msg = fmt.Sprintf("suite %s: `%s` exited 0 in %s but its report lists %d failing test(s): the runner is ignoring failures", sr.Name, cmd, where, c.Failed+c.Errors)
		} else {
			msg = fmt.Sprintf("suite %s: `%s` exited %d in %s but its report lists no failing test: something outside the tests failed; output: %s", sr.Name, cmd, r.ExitCode, where, lastLine(r.Tail))
		}
		props["direction"] = map[string]string{"exit0": "exit 0, report has failures", "nonzero": "exit non-zero, report has no failures"}[h.extra]
	case "TESTS-CACHED":
		msg = fmt.Sprintf("suite %s: go test replayed cached results in %s (%s) instead of running the tests again; the repeat proves nothing: add -count=1", sr.Name, where, strings.Join(firstN(r.Report.Cached, 3), ", "))
		props["packages"] = r.Report.Cached
	}
	return msg, props
}

// timeoutMessage says why and when run r was killed, and what it had not
// finished.
func (a *analysis) timeoutMessage(r *runRecord, where string, props map[string]any) string {
	sr := a.sr
	var unfinished []string
	for _, t := range r.Report.Tests {
		if t.Outcome == Unfinished {
			unfinished = append(unfinished, t.ID)
		}
	}
	var msg string
	switch {
	case r.Cause != "":
		msg = fmt.Sprintf("suite %s: `%s` was killed in %s: %s", sr.Name, a.cmd, where, r.Cause)
		props["deadline"] = r.Cause
	case sr.Timeout == 0:
		msg = fmt.Sprintf("suite %s: `%s` was killed when the check ran out of time in %s", sr.Name, a.cmd, where)
	default:
		msg = fmt.Sprintf("suite %s: `%s` was killed after its %s timeout in %s", sr.Name, a.cmd, sr.Timeout.D(), where)
	}
	if len(unfinished) > 0 {
		msg += "; still running: " + strings.Join(firstN(unfinished, 5), ", ")
		props["unfinished"] = unfinished
	}
	if sr.notRun > 0 {
		msg += fmt.Sprintf("; %d further run(s) were not started", sr.notRun)
	}
	if r.Report.Count().Total == 0 {
		msg += "; no test had started: the time went to building, downloading or setting up (warm the build and module caches, or allow longer)"
	}
	return msg
}

// requiredUnmatched ties each required pattern to the tests it matches
// (setting their pattern) and reports each pattern that matched none.
func (a *analysis) requiredUnmatched(hs []*testHistory, configFile string) {
	sr := a.sr
	anyObserved := false
	for i := range sr.runs {
		if sr.runs[i].observed() {
			anyObserved = true
		}
	}
	for pi := range sr.Required {
		p := &sr.Required[pi]
		matched := 0
		for _, h := range hs {
			if p.Match(&h.tc) || matchAny(p, h.cases) {
				matched++
				if h.pattern == nil {
					h.pattern = p
				}
			}
		}
		if matched > 0 {
			continue
		}
		msg := fmt.Sprintf("suite %s: required test %s is not in the report of any run", sr.Name, p.Value)
		if !anyObserved {
			msg = fmt.Sprintf("suite %s: required test %s was not shown to run: no run produced a readable report", sr.Name, p.Value)
		}
		props := map[string]any{"pattern": p.Value}
		if sim := similar(p.Value, hs); len(sim) > 0 {
			props["available"] = sim
			msg += "; the report's closest names: " + strings.Join(sim, ", ")
		}
		f := a.add(book.Finding("TESTS-REQUIRED-MISSING", a.subject(p.Value), msg, nil).With(props))
		if configFile != "" && p.Line > 0 {
			f.Location = &checks.Location{Path: configFile, Line: p.Line}
		}
	}
}

// verdict is what went wrong with one test across the runs.
type verdict struct {
	h    *testHistory
	rule string
	msg  string
}

// verdicts judges each test's outcomes across the runs, in test order.
func (a *analysis) verdicts(hs []*testHistory) []verdict {
	var out []verdict
	for _, h := range hs {
		if v, ok := a.judge(h); ok {
			out = append(out, v)
		}
	}
	return out
}

// judge is the verdict on one test, if any: a required test is judged
// more strictly (a skip or an absence is a finding) than any other.
func (a *analysis) judge(h *testHistory) (verdict, bool) {
	sr, of := a.sr, a.of
	pass, fail, skip, absent, retried := h.tally()
	runsWith := func(pred func(Outcome) bool) []int {
		var ns []int
		for i, o := range h.outcomes {
			if pred(o) {
				ns = append(ns, sr.runs[i].N)
			}
		}
		return ns
	}
	passNote := fmt.Sprintf("passed %d%s", pass, of)
	if retried > 0 {
		passNote += fmt.Sprintf(", and needed a retry to pass in %d run(s)", retried)
	}
	var v verdict
	switch {
	case h.pattern != nil && fail > 0:
		v = verdict{h, "TESTS-REQUIRED-FAILED", fmt.Sprintf("required test %s failed in %s%s (%s)", h.id, runList(runsWith(Outcome.failing)), of, passNote)}
		if pass > 0 {
			v.msg += ": flaky"
		}
	case h.pattern != nil && skip > 0:
		what := "skipped"
		if len(runsWith(func(o Outcome) bool { return o == XFailed })) > 0 {
			what = "marked as an expected failure (xfail/TODO)"
		}
		v = verdict{h, "TESTS-REQUIRED-SKIPPED", fmt.Sprintf("required test %s was %s in %s%s", h.id, what, runList(runsWith(Outcome.skipping)), of)}
	case h.pattern != nil && absent > 0:
		v = verdict{h, "TESTS-REQUIRED-MISSING", fmt.Sprintf("required test %s is missing from %s%s (present in the others)", h.id, runList(runsWith(func(o Outcome) bool { return o == Absent })), of)}
	case h.pattern != nil && retried > 0:
		v = verdict{h, "TESTS-REQUIRED-FAILED", fmt.Sprintf("required test %s passed only after the runner retried it (%s): flaky", h.id, passNote)}
	case h.pattern != nil:
		return verdict{}, false
	case fail > 0 && (pass > 0 || retried > 0):
		v = verdict{h, "TESTS-FLAKY", fmt.Sprintf("test %s is flaky: %s, failed in %s", h.id, passNote, runList(runsWith(Outcome.failing)))}
	case fail > 0:
		v = verdict{h, "TESTS-FAILED", fmt.Sprintf("test %s failed in %s%s", h.id, runList(runsWith(Outcome.failing)), of)}
	case retried > 0:
		v = verdict{h, "TESTS-FLAKY", fmt.Sprintf("test %s is flaky: %s", h.id, passNote)}
	default:
		return verdict{}, false
	}
	return v, true
}

// failing tells whether a verdict says the test failed (or flaked), as
// opposed to not running.
func (v verdict) failing() bool {
	return v.rule != "TESTS-REQUIRED-SKIPPED" && v.rule != "TESTS-REQUIRED-MISSING"
}

// testFindings reports the verdicts: a parent failing only because a
// subtest did is left out, and tests that are not required are capped at
// maxTestFindings, the rest summed up in one more finding.
func (a *analysis) testFindings(hs []*testHistory, verdicts []verdict) {
	sr := a.sr
	// A parent test fails because its subtest did: report the subtest only.
	failingClass := map[string]bool{}
	for _, v := range verdicts {
		if v.failing() {
			failingClass[v.h.id] = true
		}
	}
	hasFailingChild := map[string]bool{}
	for _, h := range hs {
		if failingClass[h.id] && h.tc.Parent != "" {
			hasFailingChild[h.tc.Parent] = true
		}
	}
	capped := 0
	var cappedIDs []string
	for _, v := range verdicts {
		h := v.h
		if h.pattern == nil && hasFailingChild[h.id] {
			continue
		}
		if h.pattern == nil {
			if capped >= maxTestFindings {
				cappedIDs = append(cappedIDs, h.id)
				continue
			}
			capped++
		}
		msg, props := a.testDetail(v)
		f := a.add(book.Finding(v.rule, a.subject(h.id), msg, nil).With(props))
		if loc := sr.location(&h.tc); loc != nil {
			f.Location = loc
		}
	}
	if len(cappedIDs) > 0 {
		msg := fmt.Sprintf("suite %s: %d more failing or flaky tests are not listed one by one: %s …", sr.Name, len(cappedIDs), strings.Join(firstN(cappedIDs, 5), ", "))
		a.add(book.Finding("TESTS-FAILED", a.subject("(more)"), msg, nil).With(map[string]any{"tests": firstN(cappedIDs, 1000), "count": len(cappedIDs)}))
	}
}

// testDetail is a test finding's message and properties, with the detail
// of the first run where the test went wrong.
func (a *analysis) testDetail(v verdict) (string, map[string]any) {
	h := v.h
	props := map[string]any{"test": h.id, "outcomes": h.outcomes}
	pass, _, _, _, _ := h.tally()
	props["passed"], props["runs"] = pass, a.total
	if h.pattern != nil {
		props["required"] = h.pattern.Value
	}
	msg := "suite " + a.sr.Name + ": " + v.msg
	for i, c := range h.cases {
		if c == nil || (c.Outcome == Passed && c.Retries == 0) {
			continue
		}
		if c.Message != "" {
			props["message"] = c.Message
			msg += ": " + c.Message
		}
		if c.Output != "" {
			props["output_tail"] = c.Output
		}
		props["log"] = a.sr.runs[i].Log
		break
	}
	return msg, props
}

// location is where a test's finding points: the file the report names,
// or the one its pytest node ID names when that file exists.
func (sr *suiteRun) location(tc *TestCase) *checks.Location {
	if tc.File == "" {
		return nil
	}
	if tc.FileFromID && !filepath.IsAbs(tc.File) {
		if st, err := os.Stat(filepath.Join(sr.Dir, filepath.FromSlash(tc.File))); err != nil || st.IsDir() {
			return nil
		}
	}
	return &checks.Location{Path: sr.relPath(tc.File), Line: tc.Line}
}

// relPath makes a path from a report (relative to the suite's directory)
// relative to the repository root, where findings' paths are read.
func (sr *suiteRun) relPath(p string) string {
	if filepath.IsAbs(p) || sr.baseDir == "" {
		return p
	}
	abs := filepath.Join(sr.Dir, p)
	if rel, err := filepath.Rel(sr.baseDir, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return abs
}

func matchAny(p *Pattern, cases []*TestCase) bool {
	for _, c := range cases {
		if c != nil && p.Match(c) {
			return true
		}
	}
	return false
}

// maxSimilar is how many names a TESTS-REQUIRED-MISSING finding suggests.
const maxSimilar = 5

// similar lists the report's test names closest to a required pattern that
// matched nothing, most similar first: a renamed or re-parametrised test is
// usually one of them. Names are compared by their last segment (the test
// function), then as a whole, by edit distance; a name containing the
// pattern's last segment (or contained in it) comes first, and names whose
// last segment is more different than alike are left out.
func similar(pattern string, hs []*testHistory) []string {
	p := strings.ToLower(strings.Trim(strings.TrimPrefix(pattern, "re:"), "*^$"))
	last := strings.ToLower(lastSegment(strings.ReplaceAll(p, ".", "/")))
	type cand struct {
		id       string
		contains bool
		score    int
	}
	var cs []cand
	for _, h := range hs {
		id := strings.ToLower(h.id)
		seg := strings.ToLower(lastSegment(strings.ReplaceAll(h.id, ".", "/")))
		d := levenshtein(last, seg)
		contains := len(last) >= 4 && (strings.Contains(seg, last) || strings.Contains(last, seg) && len(seg) >= 4)
		if !contains && d*2 > max(len(last), len(seg)) {
			continue // more different than alike
		}
		cs = append(cs, cand{h.id, contains, d*4 + levenshtein(p, id)})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].contains != cs[j].contains {
			return cs[i].contains
		}
		return cs[i].score < cs[j].score
	})
	var out []string
	for _, c := range cs {
		if len(out) == maxSimilar {
			break
		}
		out = append(out, c.id)
	}
	return out
}

// levenshtein is the edit distance of a and b in bytes, bounded so that a
// hostile report of long names costs little.
func levenshtein(a, b string) int {
	const maxLen = 256
	if len(a) > maxLen {
		a = a[:maxLen]
	}
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func lastSegment(id string) string {
	for _, sep := range []string{"::", "/", "#", " > "} {
		if i := strings.LastIndex(id, sep); i >= 0 {
			id = id[i+len(sep):]
		}
	}
	return id
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// causeLine is the line of a failed command's output that says why: a
// compiler's error, npm's own error (not its "A complete log…" pointer or
// its code/path bookkeeping), a line starting with error:/fatal:, else the
// last line.
func causeLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var npm []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "npm error ") || strings.HasPrefix(l, "npm ERR! "):
			rest := strings.TrimPrefix(strings.TrimPrefix(l, "npm error "), "npm ERR! ")
			if npmBookkeeping().MatchString(rest) {
				continue
			}
			npm = append(npm, l)
		case compilerLine().MatchString(l) || errorLine().MatchString(l):
			return truncateBytes(l, 300)
		}
	}
	if len(npm) > 0 {
		return truncateBytes(npm[0], 300)
	}
	return lastLine(s)
}

var (
	npmBookkeeping = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(code|syscall|path|errno|command|signal|cwd|A complete log|Log files were not written|\s*$)`)
	})
	// file.go:12:3: msg, file.c:4:1: error: msg, src/x.rs:3:5
	compilerLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\S+\.(go|c|cc|cpp|h|rs|ts|tsx|js|java|kt|py|swift):\d+(:\d+)?:? `)
	})
	errorLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(error(\[E\d+\])?|fatal|FATAL|ERROR|Error):? `)
	})
)

// compilerError is the first compiler diagnostic of go's build output.
func compilerError(lines []string) string {
	for _, l := range lines {
		for _, one := range strings.Split(l, "\n") {
			if one = strings.TrimSpace(one); compilerLine().MatchString(one) {
				return truncateBytes(one, 300)
			}
		}
	}
	return ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return truncateBytes(l, 300)
		}
	}
	return "(none)"
}

// Facts.

type suiteFacts struct {
	Name         string               `json:"name"`
	Format       string               `json:"format"`
	Command      []string             `json:"command"`
	Dir          string               `json:"dir"`
	Repeat       int                  `json:"repeat"`
	Timeout      string               `json:"timeout,omitempty"`
	Error        string               `json:"error,omitempty"`
	RunsNotRun   int                  `json:"runs_not_started,omitempty"`
	Runs         []runFacts           `json:"runs"`
	Tests        map[string][]Outcome `json:"tests"`
	TestsOmitted int                  `json:"tests_omitted,omitempty"`
	Required     []requiredFacts      `json:"required,omitempty"`
}

type runFacts struct {
	Run         int      `json:"run"`
	ExitCode    int      `json:"exit_code"`
	DurationMS  int64    `json:"duration_ms"`
	TimedOut    bool     `json:"timed_out,omitempty"`
	Died        string   `json:"died,omitempty"`
	Log         string   `json:"log"`
	Reports     []string `json:"reports,omitempty"`
	Missing     bool     `json:"report_missing,omitempty"`
	Stale       []string `json:"stale_reports,omitempty"`
	ReportError string   `json:"report_error,omitempty"`
	Notes       []string `json:"notes,omitempty"`
	Cached      []string `json:"cached_packages,omitempty"`
	Counts
}

type requiredFacts struct {
	Pattern string   `json:"pattern"`
	Matched []string `json:"matched"`
}

// maxFactTests bounds the per-test outcome table of one suite.
const maxFactTests = 2000

func factsOf(logDir string, runs []*suiteRun) map[string]any {
	var suites []suiteFacts
	for _, sr := range runs {
		sf := suiteFacts{Name: sr.Name, Format: sr.Report.Format, Command: sr.Command, Dir: sr.Dir, Repeat: sr.Repeat, RunsNotRun: sr.notRun, Runs: []runFacts{}, Tests: map[string][]Outcome{}}
		if sr.Timeout > 0 {
			sf.Timeout = sr.Timeout.D().String()
		}
		if sr.startErr != nil {
			sf.Error = sr.startErr.Error()
		}
		for _, r := range sr.runs {
			rf := runFacts{Run: r.N, ExitCode: r.ExitCode, DurationMS: r.Duration.Milliseconds(), TimedOut: r.TimedOut, Died: r.Died, Log: r.Log,
				Reports: r.Reports, Missing: r.Missing, Stale: r.Stale, Notes: r.Report.Notes, Cached: r.Report.Cached, Counts: r.Report.Count()}
			if r.ReportErr != nil {
				rf.ReportError = r.ReportErr.Error()
			}
			sf.Runs = append(sf.Runs, rf)
		}
		hs, _ := histories(sr)
		required := map[*testHistory]bool{}
		for pi := range sr.Required {
			p := &sr.Required[pi]
			rf := requiredFacts{Pattern: p.Value, Matched: []string{}}
			for _, h := range hs {
				if p.Match(&h.tc) || matchAny(p, h.cases) {
					rf.Matched = append(rf.Matched, h.id)
					required[h] = true
				}
			}
			sf.Required = append(sf.Required, rf)
		}
		// Interesting rows first: required (histories are not linked to
		// their patterns here, so the matches above say which), then
		// anything not all-passed; the table's cap drops the rest.
		interesting := func(h *testHistory) bool {
			if required[h] {
				return true
			}
			for _, o := range h.outcomes {
				if o != Passed {
					return true
				}
			}
			return false
		}
		for _, pass := range []bool{true, false} {
			for _, h := range hs {
				if interesting(h) != pass {
					continue
				}
				if len(sf.Tests) >= maxFactTests {
					sf.TestsOmitted++
					continue
				}
				sf.Tests[h.id] = h.outcomes
			}
		}
		suites = append(suites, sf)
	}
	raw, err := json.Marshal(map[string]any{"log_dir": logDir, "suites": suites})
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var facts map[string]any
	_ = json.Unmarshal(raw, &facts)
	return facts
}

func summarize(runs []*suiteRun) string {
	var c Counts
	nruns := 0
	for _, sr := range runs {
		for _, r := range sr.runs {
			n := r.Report.Count()
			c.Passed += n.Passed
			c.Failed += n.Failed
			c.Skipped += n.Skipped
			c.Errors += n.Errors
			nruns++
		}
	}
	s := fmt.Sprintf("%d suite(s), %d run(s): %d passed, %d failed, %d errors, %d skipped", len(runs), nruns, c.Passed, c.Failed, c.Errors, c.Skipped)
	if c.Passed+c.Failed+c.Errors+c.Skipped == 0 {
		// Zero of everything must not read as a clean run.
		s += "; no test was recorded"
	}
	return s
}
