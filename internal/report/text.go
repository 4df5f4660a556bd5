package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/readiness-dev/readiness/internal/evidence"
)

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

type painter bool

func (p painter) paint(code, s string) string {
	if !p {
		return s
	}
	return code + s + ansiReset
}

func (p painter) status(s string) string {
	switch s {
	case evidence.GatePass:
		return p.paint(ansiGreen, s)
	case evidence.GateFail, evidence.GateError:
		return p.paint(ansiRed, s)
	case evidence.GateWarn:
		return p.paint(ansiYellow, s)
	default:
		return p.paint(ansiDim, s)
	}
}

func writeText(w io.Writer, doc *evidence.Document, opts Options) error {
	p := painter(opts.Color)
	ew := &errWriter{w: w}

	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tBLOCKING\tDURATION\tSUMMARY")
	for _, g := range gateRows(doc) {
		// Pad before colouring so that escape codes do not skew columns.
		status := p.status(g.Status) + strings.Repeat(" ", max(0, 7-len(g.Status)))
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", g.Name, status, g.Blocking, g.duration(), truncate(oneLine(g.summary()), 80))
	}
	tw.Flush()
	for _, l := range strings.SplitAfter(table.String(), "\n") {
		// Cells padded for a missing summary leave trailing blanks.
		fmt.Fprint(ew, strings.TrimRight(l, " \n"), strings.Repeat("\n", strings.Count(l, "\n")))
	}

	cs := causes(doc, opts.Rules)
	tr := newTrend(doc, cs, opts)
	if tr != nil {
		// What changed comes first: it is what a release manager's
		// checklist asks since the last run.
		fmt.Fprintf(ew, "\n%s %s: %s\n", p.paint(ansiBold, "Since the last run"), "("+tr.Since+")", tr.Summary())
		for _, f := range tr.Fixed {
			fmt.Fprintf(ew, "  - %s [%s] %s", p.paint(ansiGreen, "fixed:"), f.Severity, f.Title)
			if f.Where != "" {
				fmt.Fprintf(ew, " (%s)", f.Where)
			}
			fmt.Fprintln(ew)
		}
	}
	if len(cs) > 0 {
		fmt.Fprintf(ew, "\n%s\n", p.paint(ansiBold, "Blocking:"))
		for i, c := range cs {
			mark := ""
			if st := tr.of(i); st != "" {
				mark = " " + p.paint(ansiBold, "("+st+")")
			}
			fmt.Fprintf(ew, "\n%d. %s%s %s\n", i+1, p.paint(ansiRed, "["+orDefault(c.Severity, "blocking")+"]"), mark, c.Title)
			if len(c.Checks) > 0 {
				fmt.Fprintf(ew, "   check: %s", strings.Join(c.Checks, ", "))
				if b := c.Members[0]; len(c.Members) == 1 && b.Finding != nil && b.Finding.ID != b.Finding.Rule {
					fmt.Fprintf(ew, "   finding: %s", b.Finding.ID)
				}
				fmt.Fprintln(ew)
			}
			if len(c.Members) > 1 {
				fmt.Fprintf(ew, "   %s:\n", count(len(c.Places), "place", "places"))
				for _, o := range c.Places {
					fmt.Fprintf(ew, "     - %s\n", o)
				}
			}
			if c.Fix != "" {
				fmt.Fprintf(ew, "   fix: %s\n", indentRest(strings.TrimSpace(c.Fix), "        "))
			}
		}
	}
	if len(doc.Verdict.Warn) > 0 {
		fmt.Fprintf(ew, "\n%s\n", p.paint(ansiBold, "Warnings:"))
		for _, m := range doc.Verdict.Warn {
			fmt.Fprintf(ew, "  - %s %s\n", p.paint(ansiYellow, "["+orDefault(m.Severity, "warn")+"]"), m.Msg)
		}
	}
	if other := unjudgedFindings(doc); len(other) > 0 {
		// A check that shows fail or warn must say why, even when its
		// findings are below what the policy blocks or warns on.
		fmt.Fprintf(ew, "\n%s\n", p.paint(ansiBold, "Other findings (not blocking):"))
		for _, x := range other {
			fmt.Fprintf(ew, "  - [%s] %s: %s", x.Finding.Severity, x.Check, x.Finding.Message)
			if x.Finding.ID != x.Finding.Rule {
				fmt.Fprintf(ew, " (%s)", x.Finding.ID)
			} else if x.Finding.Rule != "" {
				fmt.Fprintf(ew, " (%s)", x.Finding.Rule)
			}
			fmt.Fprintln(ew)
			if l := x.Finding.Location; l != nil && l.Path != "" {
				if l.Line > 0 {
					fmt.Fprintf(ew, "    at %s:%d\n", relPath(doc, l.Path), l.Line)
				} else {
					fmt.Fprintf(ew, "    at %s\n", relPath(doc, l.Path))
				}
			}
		}
	}
	if wf := waivedFindings(doc); len(wf) > 0 {
		fmt.Fprintf(ew, "\n%s\n", p.paint(ansiBold, "Waived:"))
		for _, x := range wf {
			fmt.Fprintf(ew, "  - %s: %s\n    %s\n", x.Check, x.Finding.ID, waiverNote(doc, x.Finding.WaivedBy))
		}
	}
	if vs := evidence.VEXSuppressed(doc); len(vs) > 0 {
		// Apart from the blockers: the findings a declared VEX answer
		// took out of the verdict, each with that answer.
		fmt.Fprintf(ew, "\n%s\n", p.paint(ansiBold, "Suppressed by VEX:"))
		for _, x := range vs {
			fmt.Fprintf(ew, "  - %s: %s\n    %s\n", x.Check, vexWhat(x), vexNote(doc, x))
		}
	}
	for _, r := range doc.Checks {
		if d := logDir(r); d != "" {
			fmt.Fprintf(ew, "\n%s logs: %s\n", r.Check, d)
		}
	}
	fmt.Fprintln(ew)
	line := VerdictLine(doc)
	if doc.GO() {
		fmt.Fprintln(ew, p.paint(ansiBold+ansiGreen, line))
	} else {
		fmt.Fprintln(ew, p.paint(ansiBold+ansiRed, line))
	}
	return ew.err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func indentRest(s, pre string) string {
	return strings.ReplaceAll(s, "\n", "\n"+pre)
}

// errWriter remembers the first write error so renderers can write freely.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
