package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/readiness-dev/readiness/internal/evidence"
)

func writeMarkdown(w io.Writer, doc *evidence.Document, opts Options) error {
	ew := &errWriter{w: w}
	icon := "✅"
	if !doc.GO() {
		icon = "⛔"
	}
	fmt.Fprintf(ew, "## %s readiness: %s\n\n", icon, mdEscape(VerdictLine(doc)))
	if doc.Repository != nil && doc.Repository.Commit != "" {
		fmt.Fprintf(ew, "Commit `%s`", short(doc.Repository.Commit))
		if doc.Repository.Branch != "" {
			fmt.Fprintf(ew, " on `%s`", doc.Repository.Branch)
		}
		fmt.Fprintf(ew, " · readiness %s\n\n", doc.Tool.Version)
	}
	fmt.Fprintln(ew, "| Check | Status | Blocking | Duration | Summary |")
	fmt.Fprintln(ew, "| --- | --- | ---: | ---: | --- |")
	for _, g := range gateRows(doc) {
		fmt.Fprintf(ew, "| %s | %s %s | %d | %s | %s |\n", mdEscape(g.Name), statusIcon(g.Status), g.Status, g.Blocking, g.duration(), mdEscape(truncate(oneLine(g.summary()), 120)))
	}
	if bl := blockers(doc); len(bl) > 0 {
		fmt.Fprintf(ew, "\n### Blocking\n\n")
		for _, b := range bl {
			fmt.Fprintf(ew, "- **%s** %s", mdEscape(orDefault(b.Severity, "blocking")), mdEscape(b.Msg))
			if rem := remediation(b, opts.Rules); rem != "" {
				fmt.Fprintf(ew, "  \n  _Fix:_ %s", mdEscape(oneLine(rem)))
			}
			fmt.Fprintln(ew)
		}
	}
	if len(doc.Verdict.Warn) > 0 {
		fmt.Fprintf(ew, "\n### Warnings\n\n")
		for _, m := range doc.Verdict.Warn {
			fmt.Fprintf(ew, "- %s %s\n", mdEscape(orDefault(m.Severity, "warn")), mdEscape(m.Msg))
		}
	}
	if len(doc.Waivers) > 0 {
		fmt.Fprintf(ew, "\n### Waivers\n\n| Waiver | Owner | Reason | Expires | State | Matched |\n| --- | --- | --- | --- | --- | ---: |\n")
		for _, wv := range doc.Waivers {
			fmt.Fprintf(ew, "| `%s` | %s | %s | %s | %s | %d |\n", mdEscape(wv.ID), mdEscape(wv.Owner), mdEscape(oneLine(wv.Reason)), mdEscape(wv.Expires), wv.State, len(wv.Matched))
		}
	}
	var all []string
	for _, r := range doc.Checks {
		for _, f := range r.Findings {
			msg := mdEscape(truncate(oneLine(f.Message), 160))
			if f.WaivedBy != "" {
				msg += " (" + mdEscape(waiverNote(doc, f.WaivedBy)) + ")"
			}
			all = append(all, fmt.Sprintf("| %s | `%s` | %s | %s |", mdEscape(r.Check), mdEscape(f.ID), f.Severity, msg))
		}
	}
	if len(all) > 0 {
		summary := fmt.Sprintf("All %d findings", len(all))
		if len(all) == 1 {
			summary = "The finding"
		}
		fmt.Fprintf(ew, "\n<details><summary>%s</summary>\n\n| Check | Finding | Severity | Message |\n| --- | --- | --- | --- |\n%s\n\n</details>\n", summary, strings.Join(all, "\n"))
	}
	return ew.err
}

// statusIcon marks a gate status; only fail and error are red.
func statusIcon(s string) string {
	switch s {
	case evidence.GatePass:
		return "✅"
	case evidence.GateWarn:
		return "⚠️"
	case evidence.GateFail:
		return "❌"
	case evidence.GateError:
		return "💥"
	default:
		return "⏭️"
	}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

var mdReplacer = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ")

func mdEscape(s string) string { return mdReplacer.Replace(s) }
