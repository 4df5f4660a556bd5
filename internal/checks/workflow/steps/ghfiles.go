package steps

import (
	"regexp"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// unknownWrite is the value of a variable or output written in a way the
// gate cannot read (printf with a computed format, a here-document of
// computed lines, tee): it is opaque, so nothing compares equal to it.
const unknownWrite = "${VALUE_WRITTEN_AT_RUN_TIME}"

// ghWrite is what one command writes to $GITHUB_ENV or $GITHUB_OUTPUT.
type ghWrite struct {
	env bool // GITHUB_ENV; otherwise GITHUB_OUTPUT
	// vals are NAME=VALUE lines, in order (a later one wins); unknown
	// names a variable written with a value that cannot be read.
	vals    [][2]string
	unknown []string
	// all is set when the names written cannot be read either.
	all bool
}

var ghNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]*)(=|<<)(.*)$`) })

// githubFileWrite reads a command that appends to $GITHUB_ENV or
// $GITHUB_OUTPUT: echo and printf (with %s filled in), cat with a
// here-document, tee. ok is false when it writes to neither.
func githubFileWrite(c *shell.Cmd, res func(string) string) (ghWrite, bool) {
	var w ghWrite
	target, heredoc := "", ""
	for _, r := range c.Redirs {
		switch {
		case strings.Contains(r.Target, "GITHUB_ENV") || strings.Contains(r.Target, "GITHUB_OUTPUT"):
			target = r.Target
		case r.Heredoc != "":
			heredoc = r.Heredoc
		}
	}
	ws := c.Words
	if len(ws) > 0 && ws[0] == "tee" {
		for _, x := range ws[1:] {
			if strings.Contains(x, "GITHUB_ENV") || strings.Contains(x, "GITHUB_OUTPUT") {
				target = x
			}
		}
	}
	if target == "" || len(ws) == 0 {
		return w, false
	}
	w.env = strings.Contains(target, "GITHUB_ENV")
	text, known := "", true
	switch ws[0] {
	case "echo":
		args := ws[1:]
		for len(args) > 0 && (args[0] == "-e" || args[0] == "-n" || args[0] == "-E") {
			args = args[1:]
		}
		text = strings.Join(args, " ")
	case "printf":
		text, known = printfText(ws[1:])
	case "cat":
		text, known = heredoc, heredoc != "" && len(ws) == 1
	default:
		known = false // tee, a function, a program: the lines are not visible
	}
	if !known {
		w.all = true
		return w, true
	}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		m := ghNameRE().FindStringSubmatch(l)
		if m == nil {
			w.all = true // echo "$line" >> "$GITHUB_ENV": which name is not visible
			continue
		}
		if m[2] == "<<" {
			// NAME<<DELIM, the value's lines, DELIM.
			delim, val, closed := strings.TrimSpace(m[3]), []string{}, false
			for i++; i < len(lines); i++ {
				if strings.TrimSpace(lines[i]) == delim {
					closed = true
					break
				}
				val = append(val, lines[i])
			}
			if closed && delim != "" {
				w.vals = append(w.vals, [2]string{m[1], res(strings.Join(val, "\n"))})
			} else {
				w.unknown = append(w.unknown, m[1])
			}
			continue
		}
		w.vals = append(w.vals, [2]string{m[1], res(m[3])})
	}
	return w, true
}

// printfText fills a printf format's %s (and %b, %d) with its arguments;
// known is false for a format that is not a literal.
func printfText(args []string) (string, bool) {
	if len(args) == 0 || strings.ContainsAny(args[0], "$`") {
		return "", false
	}
	format, rest := args[0], args[1:]
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		ch := format[i]
		switch {
		case ch == '\\' && i+1 < len(format):
			i++
			switch format[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(format[i])
			}
		case ch == '%' && i+1 < len(format):
			i++
			switch format[i] {
			case '%':
				b.WriteByte('%')
			case 's', 'b', 'd', 'q':
				if len(rest) > 0 {
					b.WriteString(rest[0])
					rest = rest[1:]
				}
			default:
				return "", false
			}
		default:
			b.WriteByte(ch)
		}
	}
	return b.String(), true
}

// recordWrite applies a write: a step output is set at once (only later
// steps read it), an environment variable when the step ends (the step's
// own commands still see the old value); the last write wins.
func (w *jobWalk) recordWrite(s *graph.Step, x ghWrite) {
	if !x.env {
		if s.Written == nil {
			s.Written = map[string]string{}
		}
		if x.all {
			// Any output may have been overwritten with something unseen.
			for k := range s.Written {
				s.Written[k] = unknownWrite
			}
			s.WrittenAll = true
		}
		for _, kv := range x.vals {
			s.Written[kv[0]] = kv[1]
		}
		for _, n := range x.unknown {
			s.Written[n] = unknownWrite
		}
		return
	}
	if w.pending == nil {
		w.pending = model.Env{}
	}
	if x.all {
		w.pendingAll = true
	}
	for _, kv := range x.vals {
		w.pending[kv[0]] = kv[1]
	}
	for _, n := range x.unknown {
		w.pending[n] = unknownWrite
	}
}

// flushEnv makes a finished step's $GITHUB_ENV writes visible to the steps
// after it. A write whose names cannot be read leaves every variable
// written so far unknown: any of them may have been overwritten.
func (w *jobWalk) flushEnv() {
	if w.pendingAll {
		for k := range w.Dyn {
			w.Dyn[k] = unknownWrite
		}
	}
	for k, v := range w.pending {
		w.Dyn[k] = v
	}
	w.pending, w.pendingAll = nil, false
}
