// Package shell reads the POSIX/bash scripts of workflow `run:` steps (and
// the scripts, Makefile recipes and eval strings they lead to) with
// mvdan.cc/sh's parser, and flattens them into the commands that run, in
// order, each with what decides whether its failure stops the script: the
// operator after it, whether an if/while tests it, negation, background,
// command substitution, and the errexit/pipefail state in force.
//
// It is not a shell and never runs anything. GitHub expressions ${{ … }}
// are kept whole, because the runner substitutes them before the shell
// ever runs.
package shell

import (
	"fmt"
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Assign is NAME=VALUE, as a command prefix or a command of its own.
type Assign struct {
	Name, Value string
	// Append is set for NAME+=VALUE.
	Append bool
}

// Redir is a redirection: the operator (>, >>, <, <<, <<<, …), its target
// and, for a here-document, its body.
type Redir struct {
	Op, Target string
	Heredoc    string
}

// Cmd is one simple command.
type Cmd struct {
	// Words are the command's words with quotes removed and backslash
	// escapes resolved; $VAR, ${VAR}, $(…) and ${{ … }} are kept as written.
	Words   []string
	Assigns []Assign
	Redirs  []Redir
	// Line is the 0-based line of the script the command starts on.
	Line int
	// Op is the operator after the command: "&&", "||", "|", ";", "&",
	// "\n", or "" at the end of the script.
	Op string
	// Pipe is the command's index in its pipeline of PipeLen commands;
	// PipeLast is the index in Script.Cmds of the pipeline's last command.
	Pipe, PipeLen, PipeLast int
	// List numbers the and-or lists (statements) of the script.
	List int
	// Negated is set for `! cmd`; Background for `cmd &`.
	Negated, Background bool
	// Cond is set for commands in the condition of if/elif/while/until;
	// FailExits when the condition's failure runs a branch that exits the
	// script with a failure.
	Cond, FailExits bool
	// InList is set for a command inside a compound command on the left
	// of && or ||, where errexit is ignored.
	InList bool
	// Subst is set for commands inside $(…), `…` or <(…): their failure
	// is the substitution's, not the script's.
	Subst bool
	// Block is the innermost if/while/until statement the command is in,
	// -1 when none; Group the innermost { … } or ( … ) group, -1 when none.
	Block, Group int
	// Errexit and Pipefail are the shell options in force.
	Errexit, Pipefail bool
	// LoopVar is set for `for NAME in WORDS` headers (Words are the list).
	LoopVar string
}

// Script is a parsed script, flattened.
type Script struct {
	Cmds []Cmd
	// BlockExits records, per if/while/until statement, whether one of its
	// branches exits the script with a failure (exit N≠0, exit, false,
	// return N≠0).
	BlockExits map[int]bool
	// Err is set when the script does not parse: Cmds then hold what runs
	// before the error (bash runs a script line by line), and the rest is
	// not visible.
	Err error
}

// MaxScriptBytes bounds what is parsed; the workflow file size limit keeps
// scripts far below it.
const MaxScriptBytes = 4 << 20

// maxNodes bounds the commands one script may flatten into, so that a
// pathological input cannot make the analysis unbounded.
const maxNodes = 20000

// Options derives errexit/pipefail from a step's `shell:` value, as the
// GitHub runner invokes it.
func Options(shell string) (errexit, pipefail, posix bool) {
	s := strings.TrimSpace(shell)
	switch s {
	case "":
		// Unspecified on Linux/macOS runners: bash -e {0}.
		return true, false, true
	case "bash":
		return true, true, true // bash --noprofile --norc -eo pipefail {0}
	case "sh":
		return true, false, true // sh -e {0}
	case "pwsh", "powershell", "cmd", "python":
		// Native commands' exit codes do not stop these scripts; the step
		// fails on the last command's status.
		return false, false, false
	}
	// A custom shell: `bash -x {0}`, `bash -eo pipefail {0}`, …
	f := strings.Fields(s)
	if len(f) == 0 {
		return true, false, true
	}
	base := path.Base(f[0])
	posix = base == "bash" || base == "sh" || base == "dash" || base == "zsh" || base == "ksh"
	errexit, pipefail = ApplySet(f[1:], false, false)
	return errexit, pipefail, posix
}

// ApplySet updates errexit/pipefail for `set` (or shell) arguments.
func ApplySet(args []string, errexit, pipefail bool) (bool, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || (a[0] != '-' && a[0] != '+') || strings.HasPrefix(a, "--") {
			continue
		}
		on := a[0] == '-'
		flags := a[1:]
		if strings.Contains(flags, "o") && i+1 < len(args) {
			switch args[i+1] {
			case "pipefail":
				pipefail = on
			case "errexit":
				errexit = on
			}
			i++
		}
		if strings.Contains(flags, "e") {
			errexit = on
		}
	}
	return errexit, pipefail
}

// ExitsWithFailure reports whether a command ends the script with a
// non-zero status: exit N (N≠0), a bare exit (the last status, which is
// the failure being handled), false, return N≠0.
func ExitsWithFailure(words []string) bool {
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "exit", "return":
		return len(words) == 1 || words[1] != "0"
	case "false":
		return true
	}
	return false
}

// SplitAssign recognises NAME=VALUE, and NAME+=VALUE (returned with the
// name "NAME+").
func SplitAssign(w string) (string, string, bool) {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return "", "", false
	}
	name := w[:eq]
	if strings.HasSuffix(name, "+") && len(name) > 1 {
		n, _, ok := SplitAssign(name[:len(name)-1] + "=")
		return n + "+", w[eq+1:], ok
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return "", "", false
		}
	}
	return name, w[eq+1:], true
}

// Parse parses and flattens a script. errexit and pipefail are the
// options the shell starts with.
func Parse(src string, errexit, pipefail bool) Script {
	sc := Script{BlockExits: map[int]bool{}}
	if len(src) > MaxScriptBytes {
		src = src[:MaxScriptBytes]
		sc.Err = fmt.Errorf("the script is over %d bytes; the rest was not read", MaxScriptBytes)
	}
	masked, exprs := maskExprs(src)
	f, err := parse(masked)
	if err != nil {
		sc.Err = err
		// What precedes the line of the error still runs.
		if pe, ok := err.(syntax.ParseError); ok && pe.Pos.Line() > 1 {
			f, _ = parse(prefixLines(masked, int(pe.Pos.Line())-1))
		} else {
			f = nil
		}
	}
	if f == nil {
		return sc
	}
	w := &walker{src: masked, exprs: exprs, sc: &sc, errexit: errexit, pipefail: pipefail, block: -1, group: -1}
	w.stmts(f.Stmts, true)
	if w.overflow {
		sc.Err = fmt.Errorf("the script flattens into more than %d commands; the rest was not read", maxNodes)
	}
	w.pipes()
	return sc
}

func parse(src string) (*syntax.File, error) {
	p := syntax.NewParser(syntax.Variant(syntax.LangBash))
	return p.Parse(strings.NewReader(src), "")
}

// prefixLines returns the first n lines of s.
func prefixLines(s string, n int) string {
	off := 0
	for i := 0; i < n; i++ {
		j := strings.IndexByte(s[off:], '\n')
		if j < 0 {
			return s
		}
		off += j + 1
	}
	return s[:off]
}

// exprMark starts the placeholder that stands for one ${{ … }} while the
// script is parsed; the shell reads it as a plain word.
const exprMark = "__GHEXPR"

// maskExprs replaces every ${{ … }} with a placeholder word, because the
// runner substitutes expressions before the shell sees the script.
func maskExprs(s string) (string, []string) {
	if !strings.Contains(s, "${{") {
		return s, nil
	}
	var b strings.Builder
	var exprs []string
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			break
		}
		k := strings.Index(s[i+3:], "}}")
		if k < 0 {
			break
		}
		end := i + 3 + k + 2
		b.WriteString(s[:i])
		fmt.Fprintf(&b, "%s%d__", exprMark, len(exprs))
		exprs = append(exprs, s[i:end])
		s = s[end:]
	}
	b.WriteString(s)
	return b.String(), exprs
}

// unmask puts the expressions back into a word.
func (w *walker) unmask(s string) string {
	if len(w.exprs) == 0 || !strings.Contains(s, exprMark) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, exprMark)
		if i < 0 {
			break
		}
		rest := s[i+len(exprMark):]
		n, j := 0, 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			n = n*10 + int(rest[j]-'0')
			j++
		}
		if j == 0 || !strings.HasPrefix(rest[j:], "__") || n >= len(w.exprs) {
			b.WriteString(s[:i+len(exprMark)])
			s = rest
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(w.exprs[n])
		s = rest[j+2:]
	}
	b.WriteString(s)
	return b.String()
}
