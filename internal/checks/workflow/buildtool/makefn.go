package buildtool

import (
	"path"
	"sort"
	"strconv"
	"strings"
)

// computed names the value of a make expression the file does not show
// (a function of unknown text, a variable with a computed name). It is a
// shell parameter expansion, so that where it stands as an argument it is
// only a value, and where it stands as a command the caller sees a name it
// cannot read.
const computed = "${MAKE_COMPUTED}"

// opaque is the value of a make expression that cannot be evaluated: the
// unknown value, followed by the command substitutions inside it, because
// make runs those ($(shell …)) while it computes the value.
func opaque(text string) string { return computed + substs(text) }

// substs keeps only the command substitutions of text: what make runs
// while it expands it.
func substs(text string) string {
	var b strings.Builder
	for i := 0; i+1 < len(text); i++ {
		if text[i] != '$' || text[i+1] != '(' {
			continue
		}
		end := matchParen(text, i+1, '(', ')')
		if end < 0 {
			break
		}
		b.WriteString(text[i : end+1])
		i = end
	}
	return b.String()
}

// known reports whether an expanded text is fully known: no variable or
// command the file does not show is left in it.
func known(s string) bool { return !strings.Contains(s, "$") }

// function evaluates one of GNU make's functions, as far as the file
// shows its arguments; ok is false when fn is not one.
func (m *Makefile) function(fn, arg string, depth int) (string, bool) {
	x := func(s string) string { return m.expand(s, depth+1) }
	switch fn {
	case "shell":
		return "$(" + x(arg) + ")", true
	case "call":
		return m.call(arg, depth), true
	case "info", "warning", "error":
		// They print (error also stops make) and expand to nothing, but
		// make expands their text first: its $(shell …) commands run.
		return substs(x(arg)), true
	case "if", "or", "and":
		return m.conditional(fn, splitArgs(arg, 3), x), true
	case "foreach":
		return m.foreach(splitArgs(arg, 3), depth), true
	case "value":
		return m.vars[strings.TrimSpace(x(arg))], true
	case "origin", "flavor":
		// Their answer never runs anything and is never a command.
		return computed, true
	case "eval", "file", "guile", "let", "intcmp", "wildcard":
		// Text the file does not show (new make syntax, file contents,
		// the files that exist).
		return opaque(x(arg)), true
	}
	if f, n, ok := textFunction(fn); ok {
		args := splitArgs(arg, n)
		for i := range args {
			args[i] = x(args[i])
		}
		for _, a := range args {
			if !known(a) {
				return opaque(strings.Join(args, " ")), true
			}
		}
		for len(args) < n {
			args = append(args, "")
		}
		return f(args), true
	}
	return "", false
}

// call expands a user function with $(1), $(2)… bound to its arguments.
func (m *Makefile) call(arg string, depth int) string {
	args := splitArgs(arg, -1)
	name := strings.TrimSpace(m.expand(args[0], depth+1))
	body, ok := m.vars[name]
	if !ok {
		if !known(name) {
			return opaque(name)
		}
		return ""
	}
	saved := map[string]*string{}
	for i := 1; i < len(args) && i < 10; i++ {
		k := strconv.Itoa(i)
		if v, ok := m.vars[k]; ok {
			saved[k] = &v
		} else {
			saved[k] = nil
		}
		m.vars[k] = m.expand(args[i], depth+1)
		m.simple[k] = true
	}
	out := m.expand(body, depth+1)
	for k, v := range saved {
		delete(m.simple, k)
		if v == nil {
			delete(m.vars, k)
		} else {
			m.vars[k] = *v
		}
	}
	return out
}

// conditional evaluates $(if …), $(or …), $(and …). A condition the file
// does not show leaves every branch possible: the value is unknown, and
// the commands of every branch are kept.
func (m *Makefile) conditional(fn string, args []string, x func(string) string) string {
	var seen []string
	switch fn {
	case "if":
		cond := strings.TrimSpace(x(args[0]))
		then, els := "", ""
		if len(args) > 1 {
			then = args[1]
		}
		if len(args) > 2 {
			els = args[2]
		}
		switch {
		case cond == "":
			return x(els)
		case known(cond):
			return x(then)
		}
		return opaque(cond + " " + x(then) + " " + x(els))
	case "or":
		for _, a := range args {
			v := strings.TrimSpace(x(a))
			if !known(v) {
				return opaque(strings.Join(append(seen, v), " "))
			}
			if v != "" {
				return v
			}
		}
		return ""
	default: // and
		last := ""
		for _, a := range args {
			v := strings.TrimSpace(x(a))
			if !known(v) {
				return opaque(strings.Join(append(seen, v), " "))
			}
			if v == "" {
				return ""
			}
			seen, last = append(seen, v), v
		}
		return last
	}
}

// foreach expands text once per word of the list, the variable bound to
// each word in turn.
func (m *Makefile) foreach(args []string, depth int) string {
	if len(args) < 3 {
		return ""
	}
	name := strings.TrimSpace(m.expand(args[0], depth+1))
	list := m.expand(args[1], depth+1)
	if !known(name) || !known(list) {
		return opaque(name + " " + list + " " + m.expand(args[2], depth+1))
	}
	prev, had := m.vars[name]
	wasSimple := m.simple[name]
	var out []string
	for _, w := range strings.Fields(list) {
		m.vars[name], m.simple[name] = w, true
		out = append(out, m.expand(args[2], depth+1))
		if len(out) > maxLines {
			break
		}
	}
	if had {
		m.vars[name] = prev
		if !wasSimple {
			delete(m.simple, name)
		}
	} else {
		delete(m.vars, name)
		delete(m.simple, name)
	}
	return strings.Join(out, " ")
}

// textFunction returns make's pure text functions: their result depends
// only on their (expanded) arguments, and n is how many they take (the
// last one takes the rest, commas and all).
func textFunction(fn string) (func([]string) string, int, bool) {
	words := func(f func(string) string) func([]string) string {
		return func(a []string) string {
			var out []string
			for _, w := range strings.Fields(a[0]) {
				out = append(out, f(w))
			}
			return strings.Join(out, " ")
		}
	}
	switch fn {
	case "strip":
		return func(a []string) string { return strings.Join(strings.Fields(a[0]), " ") }, 1, true
	case "firstword", "lastword", "words", "sort":
		return func(a []string) string {
			ws := strings.Fields(a[0])
			switch {
			case fn == "words":
				return strconv.Itoa(len(ws))
			case len(ws) == 0:
				return ""
			case fn == "firstword":
				return ws[0]
			case fn == "lastword":
				return ws[len(ws)-1]
			}
			return strings.Join(sortUnique(ws), " ")
		}, 1, true
	case "notdir":
		return words(func(w string) string { return path.Base(w) }), 1, true
	case "dir":
		return words(func(w string) string { return path.Dir(w) + "/" }), 1, true
	case "abspath", "realpath":
		return words(path.Clean), 1, true
	case "suffix":
		return words(path.Ext), 1, true
	case "basename":
		return words(func(w string) string { return strings.TrimSuffix(w, path.Ext(w)) }), 1, true
	case "subst":
		return func(a []string) string {
			if a[0] == "" {
				return a[2]
			}
			return strings.ReplaceAll(a[2], a[0], a[1])
		}, 3, true
	case "patsubst":
		return func(a []string) string { return patsubst(strings.TrimSpace(a[0]), strings.TrimSpace(a[1]), a[2]) }, 3, true
	case "filter", "filter-out":
		return func(a []string) string { return filter(a[0], a[1], fn == "filter") }, 2, true
	case "findstring":
		return func(a []string) string {
			if strings.Contains(a[1], a[0]) {
				return a[0]
			}
			return ""
		}, 2, true
	case "addprefix", "addsuffix":
		return func(a []string) string {
			var out []string
			for _, w := range strings.Fields(a[1]) {
				if fn == "addprefix" {
					out = append(out, strings.TrimSpace(a[0])+w)
				} else {
					out = append(out, w+strings.TrimSpace(a[0]))
				}
			}
			return strings.Join(out, " ")
		}, 2, true
	case "word", "wordlist":
		return func(a []string) string {
			ws := strings.Fields(a[len(a)-1])
			from, _ := strconv.Atoi(strings.TrimSpace(a[0]))
			to := from
			if fn == "wordlist" {
				to, _ = strconv.Atoi(strings.TrimSpace(a[1]))
			}
			if from < 1 || from > len(ws) || to < from {
				return ""
			}
			return strings.Join(ws[from-1:min(to, len(ws))], " ")
		}, map[string]int{"word": 2, "wordlist": 3}[fn], true
	case "join":
		return func(a []string) string {
			x, y := strings.Fields(a[0]), strings.Fields(a[1])
			var out []string
			for i := range max(len(x), len(y)) {
				s := ""
				if i < len(x) {
					s = x[i]
				}
				if i < len(y) {
					s += y[i]
				}
				out = append(out, s)
			}
			return strings.Join(out, " ")
		}, 2, true
	}
	return nil, 0, false
}

// patsubst replaces each word matching pattern (one % as a wildcard).
func patsubst(pattern, repl, text string) string {
	var out []string
	for _, w := range strings.Fields(text) {
		if stem, ok := match(pattern, w); ok {
			w = strings.Replace(repl, "%", stem, 1)
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// filter keeps (or, with keep false, drops) the words matching a pattern.
func filter(patterns, text string, keep bool) string {
	var out []string
	for _, w := range strings.Fields(text) {
		hit := false
		for _, p := range strings.Fields(patterns) {
			if _, ok := match(p, w); ok {
				hit = true
				break
			}
		}
		if hit == keep {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// match matches one word against a make pattern with at most one %.
func match(pattern, w string) (string, bool) {
	pre, suf, wild := strings.Cut(pattern, "%")
	if !wild {
		return "", w == pattern
	}
	if len(w) < len(pre)+len(suf) || !strings.HasPrefix(w, pre) || !strings.HasSuffix(w, suf) {
		return "", false
	}
	return w[len(pre) : len(w)-len(suf)], true
}

func sortUnique(ws []string) []string {
	out := append([]string(nil), ws...)
	sort.Strings(out)
	uniq := out[:0]
	for i, w := range out {
		if i == 0 || w != out[i-1] {
			uniq = append(uniq, w)
		}
	}
	return uniq
}

// splitArgs splits a function's arguments at top-level commas; n > 0
// bounds the count (the last argument keeps its commas), as make does.
func splitArgs(s string, n int) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{':
			depth++
		case ')', '}':
			depth--
		case ',':
			if depth == 0 && (n <= 0 || len(out) < n-1) {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
