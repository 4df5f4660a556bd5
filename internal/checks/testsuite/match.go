package testsuite

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/config"
)

// Pattern names one required test, or several:
//
//   - an exact name: tests/api/test_ledger.py::test_restart, or Go's
//     TestRestart/sub (any package) or example.com/m/ledger/TestRestart;
//   - a glob where `*` matches any run of characters, `/` and `::`
//     included: tests/api/test_ledger.py::test_restart*, TestRestart/*;
//   - a regular expression after `re:`, matched against the whole name:
//     re:^TestRestart(/.*)?$ (RE2 syntax).
//
// `[` and `?` are literal, because pytest parameter IDs use them.
type Pattern struct {
	Value string
	// Line is where the pattern sits in readiness.yaml.
	Line int

	forms []string // the pattern and its equivalent spellings
	re    *regexp.Regexp
}

// UnmarshalYAML keeps the pattern's line for findings that point at it.
func (p *Pattern) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &config.Error{Line: n.Line, Msg: "a required test is a name or pattern (a string)"}
	}
	p.Value, p.Line = strings.TrimSpace(n.Value), n.Line
	return nil
}

// compile prepares the pattern for a report format.
func (p *Pattern) compile(format string) error {
	if p.Value == "" {
		return fmt.Errorf("an empty required test name")
	}
	if expr, ok := strings.CutPrefix(p.Value, "re:"); ok {
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return fmt.Errorf("required test %q: %v", p.Value, err)
		}
		p.re = re
		return nil
	}
	p.forms = []string{p.Value}
	if strings.Contains(p.Value, "::") {
		// pytest node ID → the dotted classname.name pytest's JUnit XML holds.
		p.forms = append(p.forms, pytestDotted(p.Value))
	}
	if format == FormatGoTest && strings.Contains(p.Value, " ") {
		// go test writes subtest names with spaces as underscores.
		p.forms = append(p.forms, strings.ReplaceAll(p.Value, " ", "_"))
	}
	return nil
}

// pytestDotted mirrors pytest's mangle_test_address: path separators become
// dots, .py goes, :: becomes a dot; parameters in [...] are left alone.
func pytestDotted(nodeID string) string {
	path, params, hasParams := strings.Cut(nodeID, "[")
	names := strings.Split(path, "::")
	names[0] = strings.TrimSuffix(strings.ReplaceAll(names[0], "/", "."), ".py")
	out := strings.Join(names, ".")
	if hasParams {
		out += "[" + params
	}
	return out
}

// Match reports whether the test answers to the pattern.
func (p *Pattern) Match(t *TestCase) bool {
	for _, name := range append([]string{t.ID}, t.Aliases...) {
		if p.re != nil {
			if p.re.MatchString(name) {
				return true
			}
			continue
		}
		for _, f := range p.forms {
			if globMatch(f, name) {
				return true
			}
		}
	}
	return false
}

// globMatch matches name against pattern, where `*` stands for any run of
// characters (including none) and everything else is literal.
func globMatch(pattern, name string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == name
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name = name[i+len(part):]
	}
	return strings.HasSuffix(name, last)
}
