package checks

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/repo"
)

// Env is what every gate constructor receives. There are no globals: the
// clock and paths come from here.
type Env struct {
	// Dir is where relative paths in readiness.yaml resolve (the config's
	// directory, normally the repository root).
	Dir string
	// ConfigFile names the config for error messages.
	ConfigFile string
	// Now is the clock checks judge validity by.
	Now func() time.Time
	// ToolVersion is readiness's own version.
	ToolVersion string
	// Root is the repository root, which everything reported is relative
	// to; when empty, RepoRoot finds it above Dir.
	Root string
}

// RepoRoot is the repository root: Root, else the nearest directory above
// Dir (inclusive) that holds .git, else (a tree without .git: an unpacked
// source archive) the working directory when Dir lies inside it, else Dir.
// It is absolute.
func (e Env) RepoRoot() string {
	if e.Root != "" {
		if abs, err := filepath.Abs(e.Root); err == nil {
			return abs
		}
		return e.Root
	}
	root, found := repo.FindRoot(e.ConfigDir())
	if found {
		return root
	}
	if wd, err := filepath.Abs("."); err == nil {
		if _, inside := repo.Rel(wd, root); inside {
			return wd
		}
	}
	return root
}

// ConfigDir is Dir made absolute: where paths written in readiness.yaml
// resolve.
func (e Env) ConfigDir() string {
	dir := e.Dir
	if dir == "" {
		dir = "."
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// Gate describes one kind of check this build implements.
type Gate struct {
	Type    string
	Summary string
	// Rules is the gate's rules table, parsed on first use: building the
	// command tree names every gate, and most commands never read a rule.
	Rules *RuleBook
	// New builds the check from its config; a bad `with:` block is a
	// *config.Error naming the file and line.
	New func(env Env, spec config.CheckSpec) (Check, error)
	// Command, when set, is the gate's own command (`readiness key
	// verify`), built by the command layer from this description.
	Command *Command
}

// GateTypes lists the gates' types.
func GateTypes(gates []Gate) []string {
	out := make([]string, len(gates))
	for i, g := range gates {
		out[i] = g.Type
	}
	return out
}

// FindGate returns the gate of the given type.
func FindGate(gates []Gate, typ string) (Gate, bool) {
	for _, g := range gates {
		if g.Type == typ {
			return g, true
		}
	}
	return Gate{}, false
}

// ParseRules reads a gate's embedded rules.yaml.
func ParseRules(data []byte) ([]Rule, error) {
	var rules []Rule
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("parse rules: %w", err)
	}
	for _, r := range rules {
		if r.ID == "" || r.Title == "" || r.Remediation == "" || !r.Severity.Valid() {
			return nil, fmt.Errorf("rule %q: id, title, a valid severity and remediation are required", r.ID)
		}
		for c, sev := range r.Cases {
			if c == "" || !sev.Valid() {
				return nil, fmt.Errorf("rule %q: case %q needs a name and a valid severity", r.ID, c)
			}
		}
		for c, rem := range r.CaseRemediation {
			if _, ok := r.Cases[c]; !ok || strings.TrimSpace(rem) == "" {
				return nil, fmt.Errorf("rule %q: case_remediation %q names no case, or is empty", r.ID, c)
			}
		}
	}
	return rules, nil
}

// MustRules is ParseRules for embedded data that tests prove well formed.
func MustRules(data []byte) []Rule {
	r, err := ParseRules(data)
	if err != nil {
		panic(err)
	}
	return r
}
