package shell

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// walker flattens a syntax tree into Script.Cmds in the order the
// commands appear (a command substitution's commands before the command
// whose words hold it, as they run).
type walker struct {
	src      string
	exprs    []string
	sc       *Script
	overflow bool

	errexit, pipefail bool
	list              int
	block, nextBlock  int
	group, nextGroup  int
	// Context inherited by the commands being walked.
	cond, negated, bg, inList, subst bool
	pipe, pipeLen                    int
}

func (w *walker) stmts(sts []*syntax.Stmt, newList bool) {
	for _, st := range sts {
		start := len(w.sc.Cmds)
		w.stmt(st, newList)
		op := "\n"
		if st.Background {
			op = "&"
		} else if st.Semicolon.IsValid() {
			op = ";"
		}
		w.setOp(start, op)
	}
}

// setOp sets the operator after the last command emitted since start.
func (w *walker) setOp(start int, op string) {
	if n := len(w.sc.Cmds); n > start {
		w.sc.Cmds[n-1].Op = op
	}
}

func (w *walker) stmt(st *syntax.Stmt, newList bool) {
	if st == nil || w.overflow {
		return
	}
	if newList {
		w.list++
	}
	saved := *w
	if st.Negated {
		w.negated = true
	}
	if st.Background || st.Coprocess || st.Disown {
		w.bg = true
	}
	start := len(w.sc.Cmds)
	defer w.inheritRedirs(st, start)
	switch c := st.Cmd.(type) {
	case nil:
		// Redirections alone.
	case *syntax.CallExpr:
		w.call(c, st.Redirs)
	case *syntax.DeclClause:
		w.decl(c, st.Redirs)
	case *syntax.BinaryCmd:
		w.binary(c)
	case *syntax.Block:
		w.grouped(c.Stmts)
	case *syntax.Subshell:
		w.grouped(c.Stmts)
	case *syntax.IfClause:
		w.ifClause(c)
	case *syntax.WhileClause:
		w.whileClause(c)
	case *syntax.ForClause:
		w.forClause(c)
	case *syntax.CaseClause:
		w.substs(c.Word)
		for _, it := range c.Items {
			w.stmts(it.Stmts, true)
		}
	case *syntax.FuncDecl:
		// The body is read where it is declared: a function that signs
		// signs wherever it is called (and is not assumed never called).
		w.stmt(c.Body, true)
	case *syntax.TimeClause:
		w.stmt(c.Stmt, false)
	case *syntax.CoprocClause:
		w.bg = true
		w.stmt(c.Stmt, false)
	case *syntax.TestClause:
		w.emitText("[[", c.X, "]]", st.Redirs)
	case *syntax.ArithmCmd:
		w.emitText("((", c.X, "))", st.Redirs)
	case *syntax.LetClause:
		for _, x := range c.Exprs {
			w.emitText("let", x, "", st.Redirs)
		}
	default:
		// TestDecl and other dialect nodes: their commands still run.
		syntax.Walk(st.Cmd, func(n syntax.Node) bool {
			if s, ok := n.(*syntax.Stmt); ok {
				w.stmt(s, true)
				return false
			}
			return true
		})
	}
	// Only the context is scoped; counters and shell options carry on.
	w.cond, w.negated, w.bg, w.inList, w.subst = saved.cond, saved.negated, saved.bg, saved.inList, saved.subst
	w.pipe, w.pipeLen, w.block, w.group = saved.pipe, saved.pipeLen, saved.block, saved.group
}

// inheritRedirs gives the commands of a compound command ({ …; },
// ( … ), a loop, an if) its output redirections, where they do not
// redirect their own output: in { echo A=1; echo B=2; } >> "$GITHUB_ENV"
// each echo writes to the file.
func (w *walker) inheritRedirs(st *syntax.Stmt, start int) {
	switch st.Cmd.(type) {
	case nil, *syntax.CallExpr, *syntax.DeclClause, *syntax.TestClause, *syntax.ArithmCmd, *syntax.LetClause:
		return // their own redirections are already theirs
	}
	var outs []Redir
	for _, r := range st.Redirs {
		switch r.Op {
		case syntax.RdrOut, syntax.AppOut, syntax.RdrAll, syntax.AppAll, syntax.RdrClob:
			if r.Word != nil {
				outs = append(outs, Redir{Op: r.Op.String(), Target: w.word(r.Word)})
			}
		}
	}
	if len(outs) == 0 {
		return
	}
	for i := start; i < len(w.sc.Cmds); i++ {
		c := &w.sc.Cmds[i]
		if c.Subst {
			continue // inside $(…): its output is the substitution's
		}
		own := false
		for _, r := range c.Redirs {
			if strings.Contains(r.Op, ">") && !strings.HasPrefix(r.Op, "<") {
				own = true
			}
		}
		if !own {
			c.Redirs = append(c.Redirs, outs...)
		}
	}
}

func (w *walker) grouped(sts []*syntax.Stmt) {
	w.group = w.nextGroup
	w.nextGroup++
	w.stmts(sts, true)
}

// binary walks a && b, a || b and pipelines.
func (w *walker) binary(c *syntax.BinaryCmd) {
	if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
		var elems []*syntax.Stmt
		var flat func(s *syntax.Stmt)
		flat = func(s *syntax.Stmt) {
			if b, ok := s.Cmd.(*syntax.BinaryCmd); ok && (b.Op == syntax.Pipe || b.Op == syntax.PipeAll) && !s.Negated && len(s.Redirs) == 0 {
				flat(b.X)
				flat(b.Y)
				return
			}
			elems = append(elems, s)
		}
		flat(c.X)
		flat(c.Y)
		for i, e := range elems {
			start := len(w.sc.Cmds)
			w.pipe, w.pipeLen = i, len(elems)
			w.stmt(e, false)
			if i < len(elems)-1 {
				w.setOp(start, "|")
			}
		}
		return
	}
	// a && b || c: one list, whatever way the tree nests it.
	var elems []*syntax.Stmt
	var ops []string
	var flat func(s *syntax.Stmt)
	flat = func(s *syntax.Stmt) {
		if b, ok := s.Cmd.(*syntax.BinaryCmd); ok && (b.Op == syntax.AndStmt || b.Op == syntax.OrStmt) &&
			!s.Negated && !s.Background && len(s.Redirs) == 0 {
			flat(b.X)
			ops = append(ops, map[bool]string{true: "&&", false: "||"}[b.Op == syntax.AndStmt])
			flat(b.Y)
			return
		}
		elems = append(elems, s)
	}
	flat(&syntax.Stmt{Cmd: c})
	outer := w.inList
	for i, e := range elems {
		start := len(w.sc.Cmds)
		if i < len(elems)-1 {
			// Inside a compound on the left of && or ||, errexit is
			// ignored; only its last command is "the command before &&".
			w.inList = true
		}
		w.stmt(e, false)
		w.inList = outer
		if i < len(elems)-1 {
			if n := len(w.sc.Cmds); n > start {
				w.sc.Cmds[n-1].InList = outer
			}
			w.setOp(start, ops[i])
		}
	}
}

func (w *walker) ifClause(c *syntax.IfClause) {
	id := w.nextBlock
	w.nextBlock++
	for ; c != nil; c = c.Else {
		w.block = id
		if len(c.Cond) > 0 {
			w.condition(c.Cond, func(negated bool) bool {
				if negated {
					return w.branchExits(c.Then)
				}
				// elif: what runs after the failure is another test.
				return c.Else != nil && len(c.Else.Cond) == 0 && w.branchExits(c.Else.Then)
			})
		}
		w.block = id
		w.stmts(c.Then, true)
	}
	w.markExits(id)
}

func (w *walker) whileClause(c *syntax.WhileClause) {
	id := w.nextBlock
	w.nextBlock++
	w.block = id
	w.condition(c.Cond, func(negated bool) bool {
		// The body runs on failure for `until cmd` and `while ! cmd`.
		return c.Until != negated && w.branchExits(c.Do)
	})
	w.block = id
	w.stmts(c.Do, true)
	w.markExits(id)
}

// condition walks a condition list; failExits says, for the last
// statement (negated or not), whether its failure exits the script.
func (w *walker) condition(sts []*syntax.Stmt, failExits func(negated bool) bool) {
	cond := w.cond
	w.cond = true
	for i, st := range sts {
		start := len(w.sc.Cmds)
		w.stmt(st, true)
		op := ";"
		if st.Background {
			op = "&"
		}
		w.setOp(start, op)
		if i == len(sts)-1 && failExits(st.Negated) {
			for k := start; k < len(w.sc.Cmds); k++ {
				w.sc.Cmds[k].FailExits = true
			}
		}
	}
	w.cond = cond
}

// branchExits reports whether a branch exits with a failure at its top level.
func (w *walker) branchExits(sts []*syntax.Stmt) bool {
	for _, st := range sts {
		if call, ok := st.Cmd.(*syntax.CallExpr); ok && !st.Negated {
			var ws []string
			for _, a := range call.Args {
				ws = append(ws, w.word(a))
			}
			if ExitsWithFailure(ws) {
				return true
			}
		}
	}
	return false
}

// markExits records a block one of whose commands exits with failure.
func (w *walker) markExits(id int) {
	for i := len(w.sc.Cmds) - 1; i >= 0 && w.sc.Cmds[i].Block >= id; i-- {
		if ExitsWithFailure(w.sc.Cmds[i].Words) {
			w.sc.BlockExits[id] = true
			return
		}
	}
}

func (w *walker) forClause(c *syntax.ForClause) {
	if it, ok := c.Loop.(*syntax.WordIter); ok {
		cmd := w.newCmd(c.Pos())
		cmd.LoopVar = it.Name.Value
		for _, x := range it.Items {
			w.substs(x)
			cmd.Words = append(cmd.Words, w.word(x))
		}
		w.emit(cmd)
	} else {
		syntax.Walk(c.Loop, w.substNode)
	}
	w.stmts(c.Do, true)
}

func (w *walker) call(c *syntax.CallExpr, redirs []*syntax.Redirect) {
	cmd := w.newCmd(c.Pos())
	for _, as := range c.Assigns {
		w.substs(as)
		if as.Name == nil {
			continue
		}
		v := ""
		if as.Value != nil {
			v = w.word(as.Value)
		} else if as.Array != nil {
			v = w.text(as.Array)
		}
		cmd.Assigns = append(cmd.Assigns, Assign{Name: as.Name.Value, Value: v, Append: as.Append})
	}
	for _, a := range c.Args {
		w.substs(a)
		cmd.Words = append(cmd.Words, w.word(a))
	}
	w.redirs(&cmd, redirs)
	w.emit(cmd)
	if len(cmd.Words) > 0 && cmd.Words[0] == "set" {
		w.errexit, w.pipefail = ApplySet(cmd.Words[1:], w.errexit, w.pipefail)
	}
}

// decl is export/declare/local/readonly/typeset: the words are kept as
// NAME=VALUE for the caller.
func (w *walker) decl(c *syntax.DeclClause, redirs []*syntax.Redirect) {
	cmd := w.newCmd(c.Pos())
	cmd.Words = []string{c.Variant.Value}
	for _, as := range c.Args {
		w.substs(as)
		switch {
		case as.Naked && as.Name == nil && as.Value != nil:
			cmd.Words = append(cmd.Words, w.word(as.Value))
		case as.Name != nil && as.Value != nil:
			cmd.Words = append(cmd.Words, as.Name.Value+"="+w.word(as.Value))
		case as.Name != nil:
			cmd.Words = append(cmd.Words, as.Name.Value)
		}
	}
	w.redirs(&cmd, redirs)
	w.emit(cmd)
}

// emitText records a test or arithmetic command as its source text, so
// that `[[ $? -ne 0 ]]` can be recognised.
func (w *walker) emitText(open string, n syntax.Node, close string, redirs []*syntax.Redirect) {
	syntax.Walk(n, w.substNode)
	cmd := w.newCmd(n.Pos())
	cmd.Words = []string{open, w.text(n)}
	if close != "" {
		cmd.Words = append(cmd.Words, close)
	}
	w.redirs(&cmd, redirs)
	w.emit(cmd)
}

func (w *walker) redirs(cmd *Cmd, redirs []*syntax.Redirect) {
	for _, r := range redirs {
		rd := Redir{Op: r.Op.String()}
		if r.Word != nil {
			w.substs(r.Word)
			rd.Target = w.word(r.Word)
		}
		if r.Hdoc != nil {
			w.substs(r.Hdoc)
			rd.Heredoc = w.word(r.Hdoc)
		}
		cmd.Redirs = append(cmd.Redirs, rd)
	}
}

func (w *walker) newCmd(pos syntax.Pos) Cmd {
	return Cmd{Line: int(pos.Line()) - 1, Block: w.block, Group: w.group}
}

func (w *walker) emit(c Cmd) {
	if len(w.sc.Cmds) >= maxNodes {
		w.overflow = true
		return
	}
	c.List = w.list
	c.Negated, c.Background, c.Cond, c.InList, c.Subst = w.negated, w.bg, w.cond, w.inList, w.subst
	c.Pipe, c.PipeLen = w.pipe, max(w.pipeLen, 1)
	c.Errexit, c.Pipefail = w.errexit, w.pipefail
	w.sc.Cmds = append(w.sc.Cmds, c)
}

// pipes fills PipeLast: the last command of each command's pipeline.
func (w *walker) pipes() {
	cmds := w.sc.Cmds
	for i := len(cmds) - 1; i >= 0; i-- {
		cmds[i].PipeLast = i
		if cmds[i].Op == "|" && i+1 < len(cmds) {
			cmds[i].PipeLast = cmds[i+1].PipeLast
		}
	}
}

// substs walks the command substitutions inside a node: their commands
// run before the command that uses their output.
func (w *walker) substs(n syntax.Node) {
	if n != nil {
		syntax.Walk(n, w.substNode)
	}
}

func (w *walker) substNode(n syntax.Node) bool {
	var sts []*syntax.Stmt
	switch x := n.(type) {
	case *syntax.CmdSubst:
		sts = x.Stmts
	case *syntax.ProcSubst:
		sts = x.Stmts
	default:
		return true
	}
	saved := *w
	w.subst = true
	// bash resets errexit in command substitutions (no inherit_errexit).
	w.errexit = false
	w.stmts(sts, true)
	w.subst, w.errexit = saved.subst, saved.errexit
	return false
}

// text is a node's source, expressions restored.
func (w *walker) text(n syntax.Node) string {
	s, e := n.Pos().Offset(), n.End().Offset()
	if e > uint(len(w.src)) || s > e {
		return ""
	}
	return w.unmask(w.src[s:e])
}

// word returns a word's text with quotes removed and escapes resolved;
// expansions are kept as written.
func (w *walker) word(x *syntax.Word) string {
	var b strings.Builder
	w.parts(&b, x.Parts, false)
	return w.unmask(b.String())
}

func (w *walker) parts(b *strings.Builder, parts []syntax.WordPart, dq bool) {
	for _, p := range parts {
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(unescape(x.Value, dq))
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			w.parts(b, x.Parts, true)
		default:
			s, e := p.Pos().Offset(), p.End().Offset()
			if e <= uint(len(w.src)) && s <= e {
				b.WriteString(w.src[s:e])
			}
		}
	}
}

// unescape resolves backslashes as the shell does, outside quotes or
// inside double quotes.
func unescape(s string, dq bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		n := s[i+1]
		switch {
		case n == '\n':
		case !dq:
			b.WriteByte(n)
		case n == '"' || n == '\\' || n == '$' || n == '`':
			b.WriteByte(n)
		default:
			b.WriteByte('\\')
			b.WriteByte(n)
		}
		i++
	}
	return b.String()
}
