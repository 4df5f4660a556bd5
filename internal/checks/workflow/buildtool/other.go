package buildtool

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Taskfile is a parsed Taskfile.yml (go-task).
type Taskfile struct {
	file  string
	vars  map[string]string
	tasks map[string]taskDef
}

type taskDef struct {
	Cmds []yaml.Node `yaml:"cmds"`
	Deps []yaml.Node `yaml:"deps"`
	Cmd  yaml.Node   `yaml:"cmd"`
}

// UnmarshalYAML also reads task's shorthand forms: a task written as a
// list of commands (`build: [go build ./...]`) or as one command string.
// goreleaser's own Taskfile uses the list form; reading it as a mapping
// failed the whole file, and every task call then counted as a possible
// signer.
func (t *taskDef) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			t.Cmds = append(t.Cmds, *c)
		}
		return nil
	case yaml.ScalarNode:
		t.Cmd = *n
		return nil
	}
	type plain taskDef
	return n.Decode((*plain)(t))
}

// ParseTaskfile reads a Taskfile.
func ParseTaskfile(file string, src []byte) (*Taskfile, error) {
	var doc struct {
		Vars  map[string]yaml.Node `yaml:"vars"`
		Tasks map[string]taskDef   `yaml:"tasks"`
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	t := &Taskfile{file: file, vars: map[string]string{}, tasks: doc.Tasks}
	for k, v := range doc.Vars {
		if v.Kind == yaml.ScalarNode {
			t.vars[k] = v.Value
		}
	}
	return t, nil
}

var taskVarRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*\.([A-Za-z0-9_]+)\s*\}\}`) })

// Commands returns the lines running task runs: its deps' first, then
// its cmds (a `task:` entry runs that task). ok is false when the task is
// not defined.
func (t *Taskfile) Commands(name string) ([]Line, bool) {
	var out []Line
	seen := map[string]bool{}
	var run func(n string, depth int) bool
	run = func(n string, depth int) bool {
		if seen[n] || depth > maxTargets || len(out) > maxLines {
			return true
		}
		seen[n] = true
		d, ok := t.tasks[n]
		if !ok {
			return false
		}
		for _, dep := range d.Deps {
			run(taskRef(dep), depth+1)
		}
		cmds := d.Cmds
		if d.Cmd.Kind == yaml.ScalarNode {
			cmds = append([]yaml.Node{d.Cmd}, cmds...)
		}
		for _, c := range cmds {
			switch c.Kind {
			case yaml.ScalarNode:
				out = append(out, Line{Text: t.expand(c.Value), File: t.file, Line: c.Line, Target: n})
			case yaml.MappingNode:
				var m struct {
					Cmd         string `yaml:"cmd"`
					Task        string `yaml:"task"`
					IgnoreError bool   `yaml:"ignore_error"`
				}
				if c.Decode(&m) != nil {
					continue
				}
				if m.Task != "" {
					run(m.Task, depth+1)
					continue
				}
				if m.Cmd != "" {
					out = append(out, Line{Text: t.expand(m.Cmd), File: t.file, Line: c.Line, Target: n, IgnoreErr: m.IgnoreError})
				}
			}
		}
		return true
	}
	ok := run(name, 0)
	return out, ok
}

func taskRef(n yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	var m struct {
		Task string `yaml:"task"`
	}
	_ = n.Decode(&m)
	return m.Task
}

// expand substitutes {{.VAR}} with the Taskfile's vars; unknown ones
// become ${VAR} for the shell (go-task also reads the environment).
func (t *Taskfile) expand(s string) string {
	return taskVarRE().ReplaceAllStringFunc(s, func(m string) string {
		name := taskVarRE().FindStringSubmatch(m)[1]
		if v, ok := t.vars[name]; ok {
			return v
		}
		return "${" + name + "}"
	})
}

// Justfile is a parsed justfile.
type Justfile struct {
	file    string
	vars    map[string]string
	recipes map[string]*justRecipe
	first   string
}

type justRecipe struct {
	deps  []string
	lines []Line
}

var (
	justAssignRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:export\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*:=\s*(.*)$`)
	})
	justRecipeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^@?([A-Za-z_][A-Za-z0-9_-]*)([^:]*):([^=].*|)$`) })
	justInterpRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}`) })
)

// ParseJustfile reads a justfile.
func ParseJustfile(file string, src []byte) *Justfile {
	j := &Justfile{file: file, vars: map[string]string{}, recipes: map[string]*justRecipe{}}
	var cur *justRecipe
	for i, raw := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") {
		if raw != "" && (raw[0] == ' ' || raw[0] == '\t') {
			if cur != nil && strings.TrimSpace(raw) != "" {
				l := recipeLine(strings.TrimSpace(raw), file, i+1)
				cur.lines = append(cur.lines, l)
			}
			continue
		}
		line := strings.TrimSpace(stripComment(raw))
		cur = nil
		switch {
		case line == "" || strings.HasPrefix(line, "set ") || strings.HasPrefix(line, "["):
		case justAssignRE().MatchString(line):
			m := justAssignRE().FindStringSubmatch(line)
			j.vars[m[1]] = strings.Trim(strings.TrimSpace(m[2]), `'"`)
		case justRecipeRE().MatchString(line):
			m := justRecipeRE().FindStringSubmatch(line)
			cur = &justRecipe{deps: strings.Fields(m[3])}
			j.recipes[m[1]] = cur
			if j.first == "" {
				j.first = m[1]
			}
		}
	}
	return j
}

// Default is the recipe `just` runs without arguments.
func (j *Justfile) Default() string { return j.first }

// Commands returns the lines recipe runs, dependencies first.
func (j *Justfile) Commands(name string) ([]Line, bool) {
	var out []Line
	seen := map[string]bool{}
	var run func(n string, depth int) bool
	run = func(n string, depth int) bool {
		if seen[n] || depth > maxTargets {
			return true
		}
		seen[n] = true
		r := j.recipes[n]
		if r == nil {
			return false
		}
		for _, d := range r.deps {
			run(d, depth+1)
		}
		for _, l := range r.lines {
			l.Text = justInterpRE().ReplaceAllStringFunc(l.Text, func(m string) string {
				name := justInterpRE().FindStringSubmatch(m)[1]
				if v, ok := j.vars[name]; ok {
					return v
				}
				return "${" + name + "}"
			})
			l.Target = n
			out = append(out, l)
		}
		return true
	}
	ok := run(name, 0)
	return out, ok
}

// PackageScripts returns the lines `npm run NAME` runs: prename, name,
// postname, as npm does.
func PackageScripts(file string, src []byte, name string) ([]Line, bool, error) {
	var doc struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, false, fmt.Errorf("%s: %w", file, err)
	}
	if _, ok := doc.Scripts[name]; !ok {
		return nil, false, nil
	}
	var out []Line
	for _, n := range []string{"pre" + name, name, "post" + name} {
		if s, ok := doc.Scripts[n]; ok {
			out = append(out, Line{Text: s, File: file, Line: lineOf(src, `"`+n+`"`), Target: n})
		}
	}
	return out, true, nil
}

// lineOf is the 1-based line where needle first occurs, or 1.
func lineOf(src []byte, needle string) int {
	i := strings.Index(string(src), needle)
	if i < 0 {
		return 1
	}
	return strings.Count(string(src[:i]), "\n") + 1
}
