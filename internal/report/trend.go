package report

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// Trend states of a blocker against an earlier run (check --compare).
const (
	trendNew   = "new"
	trendOpen  = "still open"
	trendFixed = "fixed"
)

// trend is what changed since an earlier run: each current cause new or
// still open, and the earlier run's causes that no longer block. It is a
// view: it never changes the verdict, the blockers shown, or their count.
// The earlier document is input from disk (maybe edited, maybe from a
// run long ago); the worst it can do is label a blocker "still open" that
// is new, never remove one.
type trend struct {
	// Since names the earlier run, as the reader can recognise it.
	Since string
	// State is each current cause's, in causes' order.
	State []string
	// Fixed are the earlier run's causes that no current blocker shares.
	Fixed     []fixedCause
	New, Open int
	// Unchecked counts earlier blockers whose checks gave no result this
	// run: not fixed, only not looked at.
	Unchecked int
	byKey     map[string]string
}

// fixedCause is an earlier blocker that no longer blocks, as shown: its
// text comes from a file, so it is one printable line.
type fixedCause struct {
	Rule, Severity, Title, Where string
	Places                       int
}

// newTrend compares the current causes with opts.Previous; nil when there
// is no earlier run to compare with.
func newTrend(doc *evidence.Document, cs []cause, opts Options) *trend {
	prev := opts.Previous
	if prev == nil {
		return nil
	}
	before := map[string]bool{}
	earlier := groupCauses(prev, opts.Rules, &locator{doc: prev, cache: map[string][]byte{}, offline: true})
	for _, p := range earlier {
		for _, k := range trendKeys(p) {
			before[k] = true
		}
	}
	t := &trend{Since: sinceLine(prev), byKey: map[string]string{}}
	now := map[string]bool{}
	for _, c := range cs {
		state := trendNew
		keys := trendKeys(c)
		for _, k := range keys {
			now[k] = true
			if before[k] {
				state = trendOpen
			}
		}
		for _, k := range keys {
			t.byKey[k] = state
		}
		if state == trendNew {
			t.New++
		} else {
			t.Open++
		}
		t.State = append(t.State, state)
	}
	for _, p := range earlier {
		gone := true
		for _, k := range trendKeys(p) {
			gone = gone && !now[k]
		}
		switch {
		case !gone:
		case !rechecked(doc, p):
			// Its check did not run to a result this time (left out,
			// errored, skipped): gone from the blockers, not fixed.
			t.Unchecked++
		default:
			t.Fixed = append(t.Fixed, fixedOf(p))
		}
	}
	return t
}

// fixedOf is an earlier cause as the fixed list shows it: what it was and,
// when a finding located it, where it was (the earlier run's line).
func fixedOf(p cause) fixedCause {
	title, where := p.Title, ""
	if m := p.Members[0]; len(p.Members) == 1 && m.Finding != nil {
		title = bareMessage(m) // the policy's message repeats the location
	}
	if f := p.Members[0].Finding; f != nil && f.Location != nil && f.Location.Path != "" {
		where = p.Where()
	}
	return fixedCause{Rule: printable(p.Rule), Severity: printable(orDefault(p.Severity, "blocking")),
		Title: printable(truncate(oneLine(title), 200)), Where: printable(where), Places: len(p.Places)}
}

// of is the state of the i-th cause, "" without a comparison.
func (t *trend) of(i int) string {
	if t == nil || i >= len(t.State) {
		return ""
	}
	return t.State[i]
}

// member is the state of the cause b belongs to, "" without a comparison.
func (t *trend) member(b blocker) string {
	if t == nil {
		return ""
	}
	return t.byKey[trendKey(b)]
}

// Summary is "1 new, 2 still open, 1 fixed", and how many earlier
// blockers this run did not look at again.
func (t *trend) Summary() string {
	s := count(t.New, "new", "new") + ", " + count(t.Open, "still open", "still open") + ", " + count(len(t.Fixed), "fixed", "fixed")
	if t.Unchecked > 0 {
		s += fmt.Sprintf(" (%s not checked again: %s left out, errored or skipped this run)", count(t.Unchecked, "earlier blocker", "earlier blockers"), plural(t.Unchecked, "its check was", "their checks were"))
	}
	return s
}

// rechecked reports whether every check an earlier cause belongs to ran
// to a result this run, so that its absence means it is fixed.
func rechecked(doc *evidence.Document, c cause) bool {
	for _, name := range c.Checks {
		r, ok := doc.Result(name)
		if !ok || r.Status == checks.StatusError || r.Status == checks.StatusSkipped {
			return false
		}
	}
	return true
}

// machine is a state as a property value: "still-open".
func machine(state string) string { return strings.ReplaceAll(state, " ", "-") }

// sinceLine names an earlier run: when, at which commit, by which build.
func sinceLine(prev *evidence.Document) string {
	s := "the run of " + prev.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC")
	if r := prev.Repository; r != nil && r.Commit != "" {
		s += " at commit " + short(r.Commit)
	}
	return printable(truncate(s, 120))
}

// trendKeys are what a cause is known by from one run to the next: what
// its members are about, never where they are (lines move) nor how a
// message words it (messages quote lines and counts).
func trendKeys(c cause) []string {
	var out []string
	for _, m := range c.Members {
		if k := trendKey(m); !contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

var digitRun = regexp.MustCompile(`[0-9]+`)

// trendKey is one blocker's key:
//   - a workflow finding: its rule, workflow and job (the grouping cause;
//     a job's unscanned signing steps stay one cause as steps are added);
//   - a vulnerability: its rule, check, CVE and package (the finding ID
//     names the image digest, which every rebuild changes);
//   - another finding: its rule, check and finding ID (stable: waivers
//     name findings by it);
//   - a policy message about a check or waiver (CHECK-ERROR, an expired
//     waiver): its rule, check and the finding or waiver it names;
//   - a custom rule's bare message: the message with its numbers taken out.
func trendKey(b blocker) string {
	rule := orDefault(b.Rule, "-")
	if f := b.Finding; f != nil {
		wf, job := property(b, "workflow"), property(b, "job")
		switch cve := property(b, "cve"); {
		case wf != "" && job != "":
			return "job\x00" + rule + "\x00" + wf + "\x00" + job
		case cve != "":
			return "cve\x00" + rule + "\x00" + b.Check + "\x00" + cve + "\x00" + property(b, "package")
		}
		return "finding\x00" + rule + "\x00" + b.Check + "\x00" + f.ID
	}
	if b.Rule != "" && (b.Check != "" || b.Message.Finding != "") {
		return "rule\x00" + rule + "\x00" + b.Check + "\x00" + b.Message.Finding
	}
	return "msg\x00" + rule + "\x00" + b.Check + "\x00" + digitRun.ReplaceAllString(oneLine(b.Msg), "#")
}

// printable drops control and bidirectional-override characters from text
// read from an earlier document, so that it cannot drive a terminal or
// reorder what a reader sees.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
}
