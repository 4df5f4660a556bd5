package report

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/readiness-dev/readiness/internal/evidence"
)

// place is where a message points: a repository-relative path and a
// 1-based line (0 when unknown).
type place struct {
	Path string
	Line int
}

// locator finds the file and line a blocking or warning message is about,
// so that annotations and SARIF results can point somewhere even for a
// deny that belongs to no finding: an expired waiver points at its entry in
// readiness.yaml, a check's error at the check's entry, a custom rule at
// the policy line that names it. Reading is best effort: a file that cannot
// be read leaves the config file as the place.
type locator struct {
	doc   *evidence.Document
	cache map[string][]byte
	// offline reads no file: the document is an earlier run's, input
	// from disk whose paths this machine has no reason to open.
	offline bool
}

func newLocator(doc *evidence.Document) *locator {
	return &locator{doc: doc, cache: map[string][]byte{}}
}

// configPlace is the config file itself, line 1 (or readiness.yaml when the
// run had none).
func (l *locator) configPlace() place {
	if l.doc.Config.Path == "" {
		return place{Path: "readiness.yaml", Line: 1}
	}
	return place{Path: relPath(l.doc, l.doc.Config.Path), Line: 1}
}

// of locates b.
func (l *locator) of(b blocker) place {
	if f := b.Finding; f != nil && f.Location != nil && f.Location.Path != "" {
		return place{Path: relPath(l.doc, f.Location.Path), Line: f.Location.Line}
	}
	if b.Finding == nil {
		// A message of a user policy (the default policy names a rule for
		// each of its own): the policy line that produced it, even when
		// it names a check.
		if p, ok := l.customRule(b.Message); ok {
			return p
		}
	}
	if b.Finding != nil || b.Check != "" {
		// A finding without a location, or a check-level message
		// (CHECK-ERROR, CHECK-NOT-RUN): the check's entry in the config.
		if line := l.grepLine(l.doc.Config.Path, checkEntryRE(b.Check)); line > 0 {
			return place{Path: relPath(l.doc, l.doc.Config.Path), Line: line}
		}
		return l.configPlace()
	}
	if b.Finding == nil && b.Message.Finding != "" {
		for _, w := range l.doc.Waivers {
			if w.ID == b.Message.Finding && w.Location != "" {
				if p, ok := parseFileLine(w.Location); ok {
					p.Path = relPath(l.doc, p.Path)
					return p
				}
			}
		}
	}
	return l.configPlace()
}

// customRule finds the line of a user policy that produced m: the line
// naming its "rule" when it has one, else the head of the deny or warn rule
// whose message format matches m's text, else (one user rule only) that rule.
func (l *locator) customRule(m evidence.Message) (place, bool) {
	var user []string
	for _, src := range l.doc.Verdict.Policies {
		if !strings.HasPrefix(src, "embedded:") {
			user = append(user, src)
		}
	}
	if len(user) == 0 {
		return place{}, false
	}
	if m.Rule != "" {
		re := regexp.MustCompile(regexp.QuoteMeta(strconv.Quote(m.Rule)))
		for _, src := range user {
			if line := l.grepLine(src, re); line > 0 {
				return place{Path: relPath(l.doc, src), Line: line}, true
			}
		}
		return place{}, false
	}
	var heads []place
	for _, src := range user {
		for _, h := range l.ruleHeads(src) {
			if h.format != nil && h.format.MatchString(m.Msg) {
				return place{Path: relPath(l.doc, src), Line: h.line}, true
			}
			heads = append(heads, place{Path: relPath(l.doc, src), Line: h.line})
		}
	}
	if len(heads) == 1 {
		return heads[0], true
	}
	return place{}, false
}

// ruleHead is the first line of a deny or warn rule and the message format
// found in its body (the first string literal that can produce a message).
type ruleHead struct {
	line   int
	format *regexp.Regexp
}

var (
	headRE    = regexp.MustCompile(`^(deny|warn)\b`)
	literalRE = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
	verbRE    = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)
)

// ruleHeads lists the deny and warn rules of a Rego file. Each rule's
// string literals become patterns (sprintf verbs match anything); the first
// that matches a message names its rule.
func (l *locator) ruleHeads(path string) []ruleHead {
	l.grepLine(path, headRE) // fills the cache
	var out []ruleHead
	var lits []string
	flush := func() {
		if len(out) == 0 {
			return
		}
		var alts []string
		for _, lit := range lits {
			s, err := strconv.Unquote(`"` + lit + `"`)
			if err != nil || strings.TrimSpace(verbRE.ReplaceAllString(s, "")) == "" {
				continue
			}
			parts := verbRE.Split(s, -1)
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			alts = append(alts, strings.Join(parts, "(?s:.*)"))
		}
		if len(alts) > 0 && out[len(out)-1].format == nil {
			out[len(out)-1].format = regexp.MustCompile(`^(?:` + strings.Join(alts, "|") + `)$`)
		}
		lits = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(l.cache[path]))
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if headRE.MatchString(text) {
			flush()
			out = append(out, ruleHead{line: n})
		}
		if len(out) > 0 && !strings.HasPrefix(strings.TrimSpace(text), "#") {
			for _, m := range literalRE.FindAllStringSubmatch(text, -1) {
				lits = append(lits, m[1])
			}
		}
	}
	flush()
	return out
}

func checkEntryRE(name string) *regexp.Regexp {
	return regexp.MustCompile(`^\s*(-\s*)?name:\s*["']?` + regexp.QuoteMeta(name) + `["']?\s*(#.*)?$`)
}

// grepLine returns the first line of path matching re, or 0.
func (l *locator) grepLine(path string, re *regexp.Regexp) int {
	if path == "" || l.offline {
		return 0
	}
	data, ok := l.cache[path]
	if !ok {
		p := path
		if !filepath.IsAbs(p) && l.doc.Repository != nil && l.doc.Repository.Root != "" {
			if _, err := os.Stat(p); err != nil {
				p = filepath.Join(l.doc.Repository.Root, p)
			}
		}
		data, _ = readSmall(p)
		l.cache[path] = data
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if re.Match(sc.Bytes()) {
			return n
		}
	}
	return 0
}

// readSmall reads a file of at most 1 MiB; larger or unreadable gives nil.
func readSmall(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 1<<20 {
		return nil, err
	}
	return os.ReadFile(path)
}

// parseFileLine splits "path:line".
func parseFileLine(s string) (place, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return place{}, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n <= 0 {
		return place{}, false
	}
	return place{Path: s[:i], Line: n}, true
}
