// Package buildtool reads the build-tool files a release step may run
// through — a Makefile, a Taskfile, a justfile, package.json scripts — and
// returns the shell lines a target runs, so that the workflow gate can see
// a `cosign sign` behind `make publish-signed`.
//
// Nothing is ever executed: `make -n` would run $(shell …). Variables are
// expanded as far as the file shows; what cannot be expanded is left in
// shell syntax (${NAME}, $(…)) for the caller to resolve or to treat as
// not visible.
package buildtool

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Line is one command line a target runs.
type Line struct {
	// Text is the line as the shell receives it.
	Text string
	// File and Line (1-based) locate it.
	File string
	Line int
	// IgnoreErr is set when the tool carries on after the line fails
	// (make's "-" prefix, `ignore_error: true`).
	IgnoreErr bool
	// Target is the target or task the line belongs to.
	Target string
}

// ReadFile reads a repository file by slash path.
type ReadFile func(p string) ([]byte, error)

// Limits keep a hostile file from making the reading unbounded.
const (
	maxIncludes = 16
	maxExpand   = 16
	maxLines    = 5000
	maxTargets  = 200
	maxSteps    = 100000
	maxBytes    = 1 << 20
)

// Makefile is a parsed Makefile: its variables and rules.
type Makefile struct {
	vars map[string]string
	// simple marks variables assigned with := (or !=): their value was
	// expanded once, when assigned, and is not expanded again.
	simple  map[string]bool
	rules   map[string]*rule
	pattern []*rule
	first   string
	files   int
	// steps counts variable references expanded, so that A = $(A) $(A)
	// cannot make the expansion exponential.
	steps int
}

type rule struct {
	target  string
	prereqs []string
	recipe  []Line
}

var (
	assignRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:export\s+|override\s+)*([A-Za-z0-9_.\-]+)\s*(::=|:=|\?=|\+=|!=|=)\s*(.*)$`)
	})
	// A rule line: targets, then ':' or '::' not followed by '='.
	ruleRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^:=#\t][^:=#]*?)\s*::?(?:[^=]|$)`) })
)

// ParseMakefile reads a Makefile at file, following include directives
// through read.
func ParseMakefile(file string, read ReadFile) (*Makefile, error) {
	m := &Makefile{vars: map[string]string{}, simple: map[string]bool{}, rules: map[string]*rule{}}
	if err := m.load(file, read, 0); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Makefile) load(file string, read ReadFile, depth int) error {
	src, err := read(file)
	if err != nil {
		return err
	}
	m.files++
	lines := logicalLines(string(src))
	var cur []*rule
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		text := ln.text
		if strings.HasPrefix(text, "\t") {
			if cur != nil {
				l := recipeLine(strings.TrimPrefix(text, "\t"), file, ln.no)
				for _, r := range cur {
					l.Target = r.target
					r.recipe = append(r.recipe, l)
				}
			}
			continue
		}
		trimmed := strings.TrimSpace(stripComment(text))
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, "define "):
			// define NAME … endef: a multi-line variable.
			name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(trimmed, "define "), "="), ":="))
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i].text) != "endef"; i++ {
				body = append(body, lines[i].text)
			}
			m.vars[name] = strings.Join(body, "\n")
			delete(m.simple, name)
			continue
		case isConditional(trimmed):
			// Both branches are read: signing in either counts.
			continue
		case strings.HasPrefix(trimmed, "include ") || strings.HasPrefix(trimmed, "-include ") || strings.HasPrefix(trimmed, "sinclude "):
			if depth >= maxIncludes {
				return fmt.Errorf("%s:%d: includes nest deeper than %d", file, ln.no, maxIncludes)
			}
			_, names, _ := strings.Cut(trimmed, " ")
			for _, n := range strings.Fields(m.expand(names, 0)) {
				if strings.ContainsAny(n, "$*?[") {
					continue
				}
				p := path.Join(path.Dir(file), n)
				if err := m.load(p, read, depth+1); err != nil && !strings.HasPrefix(trimmed, "-") && !strings.HasPrefix(trimmed, "sinclude") {
					return fmt.Errorf("%s:%d: include %s: %w", file, ln.no, n, err)
				}
			}
			continue
		}
		if a := assignRE().FindStringSubmatch(trimmed); a != nil {
			m.assign(a[1], a[2], a[3])
			cur = nil
			continue
		}
		if r := ruleRE().FindStringSubmatch(trimmed); r != nil {
			cur = m.addRule(trimmed, file, ln.no)
			continue
		}
		cur = nil
	}
	return nil
}

// addRule records `targets: prerequisites [; recipe]`.
func (m *Makefile) addRule(text, file string, no int) []*rule {
	targets, rest, _ := strings.Cut(text, ":")
	rest = strings.TrimPrefix(rest, ":")
	inline := ""
	if before, after, ok := strings.Cut(rest, ";"); ok {
		rest, inline = before, after
	}
	// target: VAR = value (a target-specific variable) is read as global.
	if a := assignRE().FindStringSubmatch(strings.TrimSpace(rest)); a != nil {
		m.assign(a[1], a[2], a[3])
		return nil
	}
	if i := topIndex(rest, '|'); i >= 0 {
		rest = rest[:i] + " " + rest[i+1:] // order-only prerequisites still run first
	}
	var out []*rule
	for _, t := range strings.Fields(m.expand(targets, 0)) {
		r := m.rules[t]
		if r == nil {
			r = &rule{target: t}
			if strings.Contains(t, "%") {
				m.pattern = append(m.pattern, r)
			} else {
				m.rules[t] = r
			}
			if m.first == "" && !strings.HasPrefix(t, ".") && !strings.Contains(t, "%") {
				m.first = t
			}
		}
		// Split outside $(…): `$(addprefix build-,$(ARCH))` is one word.
		r.prereqs = append(r.prereqs, topFields(rest)...)
		if strings.TrimSpace(inline) != "" {
			l := recipeLine(strings.TrimSpace(inline), file, no)
			l.Target = t
			r.recipe = append(r.recipe, l)
		}
		out = append(out, r)
	}
	return out
}

func (m *Makefile) assign(name, op, val string) {
	simple := false
	switch op {
	case "?=":
		if _, ok := m.vars[name]; ok {
			return
		}
	case "+=":
		if m.simple[name] {
			// Appending to a simple variable expands the text now.
			val, simple = m.expand(val, 0), true
		}
		if prev, ok := m.vars[name]; ok && prev != "" {
			val = prev + " " + val
		}
	case ":=", "::=":
		val, simple = m.expand(val, 0), true
	case "!=":
		// The output of a shell command: not visible; the command runs.
		val, simple = "$("+m.expand(val, 0)+")", true
	}
	m.vars[name] = val
	if simple {
		m.simple[name] = true
	} else {
		delete(m.simple, name)
	}
}

// Default is the target `make` builds without arguments.
func (m *Makefile) Default() string { return m.first }

// Targets lists the explicit targets.
func (m *Makefile) Targets() []string {
	var out []string
	for t := range m.rules {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Recipe returns the lines that building target runs, its prerequisites'
// first, each target once, with variables expanded; overrides are
// command-line variables (make publish IMAGE=x). ok is false when the
// target is not in the Makefile.
func (m *Makefile) Recipe(target string, overrides map[string]string) ([]Line, bool) {
	saved := map[string]string{}
	savedSimple := map[string]bool{}
	for k, v := range overrides {
		saved[k], savedSimple[k] = m.vars[k], m.simple[k]
		m.vars[k] = v
		delete(m.simple, k)
	}
	defer func() {
		for k, v := range saved {
			m.vars[k] = v
			if savedSimple[k] {
				m.simple[k] = true
			}
		}
	}()
	var out []Line
	done := map[string]bool{}
	found := true
	var build func(t string, depth int)
	build = func(t string, depth int) {
		if done[t] || depth > maxTargets || len(done) > maxTargets || len(out) > maxLines {
			return
		}
		done[t] = true
		r, stem := m.lookup(t)
		if r == nil {
			if depth == 0 {
				found = false
			}
			return // a file prerequisite
		}
		for _, p := range r.prereqs {
			for _, x := range strings.Fields(m.expand(strings.ReplaceAll(p, "%", stem), 0)) {
				build(x, depth+1)
			}
		}
		for _, l := range r.recipe {
			text := strings.ReplaceAll(l.Text, "$@", t)
			text = strings.ReplaceAll(text, "$*", stem)
			l.Text = m.expand(text, 0)
			l.Target = t
			out = append(out, l)
		}
	}
	m.steps = 0
	build(target, 0)
	return out, found
}

func (m *Makefile) lookup(t string) (*rule, string) {
	if r := m.rules[t]; r != nil {
		return r, ""
	}
	for _, r := range m.pattern {
		pre, suf, _ := strings.Cut(r.target, "%")
		if strings.HasPrefix(t, pre) && strings.HasSuffix(t, suf) && len(t) >= len(pre)+len(suf) {
			return r, t[len(pre) : len(t)-len(suf)]
		}
	}
	return nil, ""
}

// expand substitutes make variables: $(NAME), ${NAME}, $X, $$ → $.
// $(shell cmd) becomes the shell's $(cmd), which the shell reader walks;
// $(MAKE) is make; other functions and unknown names are left for the
// shell as ${NAME} or $(…).
func (m *Makefile) expand(s string, depth int) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if strings.HasPrefix(s[i:], "${{") {
			// A GitHub expression the runner substituted: kept whole.
			if end := strings.Index(s[i:], "}}"); end >= 0 {
				b.WriteString(s[i : i+end+2])
				i += end + 1
				continue
			}
		}
		if b.Len() > maxBytes {
			break
		}
		n := s[i+1]
		switch n {
		case '$':
			b.WriteByte('$')
			i++
		case '(', '{':
			closeCh := byte(')')
			if n == '{' {
				closeCh = '}'
			}
			end := matchParen(s, i+1, n, closeCh)
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			b.WriteString(m.ref(s[i+2:end], depth))
			i = end
		default:
			b.WriteString(m.ref(string(n), depth))
			i++
		}
	}
	return b.String()
}

// ref expands the inside of one $(…): a make function, or a variable
// whose name may itself be computed.
func (m *Makefile) ref(inner string, depth int) string {
	m.steps++
	if depth >= maxExpand || m.steps > maxSteps {
		return "${" + inner + "}"
	}
	if i := strings.IndexAny(inner, " \t"); i > 0 && !strings.Contains(inner[:i], "$") {
		if v, ok := m.function(inner[:i], strings.TrimLeft(inner[i:], " \t"), depth); ok {
			return v
		}
		// Not one of make's functions: make would read a variable of that
		// name (empty); the shell is shown the command instead, so that a
		// signer written this way is not lost.
		return "$(" + inner + ")"
	}
	name := m.expand(inner, depth+1)
	if strings.ContainsAny(name, "$ \t") {
		// $($(shell …)_REGISTRY): a name computed from what the file does
		// not show. Its value is unknown, but it is a value.
		return opaque(name)
	}
	if name == "MAKE" {
		return "make"
	}
	if name == "CURDIR" {
		return "."
	}
	if v, ok := m.vars[name]; ok {
		if m.simple[name] {
			return v
		}
		return m.expand(v, depth+1)
	}
	// Not set in the Makefile: make reads the environment.
	return "${" + name + "}"
}

// topIndex is the index of c outside any $(…) or ${…}, or -1.
func topIndex(s string, c byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{':
			depth++
		case ')', '}':
			depth = max(depth-1, 0)
		case c:
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// topFields splits s at blanks outside any $(…) or ${…}.
func topFields(s string) []string {
	var out []string
	depth, start := 0, -1
	for i := 0; i <= len(s); i++ {
		end := i == len(s)
		blank := end || s[i] == ' ' || s[i] == '\t'
		if end || (blank && depth == 0) {
			// The end flushes even inside an unclosed $(.
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
		switch s[i] {
		case '(', '{':
			depth++
		case ')', '}':
			depth = max(depth-1, 0)
		}
	}
	return out
}

func matchParen(s string, open int, o, c byte) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case o:
			depth++
		case c:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

type logicalLine struct {
	text string
	no   int
}

// logicalLines joins backslash-continued lines.
func logicalLines(src string) []logicalLine {
	raw := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var out []logicalLine
	for i := 0; i < len(raw); i++ {
		no := i + 1
		text := raw[i]
		for strings.HasSuffix(text, `\`) && i+1 < len(raw) {
			i++
			next := raw[i]
			if strings.HasPrefix(text, "\t") {
				next = strings.TrimPrefix(next, "\t")
				text = text + "\n" + next // the shell sees the continuation
			} else {
				text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(next)
			}
		}
		out = append(out, logicalLine{text, no})
	}
	return out
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

func isConditional(s string) bool {
	w, _, _ := strings.Cut(s, " ")
	switch w {
	case "ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "vpath", ".PHONY:", "unexport", "undefine":
		return true
	}
	return strings.HasPrefix(s, ".PHONY") || strings.HasPrefix(s, "else")
}

// recipeLine strips make's line prefixes: @ (silent), - (ignore errors),
// + (always run).
func recipeLine(text, file string, no int) Line {
	l := Line{File: file, Line: no}
	t := strings.TrimLeft(text, " ")
	for len(t) > 0 && strings.ContainsRune("@-+", rune(t[0])) {
		if t[0] == '-' {
			l.IgnoreErr = true
		}
		t = strings.TrimLeft(t[1:], " ")
	}
	l.Text = t
	return l
}
