package model

import (
	"regexp"
	"strings"
	"sync"
)

// Whether an if: lets its step or job run after an earlier failure is
// decided by evaluating the condition, not by matching spellings:
// success() || failure() is !cancelled() in disguise. The condition is
// read as a boolean over its status functions, in the world where what
// came before failed; anything else it reads is unknown (three-valued).

// tri is a three-valued truth: known false or true, or unknown.
type tri int

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triNot(a tri) tri {
	switch a {
	case triFalse:
		return triTrue
	case triTrue:
		return triFalse
	}
	return triUnknown
}

func triAnd(a, b tri) tri {
	switch {
	case a == triFalse || b == triFalse:
		return triFalse
	case a == triTrue && b == triTrue:
		return triTrue
	}
	return triUnknown
}

func triOr(a, b tri) tri {
	switch {
	case a == triTrue || b == triTrue:
		return triTrue
	case a == triFalse && b == triFalse:
		return triFalse
	}
	return triUnknown
}

// condParser is a recursive-descent reader of a normalised condition:
// ||, &&, !, parentheses, and atoms (comparisons, calls, contexts).
type condParser struct {
	s     string
	i     int
	gates []string
	depth int
	bad   bool
}

// maxCondDepth bounds nesting, so a hostile if: cannot exhaust the stack.
const maxCondDepth = 64

func (p *condParser) skipSpace() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *condParser) or() tri {
	v := p.and()
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.i:], "||") {
			return v
		}
		p.i += 2
		v = triOr(v, p.and())
	}
}

func (p *condParser) and() tri {
	v := p.unary()
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.i:], "&&") {
			return v
		}
		p.i += 2
		v = triAnd(v, p.unary())
	}
}

func (p *condParser) unary() tri {
	p.skipSpace()
	if p.depth++; p.depth > maxCondDepth {
		p.bad = true
		return triUnknown
	}
	defer func() { p.depth-- }()
	switch {
	case p.i >= len(p.s):
		p.bad = true
		return triUnknown
	case p.s[p.i] == '!' && !strings.HasPrefix(p.s[p.i:], "!="):
		p.i++
		return triNot(p.unary())
	case p.s[p.i] == '(':
		p.i++
		v := p.or()
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			p.bad = true
			return triUnknown
		}
		p.i++
		p.skipSpace()
		if p.i < len(p.s) && !strings.HasPrefix(p.s[p.i:], "&&") && !strings.HasPrefix(p.s[p.i:], "||") && p.s[p.i] != ')' {
			p.bad = true // (a) == b: a group compared; not read
		}
		return v
	}
	start := p.i
	depth := 0
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\'':
			if end := strings.IndexByte(p.s[p.i+1:], '\''); end >= 0 {
				p.i += end + 1
			} else {
				p.i = len(p.s)
				continue
			}
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			if depth == 0 {
				return p.atom(strings.TrimSpace(p.s[start:p.i]))
			}
			depth--
		case depth == 0 && (strings.HasPrefix(p.s[p.i:], "&&") || strings.HasPrefix(p.s[p.i:], "||")):
			return p.atom(strings.TrimSpace(p.s[start:p.i]))
		}
		p.i++
	}
	return p.atom(strings.TrimSpace(p.s[start:]))
}

var (
	gateCmpRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(needs\.[a-z0-9_-]+\.result|steps\.[a-z0-9_-]+\.(?:outcome|conclusion))\s*(==|!=)\s*'([a-z_]*)'$`)
	})
	needsContainsRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^contains\(\s*needs\.\*\.result\s*,\s*'([a-z_]*)'\s*\)$`)
	})
)

// atom evaluates one operand in the world where what came before failed.
func (p *condParser) atom(a string) tri {
	switch a {
	case "":
		p.bad = true
		return triUnknown
	case "always()", "failure()", "true":
		return triTrue
	case "success()", "cancelled()", "false":
		return triFalse
	}
	if m := needsContainsRE().FindStringSubmatch(a); m != nil && m[1] == "failure" {
		return triTrue
	}
	if m := gateCmpRE().FindStringSubmatch(a); m != nil && isGate(m[1], p.gates) {
		// A gate that failed (or was skipped after a failure) is not
		// success; any other value it may have is unknown.
		switch {
		case m[3] == "success" && m[2] == "==":
			return triFalse
		case m[3] == "success":
			return triTrue
		}
	}
	return triUnknown
}

// isGate reports whether ctx (needs.X.result, steps.X.outcome or
// .conclusion) names one of gates.
func isGate(ctx string, gates []string) bool {
	trim := func(s string) string {
		for _, suf := range []string{".conclusion", ".outcome", ".result"} {
			s = strings.TrimSuffix(s, suf)
		}
		return strings.ToLower(s)
	}
	for _, g := range gates {
		if trim(ctx) == trim(g) {
			return true
		}
	}
	return false
}

// statusCallRE finds calls of GitHub's status functions; a condition
// with none gets an implicit success().
var statusCallRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b(success|always|failure|cancelled)\(\s*\)`) })

// callsStatus reports whether a normalised condition calls a status
// function outside its string literals.
func callsStatus(c string) bool {
	var b strings.Builder
	inStr := false
	for i := 0; i < len(c); i++ {
		if c[i] == '\'' {
			inStr = !inStr
			continue
		}
		if !inStr {
			b.WriteByte(c[i])
		}
	}
	return statusCallRE().MatchString(b.String())
}

// evalAfterFailure evaluates a normalised condition after a failure; ok
// is false when it could not be read.
func evalAfterFailure(c string, gates []string) (v tri, ok bool) {
	p := &condParser{s: c, gates: gates}
	v = p.or()
	p.skipSpace()
	if p.bad || p.i != len(p.s) {
		return triUnknown, false
	}
	return v, true
}
