package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// writeGitHub prints GitHub Actions workflow commands, as conftest's
// `-o github` does: one ::error per blocking message and one ::warning per
// warning, each located at a file and line when one is known, so that they
// show inline on the pull request without code scanning. Waived findings
// become ::notice lines naming the waiver. The verdict ends the output.
func writeGitHub(w io.Writer, doc *evidence.Document, opts Options) error {
	ew := &errWriter{w: w}
	loc := newLocator(doc)
	cs := causes(doc, opts.Rules)
	tr := newTrend(doc, cs, opts)
	for i, c := range cs {
		// One annotation per cause, at its first place, naming the others:
		// twelve identical annotations would bury the other causes.
		msg := c.Title
		if len(c.Members) > 1 {
			msg += "\n" + count(len(c.Places), "place", "places") + ":"
			for _, o := range c.Places {
				msg += "\n- " + o.String()
			}
		}
		if c.Fix != "" {
			msg += "\nFix: " + strings.TrimSpace(c.Fix)
		}
		title := orDefault(c.Rule, "readiness")
		if st := tr.of(i); st != "" {
			title += " (" + st + ")"
		}
		writeCommand(ew, "error", firstPlace(c), title, msg)
	}
	if tr != nil {
		// The earlier run's blockers that no longer block: notices at no
		// place (their lines are the earlier run's).
		for _, f := range tr.Fixed {
			msg := "[" + f.Severity + "] " + f.Title
			if f.Where != "" {
				msg += " (was at " + f.Where + ")"
			}
			writeCommand(ew, "notice", place{}, orDefault(f.Rule, "readiness")+" (fixed since the last run)", msg)
		}
		writeCommand(ew, "notice", place{}, "readiness: since the last run", "Compared with "+tr.Since+": "+tr.Summary()+".")
	}
	for _, m := range doc.Verdict.Warn {
		b := blocker{Message: m, Finding: findingOf(doc, m)}
		writeCommand(ew, "warning", loc.of(b), orDefault(m.Rule, "readiness"), m.Msg)
	}
	for _, x := range waivedFindings(doc) {
		f := x.Finding
		b := blocker{Message: evidence.Message{Check: x.Check, Rule: f.Rule, Finding: f.ID}, Finding: &f}
		writeCommand(ew, "notice", loc.of(b), f.Rule+" (waived)", f.Message+"\n"+waiverNote(doc, f.WaivedBy))
	}
	for _, x := range evidence.VEXSuppressed(doc) {
		// Located as a finding without a place: its check's entry.
		b := blocker{Message: evidence.Message{Check: x.Check}, Finding: &checks.Finding{ID: x.Finding, Rule: ruleOfID(x.Finding)}}
		writeCommand(ew, "notice", loc.of(b), ruleOfID(x.Finding)+" (suppressed by VEX)", vexWhat(x)+"\n"+vexNote(doc, x))
	}
	fmt.Fprintln(ew, VerdictLine(doc))
	return ew.err
}

// ruleOfID is the rule of a finding ID (RULE/subject…).
func ruleOfID(id string) string {
	rule, _, _ := strings.Cut(id, "/")
	return rule
}

// writeCommand writes one workflow command with escaped properties and data.
func writeCommand(w io.Writer, cmd string, p place, title, msg string) {
	var props []string
	if p.Path != "" {
		props = append(props, "file="+escapeProperty(p.Path))
		if p.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", p.Line))
		}
	}
	props = append(props, "title="+escapeProperty(title))
	fmt.Fprintf(w, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
}

// escapeData escapes a workflow command's message, as @actions/core does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a property value: also ':' and ',', which would
// otherwise end the value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
