package model

import (
	"regexp"
	"strings"
	"sync"
)

// Expressions (${{ … }}) and image references as written in workflows.

// Span is the byte range of one ${{ … }} in a string.
type Span struct{ Start, End int } // s[start:end] == "${{ … }}"

// MapExprs replaces each ${{ … }} in s with f of its normalised
// expression, keeping the text around it.
func MapExprs(s string, f func(expr string) string) string {
	spans := ExprSpans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.Start])
		b.WriteString(f(NormExpr(s[sp.Start+3 : sp.End-2])))
		prev = sp.End
	}
	b.WriteString(s[prev:])
	return b.String()
}

// ExprSpans finds every ${{ … }} in s.
func ExprSpans(s string) []Span {
	var out []Span
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${{")
		if j < 0 {
			break
		}
		j += i
		k := strings.Index(s[j+3:], "}}")
		if k < 0 {
			break
		}
		end := j + 3 + k + 2
		out = append(out, Span{j, end})
		i = end
	}
	return out
}

// NormExpr normalises the inside of an expression: surrounding space
// trimmed, runs of space collapsed, and everything outside string literals
// lower-cased (context and property names are case-insensitive).
func NormExpr(e string) string {
	var b strings.Builder
	inStr := false
	space := false
	for _, r := range strings.TrimSpace(e) {
		switch {
		case r == '\'':
			inStr = !inStr
			b.WriteRune(r)
			space = false
		case inStr:
			b.WriteRune(r)
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if !space {
				b.WriteByte(' ')
				space = true
			}
		default:
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
			space = false
		}
	}
	return b.String()
}

// CondText returns an if: condition without its optional ${{ }} wrapper,
// normalised.
func CondText(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") && len(ExprSpans(s)) == 1 {
		s = s[3 : len(s)-2]
	}
	return NormExpr(s)
}

// SplitAnd splits a normalised condition on top-level &&.
func SplitAnd(c string) []string {
	var parts []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '\'':
			inStr = !inStr
		case '(':
			if !inStr {
				depth++
			}
		case ')':
			if !inStr {
				depth--
			}
		case '&':
			if !inStr && depth == 0 && i+1 < len(c) && c[i+1] == '&' {
				parts = append(parts, strings.TrimSpace(c[start:i]))
				start = i + 2
				i++
			}
		}
	}
	parts = append(parts, strings.TrimSpace(c[start:]))
	out := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(p)
		// Strip redundant outer parentheses.
		for strings.HasPrefix(p, "(") && strings.HasSuffix(p, ")") && MatchClose(p, 0, '(', ')') == len(p) {
			p = strings.TrimSpace(p[1 : len(p)-1])
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

var statusFnRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b(always|failure|cancelled)\(\)`) })

// RunsAfterFailure reports whether a condition lets its step or job run
// after an earlier failure. A condition that calls none of GitHub's status
// functions gets an implicit success() and does not; otherwise it is
// evaluated with success() false, failure() and always() true, cancelled()
// false, and each of gates ("needs.scan.result", "steps.trivy.outcome")
// not 'success', everything else unknown: it runs after a failure unless
// it is then false — so success() || failure() runs, and always() &&
// steps.trivy.outcome == 'success' or !failure() && !cancelled() do not.
// A condition that cannot be read, with a status function, is taken to
// run (fail closed).
func RunsAfterFailure(cond string, gates ...string) bool {
	c := CondText(cond)
	if !callsStatus(c) {
		return false
	}
	v, ok := evalAfterFailure(c, gates)
	return !ok || v != triFalse
}

// IsUnconditional reports whether a condition part never skips: success(),
// always(), !cancelled(), true.
func IsUnconditional(part string) bool {
	switch part {
	case "", "success()", "always()", "!cancelled()", "! cancelled()", "true":
		return true
	}
	return false
}

// MaskExprs replaces the inside of every ${{ … }} with 'x' so that ':' and
// '@' inside expressions are not taken for separators.
func MaskExprs(s string) string {
	spans := ExprSpans(s)
	if len(spans) == 0 {
		return s
	}
	b := []byte(s)
	for _, sp := range spans {
		for i := sp.Start + 3; i < sp.End-2; i++ {
			b[i] = 'x'
		}
	}
	return string(b)
}

// Opaque reports whether a resolved string still holds something that
// could not be followed: a shell expansion, a command substitution, or an
// env. expression without a visible value.
func Opaque(s string) bool {
	masked := MaskExprs(s)
	if strings.ContainsAny(masked, "$`") {
		return true
	}
	for _, sp := range ExprSpans(s) {
		e := NormExpr(s[sp.Start+3 : sp.End-2])
		if strings.HasPrefix(e, "env.") || strings.HasPrefix(e, "inputs.") || strings.HasPrefix(e, "fromjson(") ||
			strings.HasPrefix(e, "format(") || strings.HasPrefix(e, "vars.") || strings.HasPrefix(e, "secrets.") {
			return true
		}
	}
	return false
}

// WholeExpr reports whether s is exactly one expression (a list such as
// steps.meta.outputs.tags cannot be split into repository and tag).
func WholeExpr(s string) bool {
	sp := ExprSpans(s)
	return len(sp) == 1 && sp[0].Start == 0 && sp[0].End == len(s)
}

// SplitList splits a tags:/subject input on newlines and commas.
func SplitList(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// SeverityList parses a severities value (CRITICAL,HIGH or a YAML list
// rendered as words).
func SeverityList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '[' || r == ']' || r == '"' || r == '\''
	}) {
		if f = strings.ToUpper(strings.TrimSpace(f)); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// MatchClose returns the index just past the bracket that closes the one
// at s[open], skipping quoted text.
func MatchClose(s string, open int, o, c byte) int {
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

// CallsStatusFunction reports whether a condition calls always(),
// failure() or cancelled(), so that its step runs whatever came before.
func CallsStatusFunction(cond string) bool { return statusFnRE().MatchString(cond) }
