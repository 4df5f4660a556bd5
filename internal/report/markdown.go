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
	cs := causes(doc, opts.Rules)
	tr := newTrend(doc, cs, opts)
	if tr != nil {
		fmt.Fprintf(ew, "\n### Since the last run\n\nCompared with %s: %s.\n", mdEscape(tr.Since), mdEscape(tr.Summary()))
		if len(tr.Fixed) > 0 {
			fmt.Fprintln(ew)
		}
		for _, f := range tr.Fixed {
			fmt.Fprintf(ew, "- ✔️ _fixed:_ **%s** %s", mdEscape(f.Severity), mdEscape(f.Title))
			if f.Where != "" {
				fmt.Fprintf(ew, " (%s)", mdCode(f.Where))
			}
			fmt.Fprintln(ew)
		}
	}
	if len(cs) > 0 {
		fmt.Fprintf(ew, "\n### Blocking\n\n")
		for i, c := range cs {
			fmt.Fprintf(ew, "- **%s** ", mdEscape(orDefault(c.Severity, "blocking")))
			switch tr.of(i) {
			case trendNew:
				fmt.Fprint(ew, "🆕 _new_ · ")
			case trendOpen:
				fmt.Fprint(ew, "_still open_ · ")
			}
			fmt.Fprint(ew, mdEscape(c.Title))
			fixSep := "  \n  "
			if len(c.Members) > 1 {
				fmt.Fprintf(ew, "  \n  %s:\n", count(len(c.Places), "place", "places"))
				for _, o := range c.Places {
					fmt.Fprintf(ew, "  - %s\n", mdCode(o.place.String())+mdNote(o.Note))
				}
				fixSep = "\n  "
			}
			if c.Fix != "" {
				fmt.Fprintf(ew, "%s_Fix:_ %s", fixSep, mdFix(c.Fix))
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
	if vs := evidence.VEXSuppressed(doc); len(vs) > 0 {
		fmt.Fprintf(ew, "\n### Suppressed by VEX\n\n| Check | Finding | Package | Status | Justification | VEX document |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, x := range vs {
			fmt.Fprintf(ew, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(x.Check), mdCode(x.Finding), mdEscape(x.Package), mdEscape(x.Status), mdEscape(x.Statement), mdEscape(relPath(doc, x.Source)))
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

// mdCode is s as inline code, fenced with more backticks than it holds.
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func mdNote(note string) string {
	if note == "" {
		return ""
	}
	return " (" + mdEscape(note) + ")"
}

// mdFix is a remedy inside a list item: prose on one line (its `code`
// spans kept), and each run of command lines as a fenced block a reader
// can copy whole (GitHub gives it a copy button), as the HTML page does.
func mdFix(text string) string {
	var b strings.Builder
	for _, part := range remedyParts(text) {
		if !part.Command {
			b.WriteString(mdEscape(strings.Join(part.Lines, " ")))
			continue
		}
		fence := "```"
		for strings.Contains(strings.Join(part.Lines, "\n"), fence) {
			fence += "`"
		}
		b.WriteString("\n\n  " + fence + "sh\n")
		for _, c := range part.Lines {
			b.WriteString("  " + c + "\n")
		}
		b.WriteString("  " + fence + "\n\n ")
	}
	return strings.TrimRight(b.String(), " \n")
}

// remedyPart is a run of a remedy's lines: prose, or commands (lines that
// start with a program a remedy names), which every format shows as
// commands a reader can copy.
type remedyPart struct {
	Command bool
	Lines   []string
}

// remedyParts splits a remedy into its runs of prose and of commands.
func remedyParts(text string) []remedyPart {
	var parts []remedyPart
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		cmd := commandLine(l)
		if n := len(parts); n > 0 && parts[n-1].Command == cmd {
			parts[n-1].Lines = append(parts[n-1].Lines, l)
			continue
		}
		parts = append(parts, remedyPart{Command: cmd, Lines: []string{l}})
	}
	return parts
}
