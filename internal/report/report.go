// Package report renders an evidence document: text for people at a
// terminal, json (the document itself), markdown for pull requests and job
// summaries, SARIF for code scanning, JUnit for CI test views, HTML for the
// release manager's page, github for workflow-command annotations. Every format
// writes to an io.Writer; none decides anything.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// Renderer writes doc in one format.
type Renderer func(w io.Writer, doc *evidence.Document, opts Options) error

// registry is the one list of output formats, in the order help shows
// them. Adding a format is adding a line here.
var registry = []struct {
	name  string
	write Renderer
}{
	{"text", writeText},
	{"json", func(w io.Writer, doc *evidence.Document, _ Options) error { return doc.Encode(w) }},
	{"markdown", writeMarkdown},
	{"sarif", writeSARIF},
	{"junit", writeJUnit},
	{"html", writeHTML},
	{"github", writeGitHub},
}

// Formats lists the output formats, from the registry.
var Formats = func() []string {
	var out []string
	for _, r := range registry {
		out = append(out, r.name)
	}
	return out
}()

// Options adjust rendering.
type Options struct {
	// Color enables ANSI colour (text only).
	Color bool
	// Rules documents rule IDs, for remediation text and SARIF rules.
	Rules map[string]checks.Rule
	// Releases, keyed by image digest, say what `image release` signed
	// and attested (HTML only); the evidence itself cannot record it.
	Releases map[string]Release
	// Previous is an earlier run's evidence (check --compare): every human
	// format marks each blocker new or still open and lists the earlier
	// blockers now fixed. It never changes the verdict.
	Previous *evidence.Document
}

// Write renders doc in format.
func Write(w io.Writer, format string, doc *evidence.Document, opts Options) error {
	for _, r := range registry {
		if r.name == format {
			return r.write(w, doc, opts)
		}
	}
	return fmt.Errorf("unknown format %q; use one of %s", format, strings.Join(Formats, ", "))
}

// VerdictLine is the one-line verdict: "GO" or "NO-GO: N blocking findings in M checks".
func VerdictLine(doc *evidence.Document) string {
	if doc.Verdict.Summary != "" {
		return doc.Verdict.Summary
	}
	return doc.Verdict.Decision
}

// notRunList names the configured checks a partial run left out.
func notRunList(doc *evidence.Document) string {
	var n []string
	for _, c := range doc.NotRun {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

// Explain prints the long form of a rule.
func Explain(w io.Writer, r checks.Rule) error {
	_, err := fmt.Fprintf(w, "%s — %s\nseverity: %s\n\n%s\n\nWhat to do:\n%s\n", r.ID, r.Title, r.Severity,
		strings.TrimSpace(r.Description), indent(strings.TrimSpace(r.Remediation), "  "))
	return err
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pre + l
		}
	}
	return strings.Join(lines, "\n")
}

// blocker is a deny message with the finding it is about, when it has one.
type blocker struct {
	evidence.Message
	Finding *checks.Finding
}

// blockers pairs deny messages with their findings, in document order.
func blockers(doc *evidence.Document) []blocker {
	var out []blocker
	for _, m := range doc.Verdict.Deny {
		out = append(out, blocker{Message: m, Finding: findingOf(doc, m)})
	}
	return out
}

// findingOf is the finding a message is about, or nil.
func findingOf(doc *evidence.Document, m evidence.Message) *checks.Finding {
	if m.Check == "" || m.Finding == "" {
		return nil
	}
	if r, ok := doc.Result(m.Check); ok {
		for i := range r.Findings {
			if r.Findings[i].ID == m.Finding {
				return &r.Findings[i]
			}
		}
	}
	return nil
}

// waiverOf is the configured waiver with this ID.
func waiverOf(doc *evidence.Document, id string) (evidence.WaiverStatus, bool) {
	for _, w := range doc.Waivers {
		if w.ID == id {
			return w, true
		}
	}
	return evidence.WaiverStatus{}, false
}

// waiverNote says who accepted a waived finding, why, and until when.
func waiverNote(doc *evidence.Document, id string) string {
	if at, ok := strings.CutPrefix(id, "policy:"); ok {
		// policy.PolicyWaiverPrefix: no readiness.yaml waiver, no owner,
		// no expiry; say where the code is.
		return "waived by policy code at " + at + " (no readiness.yaml waiver: no reason, owner or expiry)"
	}
	w, ok := waiverOf(doc, id)
	if !ok {
		return "waived by " + id
	}
	return fmt.Sprintf("waived by %s: %s (owner %s, expires %s)", id, oneLine(w.Reason), w.Owner, w.Expires)
}

// remediation for a blocker: the finding's own, else the rule's.
func remediation(b blocker, rules map[string]checks.Rule) string {
	if b.Finding != nil && b.Finding.Remediation != "" {
		return b.Finding.Remediation
	}
	if r, ok := rules[b.Rule]; ok {
		rem := strings.TrimSpace(r.Remediation)
		if b.Check != "" {
			// CHECK-ERROR's command names the check that errored.
			rem = strings.ReplaceAll(rem, "--only NAME", "--only "+b.Check)
		}
		return rem
	}
	return ""
}

// gateRow is one configured check as every format's status table shows
// it: the status the verdict gives it (evidence.Document.Gates), never the
// check's own "fail", which only says it found something.
type gateRow struct {
	evidence.GateStatus
	// Result is nil for a check left out of the run.
	Result *checks.Result
}

// gateRows lists the checks that ran, then those left out.
func gateRows(doc *evidence.Document) []gateRow {
	var out []gateRow
	for _, g := range doc.Gates() {
		row := gateRow{GateStatus: g}
		if r, ok := doc.Result(g.Name); ok && g.Status != evidence.GateNotRun {
			row.Result = r
		}
		out = append(out, row)
	}
	return out
}

// summary is the check's summary, its error when it errored, or why it
// did not run.
func (g gateRow) summary() string {
	switch {
	case g.Result == nil:
		return "not run: left out of this partial run"
	case g.Result.Status == checks.StatusError:
		return g.Result.Error
	}
	return g.Result.Summary
}

func (g gateRow) duration() string {
	if g.Result == nil {
		return "-"
	}
	return duration(g.Result.DurationMS)
}

func duration(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%dms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1fs", float64(ms)/1000)
	default:
		return fmt.Sprintf("%dm%02ds", ms/60_000, (ms/1000)%60)
	}
}

// waivedFindings lists findings covered by waivers, by check.
func waivedFindings(doc *evidence.Document) []struct {
	Check   string
	Finding checks.Finding
} {
	var out []struct {
		Check   string
		Finding checks.Finding
	}
	for _, r := range doc.Checks {
		for _, f := range r.Findings {
			if f.WaivedBy != "" {
				out = append(out, struct {
					Check   string
					Finding checks.Finding
				}{r.Check, f})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Check < out[j].Check })
	return out
}

// vexNote says what a VEX statement answered for a finding it suppressed,
// and which document said so.
func vexNote(doc *evidence.Document, s evidence.CheckSuppressed) string {
	note := s.Status
	if s.Statement != "" {
		note += ": " + s.Statement
	}
	return note + " (VEX document " + relPath(doc, s.Source) + ")"
}

// vexWhat names a finding a VEX statement suppressed: its ID, and its
// package when the ID does not show it.
func vexWhat(s evidence.CheckSuppressed) string {
	if s.Package == "" || strings.Contains(s.Finding, "/"+s.Package+"/") {
		return s.Finding
	}
	return s.Finding + " in " + s.Package
}

type checkFinding struct {
	Check   string
	Finding checks.Finding
}

// unjudgedFindings lists, for every check whose status is not pass, the
// unwaived findings that no deny or warn message names: a low finding that
// made a check fail would otherwise appear nowhere in the text report.
func unjudgedFindings(doc *evidence.Document) []checkFinding {
	named := map[string]bool{}
	for _, ms := range [][]evidence.Message{doc.Verdict.Deny, doc.Verdict.Warn} {
		for _, m := range ms {
			named[m.Check+"\x00"+m.Finding] = true
		}
	}
	var out []checkFinding
	for _, r := range doc.Checks {
		if r.Status == checks.StatusPass {
			continue
		}
		for _, f := range r.Findings {
			if f.WaivedBy == "" && !named[r.Check+"\x00"+f.ID] {
				out = append(out, checkFinding{r.Check, f})
			}
		}
	}
	return out
}
