package workflow

import (
	"path"
	"strings"
)

// This file is a small tokenizer for the POSIX-shell scripts in `run:`
// steps. It is not a shell: it splits a script into simple commands and
// records, for each, what decides whether its failure stops the script —
// the operator after it (&&, ||, |, ;, &), whether it is tested by an
// if/while, negated, and the errexit/pipefail state (set -e, set +e,
// set -o pipefail) in force. GitHub expressions ${{ … }} are kept whole,
// because the runner substitutes them before the shell ever runs.

// shWord is one shell word.
type shWord struct {
	// Text is the word with quotes removed and backslash escapes resolved;
	// $VAR, ${VAR}, $(…) and ${{ … }} are kept as written.
	Text string
}

// shAssign is NAME=VALUE, as a command prefix or a command of its own.
type shAssign struct {
	Name, Value string
}

// shRedir is a redirection: the operator (>, >>, <, <<, …) and its target.
type shRedir struct {
	Op, Target string
}

// shCmd is one simple command.
type shCmd struct {
	Words   []shWord
	Assigns []shAssign
	Redirs  []shRedir
	// Line is the 0-based line of the script the command starts on.
	Line int
	// Op is the operator after the command: "&&", "||", "|", ";", "&",
	// "\n", or "" at the end of the script.
	Op string
	// Pipe is the command's index in its pipeline of PipeLen commands.
	Pipe, PipeLen int
	// List numbers the and-or lists (statements) of the script.
	List int
	// Negated is set for `! cmd`.
	Negated bool
	// Cond is set for commands in the condition of if/elif/while/until.
	Cond bool
	// Block is the innermost if/while/until statement the command is in,
	// -1 when none; Group the innermost { … } group, -1 when none.
	Block, Group int
	// Errexit and Pipefail are the shell options in force.
	Errexit, Pipefail bool
	// LoopVar is set for `for NAME in WORDS` headers (Words are the list).
	LoopVar string
}

// shScript is a tokenized script.
type shScript struct {
	Cmds []shCmd
	// BlockExits records, per if/while/until statement, whether its body
	// exits the script with a failure (exit N≠0, exit, false, return N≠0).
	BlockExits map[int]bool
}

// shellOptions derives errexit/pipefail from a step's `shell:` value, as
// the GitHub runner invokes it.
func shellOptions(shell string) (errexit, pipefail, posix bool) {
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
	for i := 1; i < len(f); i++ {
		a := f[i]
		switch {
		case a == "-o" && i+1 < len(f):
			if f[i+1] == "pipefail" {
				pipefail = true
			}
			if f[i+1] == "errexit" {
				errexit = true
			}
			i++
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--"):
			if strings.Contains(a, "e") {
				errexit = true
			}
			if strings.HasSuffix(a, "o") && i+1 < len(f) && f[i+1] == "pipefail" {
				pipefail = true
				i++
			}
		}
	}
	return errexit, pipefail, posix
}

// Token kinds.
const (
	tWord = iota
	tOp
	tNewline
)

type shTok struct {
	kind int
	text string // word text or operator
	line int
}

// maxScriptBytes bounds what the tokenizer looks at; the workflow file
// size limit keeps scripts far below it.
const maxScriptBytes = 4 << 20

// lexShell splits src into words, operators and newlines.
func lexShell(src string) []shTok {
	if len(src) > maxScriptBytes {
		src = src[:maxScriptBytes]
	}
	var toks []shTok
	line := 0
	i := 0
	type heredoc struct {
		delim string
		strip bool
	}
	var pending []heredoc
	wantDelim := false
	delimStrip := false
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i += 2
			line++
		case c == '\\' && i+2 < len(src) && src[i+1] == '\r' && src[i+2] == '\n':
			i += 3
			line++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\n':
			toks = append(toks, shTok{kind: tNewline, line: line})
			i++
			line++
			// Skip here-document bodies that started on this line.
			for _, h := range pending {
				for i < len(src) {
					end := strings.IndexByte(src[i:], '\n')
					var l string
					if end < 0 {
						l, i = src[i:], len(src)
					} else {
						l, i = src[i:i+end], i+end+1
					}
					line++
					if h.strip {
						l = strings.TrimLeft(l, "\t")
					}
					if strings.TrimRight(l, "\r") == h.delim {
						break
					}
				}
			}
			pending = nil
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case isOpChar(c):
			op := readOp(src[i:])
			i += len(op)
			toks = append(toks, shTok{kind: tOp, text: op, line: line})
			if op == "<<" || op == "<<-" {
				wantDelim, delimStrip = true, op == "<<-"
			}
		default:
			start := line
			text, n, nl := readWord(src[i:])
			i += n
			line += nl
			// A word of digits directly followed by a redirection is a
			// file descriptor (2>&1): fold it into the operator.
			if i < len(src) && (src[i] == '>' || src[i] == '<') && isDigits(text) {
				continue
			}
			if wantDelim {
				pending = append(pending, heredoc{delim: text, strip: delimStrip})
				wantDelim = false
			}
			toks = append(toks, shTok{kind: tWord, text: text, line: start})
		}
	}
	return toks
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isOpChar(c byte) bool {
	switch c {
	case ';', '&', '|', '<', '>', '(', ')':
		return true
	}
	return false
}

var shOps = []string{"&>>", "<<<", "<<-", "&&", "||", ";;", "|&", ">>", ">&", "<&", "<>", "&>", "<<", ";", "&", "|", "<", ">", "(", ")"}

func readOp(s string) string {
	for _, op := range shOps {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return s[:1]
}

func isRedirOp(op string) bool {
	switch op {
	case ">", ">>", "<", ">&", "<&", "<>", "&>", "&>>", "<<", "<<-", "<<<", ">|":
		return true
	}
	return false
}

// readWord reads one word from the start of s and returns its unquoted
// text, the bytes consumed and the newlines crossed.
func readWord(s string) (string, int, int) {
	var b strings.Builder
	i, nl := 0, 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || isOpChar(c):
			return b.String(), i, nl
		case c == '\\':
			if i+1 < len(s) {
				if s[i+1] == '\n' {
					nl++
				} else {
					b.WriteByte(s[i+1])
				}
				i += 2
			} else {
				i++
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				end = len(s) - i - 1
			}
			lit := s[i+1 : i+1+end]
			nl += strings.Count(lit, "\n")
			b.WriteString(lit)
			i += end + 2
		case c == '"':
			i++
			for i < len(s) && s[i] != '"' {
				switch {
				case s[i] == '\\' && i+1 < len(s):
					switch s[i+1] {
					case '"', '\\', '$', '`':
						b.WriteByte(s[i+1])
					case '\n':
						nl++
					default:
						b.WriteByte('\\')
						b.WriteByte(s[i+1])
					}
					i += 2
				case s[i] == '$' || s[i] == '`':
					raw, n := readDollar(s[i:])
					nl += strings.Count(raw, "\n")
					b.WriteString(raw)
					i += n
				default:
					if s[i] == '\n' {
						nl++
					}
					b.WriteByte(s[i])
					i++
				}
			}
			i++ // closing quote
		case c == '$' || c == '`':
			raw, n := readDollar(s[i:])
			nl += strings.Count(raw, "\n")
			b.WriteString(raw)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), i, nl
}

// readDollar reads $NAME, ${…}, ${{ … }}, $(…), $((…)) or `…` from the
// start of s, returning it verbatim and its length.
func readDollar(s string) (string, int) {
	if s[0] == '`' {
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return s, len(s)
		}
		return s[:end+2], end + 2
	}
	if len(s) < 2 {
		return s, len(s)
	}
	switch s[1] {
	case '{':
		if strings.HasPrefix(s, "${{") {
			end := strings.Index(s, "}}")
			if end < 0 {
				return s, len(s)
			}
			return s[:end+2], end + 2
		}
		n := matchClose(s, 1, '{', '}')
		return s[:n], n
	case '(':
		n := matchClose(s, 1, '(', ')')
		return s[:n], n
	}
	j := 1
	if j < len(s) && (s[j] == '?' || s[j] == '#' || s[j] == '@' || s[j] == '*' || s[j] == '$' || s[j] == '!' || (s[j] >= '0' && s[j] <= '9')) {
		return s[:2], 2
	}
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
		j++
	}
	return s[:j], j
}

// matchClose returns the index just past the bracket that closes the one
// at s[open], skipping quoted text.
func matchClose(s string, open int, o, c byte) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			if end := strings.IndexByte(s[i+1:], '\''); end >= 0 {
				i += end + 1
			}
		case o:
			depth++
		case c:
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// parseShell tokenizes a script. errexit and pipefail are the options the
// runner's shell starts with.
func parseShell(src string, errexit, pipefail bool) shScript {
	toks := lexShell(src)
	sc := shScript{BlockExits: map[int]bool{}}
	var (
		cur       shCmd
		started   bool // cur has a word or assignment
		atStart   = true
		cond      bool
		negated   bool
		blocks    []int
		nextBlock int
		list      int
		pipeStart = 0 // index in sc.Cmds of the current pipeline's first command
		pipeIdx   int
		redirOp   string
		lastOp    string
		forHeader bool
		skipName  bool
		groups    []int
		nextGroup int
	)
	reset := func(line int) {
		cur = shCmd{Line: line, Block: -1, Group: -1}
		started, atStart, negated, redirOp, forHeader = false, true, false, "", false
	}
	reset(0)
	// closePipe records the length of the pipeline that just ended.
	closePipe := func() {
		for k := pipeStart; k < len(sc.Cmds); k++ {
			sc.Cmds[k].PipeLen = pipeIdx + 1
		}
		pipeIdx = 0
		pipeStart = len(sc.Cmds)
	}
	finish := func(op string) {
		if !started {
			// A newline after &&, || or | continues the list.
			if op != "\n" || (lastOp != "&&" && lastOp != "||" && lastOp != "|") {
				lastOp = op
				if op != "|" && op != "|&" && pipeStart < len(sc.Cmds) {
					// `a |` followed by nothing: close what was started.
					pipeIdx = max(pipeIdx-1, 0)
					closePipe()
				}
			}
			reset(cur.Line)
			return
		}
		cur.Op = op
		if op == "|&" {
			cur.Op = "|"
		}
		cur.Pipe = pipeIdx
		cur.List = list
		cur.Cond = cond
		cur.Negated = cur.Negated || negated
		if len(blocks) > 0 {
			cur.Block = blocks[len(blocks)-1]
		}
		if len(groups) > 0 {
			cur.Group = groups[len(groups)-1]
		}
		cur.Errexit, cur.Pipefail = errexit, pipefail
		sc.Cmds = append(sc.Cmds, cur)
		// Track set -e / set +e / set -o pipefail for what follows.
		if len(cur.Words) > 0 && cur.Words[0].Text == "set" {
			errexit, pipefail = applySet(cur.Words[1:], errexit, pipefail)
		}
		if len(cur.Words) > 0 && len(blocks) > 0 && exitsWithFailure(cur.Words) {
			sc.BlockExits[blocks[len(blocks)-1]] = true
		}
		switch cur.Op {
		case "|":
			pipeIdx++
		default:
			closePipe()
			if cur.Op != "&&" && cur.Op != "||" {
				list++
			}
		}
		lastOp = cur.Op
		reset(cur.Line)
	}
	for ti, t := range toks {
		switch t.kind {
		case tNewline:
			if started {
				finish("\n")
			} else if lastOp != "&&" && lastOp != "||" && lastOp != "|" {
				finish("\n")
			}
			cur.Line = t.line + 1
		case tOp:
			switch {
			case isRedirOp(t.text):
				redirOp = t.text
			case t.text == "(":
				// `name() {` defines a function; `( … )` is a subshell.
				// Either way the commands inside are treated as inline.
				if started && len(cur.Words) == 1 && ti+1 < len(toks) && toks[ti+1].kind == tOp && toks[ti+1].text == ")" {
					reset(t.line)
					continue
				}
				if started {
					finish(";")
				}
			case t.text == ")":
				if started {
					finish(";")
				}
			case t.text == ";;":
				finish(";")
			default:
				finish(t.text)
			}
		case tWord:
			if !started && atStart {
				cur.Line = t.line
			}
			if redirOp != "" {
				cur.Redirs = append(cur.Redirs, shRedir{Op: redirOp, Target: t.text})
				redirOp = ""
				continue
			}
			if skipName {
				skipName = false
				continue
			}
			if forHeader {
				if t.text == "in" && cur.LoopVar != "" && len(cur.Words) == 0 {
					continue
				}
				if cur.LoopVar == "" {
					cur.LoopVar = t.text
					continue
				}
				cur.Words = append(cur.Words, shWord{Text: t.text})
				continue
			}
			if atStart {
				switch t.text {
				case "if", "elif", "while", "until":
					if t.text != "elif" {
						blocks = append(blocks, nextBlock)
						nextBlock++
					}
					cond = true
					continue
				case "then", "do", "else":
					cond = false
					continue
				case "fi", "done", "esac":
					if len(blocks) > 0 && t.text != "esac" {
						blocks = blocks[:len(blocks)-1]
					}
					continue
				case "{":
					groups = append(groups, nextGroup)
					nextGroup++
					continue
				case "}":
					if len(groups) > 0 {
						groups = groups[:len(groups)-1]
					}
					continue
				case "time":
					continue
				case "!":
					negated = true
					continue
				case "function":
					// function NAME { … }: the name is not a command.
					skipName = true
					continue
				case "for", "select":
					forHeader = true
					started = true
					continue
				case "case":
					started = true
					atStart = false
					cur.Words = append(cur.Words, shWord{Text: t.text})
					continue
				}
				if name, val, ok := splitAssign(t.text); ok {
					cur.Assigns = append(cur.Assigns, shAssign{Name: name, Value: val})
					started = true
					continue
				}
				atStart = false
			}
			cur.Words = append(cur.Words, shWord{Text: t.text})
			started = true
		}
	}
	finish("")
	// The last command of the script ends with no operator.
	return sc
}

// splitAssign recognises NAME=VALUE, and NAME+=VALUE (returned with the
// name "NAME+").
func splitAssign(w string) (string, string, bool) {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return "", "", false
	}
	name := w[:eq]
	if strings.HasSuffix(name, "+") && len(name) > 1 {
		n, _, ok := splitAssign(name[:len(name)-1] + "=")
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

// applySet updates errexit/pipefail for `set` arguments.
func applySet(args []shWord, errexit, pipefail bool) (bool, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i].Text
		if a == "--" || len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			continue
		}
		on := a[0] == '-'
		flags := a[1:]
		if strings.Contains(flags, "o") && i+1 < len(args) {
			switch args[i+1].Text {
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

// exitsWithFailure reports whether a command ends the script with a
// non-zero status: exit N (N≠0), a bare exit (the last status, which is
// the failure being handled), false, return N≠0.
func exitsWithFailure(words []shWord) bool {
	switch words[0].Text {
	case "exit", "return":
		return len(words) == 1 || words[1].Text != "0"
	case "false":
		return true
	}
	return false
}
