// Package model is the workflow gate's model of GitHub Actions: workflow
// files, jobs, steps and composite actions as written (with their lines),
// matrices expanded, and the ${{ }} expression text helpers. It parses; it
// does not judge. The gate (package workflow) builds the job graph over it,
// reads the steps through its catalog, and judges.
package model

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

// The analysis works on this model rather than on actionlint's AST
// directly, because composite actions (action.yml) are read here too and
// their steps must look like workflow steps.

// Workflow is one workflow file.
type Workflow struct {
	Path     string // slash path relative to the repository root
	Src      []byte
	Name     string
	Triggers []string
	// CallOnly is set when workflow_call is the only trigger.
	CallOnly bool
	Env      Env
	Shell    string
	// IDToken is set when the workflow grants id-token: write (keyless
	// signing credentials) to its jobs.
	IDToken bool
	// Inputs are workflow_call / workflow_dispatch input defaults (lower-case ids).
	Inputs map[string]string
	// Outputs are workflow_call outputs (lower-case names → value expressions).
	Outputs map[string]string
	// RunAfter names the workflows a workflow_run trigger waits for.
	RunAfter []string
	Jobs     []*Job
	// Invalid says why the file could not be analysed; InvalidLine where.
	Invalid     string
	InvalidLine int
	// ParseErrors are actionlint's structural complaints (the file was still analysed).
	ParseErrors []*actionlint.Error
}

// Job is one job as written.
type Job struct {
	ID, Name        string
	Line            int
	Needs           []string
	If              string
	ContinueOnError string
	Env             Env
	Shell, WorkDir  string
	// IDToken is true or false when the job sets id-token permission
	// itself, nil when it inherits the workflow's.
	IDToken *bool
	// Matrix holds literal matrix values by lower-case key; Combos the
	// job instances the matrix runs (include/exclude applied), and
	// MatrixOpaque is set when part of it is an expression.
	Matrix       map[string][]string
	Combos       []map[string]string
	MatrixOpaque bool
	// Outputs by lower-case name.
	Outputs map[string]string
	// Uses and With are set for a reusable-workflow call; Secrets names
	// the secrets it passes (as the callee names them) and SecretValues
	// what each is given (${{ secrets.COSIGN_KEY }}), InheritSecrets is
	// secrets: inherit.
	Uses           string
	UsesLine       int
	With           map[string]string
	Secrets        []string
	SecretValues   map[string]string
	InheritSecrets bool
	Steps          []*Step
}

// Step is one step as written, in a workflow or a composite action.
type Step struct {
	Path            string // file holding the step
	Line            int
	Index           int // 0-based position in its job or action
	ID, Name        string
	If              string
	ContinueOnError string
	Env             Env
	Uses            string
	UsesLine        int
	With            map[string]Value // lower-case keys
	Run             string
	RunLine         int
	// RunLiteral is set when the script is a literal block (run: |), so
	// that script line i sits at RunLine+1+i.
	RunLiteral     bool
	Shell, WorkDir string
}

type Value struct {
	V    string
	Line int
}

// Env is an env: block, keys as written.
type Env map[string]string

// lookup finds a variable; expressions' env.NAME is case-insensitive.
func (e Env) Lookup(name string, fold bool) (string, bool) {
	if v, ok := e[name]; ok {
		return v, true
	}
	if fold {
		for k, v := range e {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
	}
	return "", false
}

func str(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	return s.Value
}

func line(p *actionlint.Pos) int {
	if p == nil {
		return 0
	}
	return p.Line
}

func boolStr(b *actionlint.Bool) string {
	if b == nil {
		return ""
	}
	if b.Expression != nil {
		return b.Expression.Value
	}
	if b.Value {
		return "true"
	}
	return "false"
}

func convEnv(e *actionlint.Env) Env {
	if e == nil || e.Vars == nil {
		return nil
	}
	m := Env{}
	for _, v := range e.Vars {
		if v == nil || v.Name == nil {
			continue
		}
		m[v.Name.Value] = str(v.Value)
	}
	return m
}

// ParseWorkflow parses src with actionlint's parser into the model. A file
// that is not YAML, empty, or not a workflow comes back with Invalid set.
func ParseWorkflow(path string, src []byte) *Workflow {
	f := &Workflow{Path: path, Src: src}
	w, errs := actionlint.Parse(src)
	if w == nil {
		f.Invalid, f.InvalidLine = "is not valid YAML", 1
		if len(errs) > 0 {
			f.Invalid = strings.TrimPrefix(errs[0].Message, "could not parse as YAML: ")
			f.Invalid = "is not valid YAML: " + f.Invalid
			f.InvalidLine = max(errs[0].Line, 1)
		}
		return f
	}
	for _, e := range errs {
		switch {
		case e.Message == "workflow is empty":
			f.Invalid, f.InvalidLine = "is empty", 1
			return f
		case strings.Contains(e.Message, `"workflow" section is`):
			f.Invalid, f.InvalidLine = "is not a workflow: its top level is not a mapping", max(e.Line, 1)
			return f
		}
	}
	if w.On == nil && w.Jobs == nil {
		f.Invalid, f.InvalidLine = `is not a workflow: it has neither "on:" nor "jobs:"`, 1
		return f
	}
	f.ParseErrors = errs
	f.Name = str(w.Name)
	f.Env = convEnv(w.Env)
	if it := idToken(w.Permissions); it != nil {
		f.IDToken = *it
	}
	if w.Defaults != nil && w.Defaults.Run != nil {
		f.Shell = str(w.Defaults.Run.Shell)
	}
	f.Inputs, f.Outputs = map[string]string{}, map[string]string{}
	for _, ev := range w.On {
		if ev == nil {
			continue
		}
		f.Triggers = append(f.Triggers, ev.EventName())
		switch e := ev.(type) {
		case *actionlint.WorkflowCallEvent:
			for _, in := range e.Inputs {
				if in != nil && in.Default != nil {
					f.Inputs[in.ID] = in.Default.Value
				}
			}
			for k, o := range e.Outputs {
				if o != nil {
					f.Outputs[k] = str(o.Value)
				}
			}
		case *actionlint.WorkflowDispatchEvent:
			for k, in := range e.Inputs {
				if in != nil && in.Default != nil {
					if _, ok := f.Inputs[k]; !ok {
						f.Inputs[k] = in.Default.Value
					}
				}
			}
		case *actionlint.WebhookEvent:
			if e.Hook != nil && e.Hook.Value == "workflow_run" {
				for _, n := range e.Workflows {
					f.RunAfter = append(f.RunAfter, str(n))
				}
			}
		}
	}
	sort.Strings(f.Triggers)
	lines := strings.Split(string(src), "\n")
	f.CallOnly = len(f.Triggers) == 1 && f.Triggers[0] == "workflow_call"
	for _, j := range w.Jobs {
		if j == nil || j.ID == nil {
			continue
		}
		f.Jobs = append(f.Jobs, convJob(path, lines, j))
	}
	sort.Slice(f.Jobs, func(a, b int) bool { return f.Jobs[a].Line < f.Jobs[b].Line })
	if cyc, line := needsCycle(f.Jobs); cyc != nil {
		// GitHub refuses to run the workflow: it is not a gate.
		f.Invalid = fmt.Sprintf("has a cycle in its jobs' needs: (%s), so GitHub refuses to run it", strings.Join(cyc, " → "))
		f.InvalidLine = line
	}
	return f
}

// needsCycle finds a cycle in the jobs' needs: and returns it (the first
// job repeated at the end) with the line of its first job.
func needsCycle(jobs []*Job) ([]string, int) {
	byID := map[string]*Job{}
	for _, j := range jobs {
		byID[strings.ToLower(j.ID)] = j
	}
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(id string) []string
	visit = func(id string) []string {
		switch state[id] {
		case active:
			i := slices.Index(stack, id)
			return append(slices.Clone(stack[i:]), id)
		case done:
			return nil
		}
		state[id] = active
		stack = append(stack, id)
		if j := byID[id]; j != nil {
			for _, n := range j.Needs {
				if _, ok := byID[strings.ToLower(n)]; !ok {
					continue
				}
				if c := visit(strings.ToLower(n)); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		return nil
	}
	for _, j := range jobs {
		if c := visit(strings.ToLower(j.ID)); c != nil {
			return c, byID[c[0]].Line
		}
	}
	return nil, 0
}

func convJob(path string, lines []string, j *actionlint.Job) *Job {
	d := &Job{ID: j.ID.Value, Name: str(j.Name), Line: line(j.Pos), If: str(j.If),
		ContinueOnError: boolStr(j.ContinueOnError), Env: convEnv(j.Env), Outputs: map[string]string{}}
	d.IDToken = idToken(j.Permissions)
	for _, n := range j.Needs {
		if n != nil {
			d.Needs = append(d.Needs, n.Value)
		}
	}
	if j.Defaults != nil && j.Defaults.Run != nil {
		d.Shell, d.WorkDir = str(j.Defaults.Run.Shell), str(j.Defaults.Run.WorkingDirectory)
	}
	for k, o := range j.Outputs {
		if o != nil {
			d.Outputs[strings.ToLower(k)] = str(o.Value)
		}
	}
	if j.Strategy != nil && j.Strategy.Matrix != nil {
		d.Combos, d.MatrixOpaque = expandMatrix(j.Strategy.Matrix)
		d.Matrix = map[string][]string{}
		for _, c := range d.Combos {
			for k, v := range c {
				if !slices.Contains(d.Matrix[k], v) {
					d.Matrix[k] = append(d.Matrix[k], v)
				}
			}
		}
	}
	if j.WorkflowCall != nil {
		d.Uses, d.UsesLine = str(j.WorkflowCall.Uses), line(j.WorkflowCall.Uses.Pos)
		d.With = map[string]string{}
		for k, in := range j.WorkflowCall.Inputs {
			if in != nil {
				d.With[strings.ToLower(k)] = str(in.Value)
			}
		}
		d.InheritSecrets = j.WorkflowCall.InheritSecrets
		d.SecretValues = map[string]string{}
		for k, sec := range j.WorkflowCall.Secrets {
			d.Secrets = append(d.Secrets, k)
			if sec != nil {
				d.SecretValues[k] = str(sec.Value)
			}
		}
		slices.Sort(d.Secrets)
	}
	for _, s := range j.Steps {
		if s != nil {
			st := convStep(path, lines, s)
			st.Index = len(d.Steps)
			d.Steps = append(d.Steps, st)
		}
	}
	return d
}

func convStep(path string, lines []string, s *actionlint.Step) *Step {
	d := &Step{Path: path, Line: line(s.Pos), ID: str(s.ID), Name: str(s.Name), If: str(s.If),
		ContinueOnError: boolStr(s.ContinueOnError), Env: convEnv(s.Env)}
	switch e := s.Exec.(type) {
	case *actionlint.ExecAction:
		if e.Uses != nil {
			d.Uses, d.UsesLine = e.Uses.Value, line(e.Uses.Pos)
		}
		d.With = map[string]Value{}
		for k, in := range e.Inputs {
			if in != nil && in.Value != nil {
				d.With[strings.ToLower(k)] = Value{in.Value.Value, line(in.Value.Pos)}
			}
		}
		if e.Args != nil {
			d.With["args"] = Value{e.Args.Value, line(e.Args.Pos)}
		}
		if e.Entrypoint != nil {
			d.With["entrypoint"] = Value{e.Entrypoint.Value, line(e.Entrypoint.Pos)}
		}
	case *actionlint.ExecRun:
		if e.Run != nil {
			d.Run, d.RunLine = e.Run.Value, line(e.Run.Pos)
			d.RunLiteral = isBlockLiteral(lines, e.Run)
		}
		d.Shell, d.WorkDir = str(e.Shell), str(e.WorkingDirectory)
	}
	return d
}

// isBlockLiteral reports whether the script is a literal block (run: |),
// looking at the source where its value starts. Folded (>) scalars are
// rare in run: and only make line numbers approximate.
func isBlockLiteral(lines []string, s *actionlint.String) bool {
	if s == nil || s.Pos == nil || s.Quoted || s.Pos.Line < 1 || s.Pos.Line > len(lines) {
		return false
	}
	l := lines[s.Pos.Line-1]
	col := s.Pos.Col - 1
	return col >= 0 && col < len(l) && l[col] == '|'
}

// composite is a local composite action (action.yml with runs.using: composite).
type Action struct {
	Path    string
	Inputs  map[string]string // lower-case id → default
	Outputs map[string]string // lower-case name → value expression
	Steps   []*Step
	// Kind is "composite", or the `using:` of another kind of action.
	Kind string
}

// ParseAction reads a local action's metadata, keeping line numbers.
func ParseAction(path string, src []byte) (*Action, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s is not an action: expected a mapping", path)
	}
	c := &Action{Path: path, Inputs: map[string]string{}, Outputs: map[string]string{}}
	top := root.Content[0]
	if in := mapGet(top, "inputs"); in != nil && in.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(in.Content); i += 2 {
			if d := mapGet(in.Content[i+1], "default"); d != nil && d.Kind == yaml.ScalarNode {
				c.Inputs[strings.ToLower(in.Content[i].Value)] = d.Value
			}
		}
	}
	if out := mapGet(top, "outputs"); out != nil && out.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(out.Content); i += 2 {
			if v := mapGet(out.Content[i+1], "value"); v != nil && v.Kind == yaml.ScalarNode {
				c.Outputs[strings.ToLower(out.Content[i].Value)] = v.Value
			}
		}
	}
	runs := mapGet(top, "runs")
	if runs == nil || runs.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s is not an action: it has no runs: mapping", path)
	}
	if u := mapGet(runs, "using"); u != nil {
		c.Kind = strings.ToLower(u.Value)
	}
	if c.Kind != "composite" {
		return c, nil
	}
	steps := mapGet(runs, "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return c, nil
	}
	for _, n := range steps.Content {
		if n.Kind != yaml.MappingNode {
			continue
		}
		st := nodeStep(path, n)
		st.Index = len(c.Steps)
		c.Steps = append(c.Steps, st)
	}
	return c, nil
}

func nodeStep(path string, n *yaml.Node) *Step {
	d := &Step{Path: path, Line: n.Line}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "id":
			d.ID = v.Value
		case "name":
			d.Name = v.Value
		case "if":
			d.If = v.Value
		case "continue-on-error":
			d.ContinueOnError = v.Value
		case "uses":
			d.Uses, d.UsesLine = v.Value, v.Line
		case "run":
			d.Run, d.RunLine = v.Value, v.Line
			d.RunLiteral = v.Style&yaml.LiteralStyle != 0
		case "shell":
			d.Shell = v.Value
		case "working-directory":
			d.WorkDir = v.Value
		case "env":
			if v.Kind == yaml.MappingNode {
				d.Env = Env{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					d.Env[v.Content[j].Value] = v.Content[j+1].Value
				}
			}
		case "with":
			if v.Kind == yaml.MappingNode {
				d.With = map[string]Value{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					d.With[strings.ToLower(v.Content[j].Value)] = Value{v.Content[j+1].Value, v.Content[j+1].Line}
				}
			}
		}
	}
	return d
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// StepKey names a step for finding IDs: its id, else its name, else its
// 1-based position.
func StepKey(d *Step, index int) string {
	switch {
	case d.ID != "":
		return d.ID
	case d.Name != "" && !strings.Contains(d.Name, "${{"):
		return slug(d.Name)
	}
	return fmt.Sprintf("step-%d", index+1)
}

// slug lower-cases s and keeps letters, digits and single dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 60 {
		out = out[:60]
	}
	return out
}

// DisplayStep names a step for messages.
func DisplayStep(d *Step) string {
	switch {
	case d.Name != "":
		return fmt.Sprintf("%q", d.Name)
	case d.ID != "":
		return fmt.Sprintf("%q", d.ID)
	case d.Uses != "":
		return fmt.Sprintf("%d (%s)", d.Index+1, ActionName(d.Uses))
	}
	return fmt.Sprintf("%d", d.Index+1)
}

func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// idToken reads whether permissions grant id-token: write; nil when no
// permissions are set.
func idToken(p *actionlint.Permissions) *bool {
	if p == nil {
		return nil
	}
	v := false
	if p.All != nil && p.All.Value == "write-all" {
		v = true
	}
	for name, sc := range p.Scopes {
		if strings.EqualFold(name, "id-token") && sc != nil && sc.Value != nil && sc.Value.Value == "write" {
			v = true
		}
	}
	return &v
}

// maxCombos is GitHub's limit on the jobs one matrix generates.
const maxCombos = 256

// expandMatrix lists a matrix's combinations as GitHub does: the product
// of the rows, minus exclude, then include (extending the combinations it
// does not contradict, or added as its own).
func expandMatrix(m *actionlint.Matrix) ([]map[string]string, bool) {
	Opaque := m.Expression != nil
	keys := make([]string, 0, len(m.Rows))
	for k, r := range m.Rows {
		if r == nil {
			continue
		}
		if r.Expression != nil {
			Opaque = true
			continue
		}
		keys = append(keys, strings.ToLower(k))
	}
	sort.Strings(keys)
	combos := []map[string]string{{}}
	for _, k := range keys {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range m.Rows[k].Values {
				n := maps.Clone(c)
				n[k] = rawValue(v)
				next = append(next, n)
				if len(next) > maxCombos {
					return next[:maxCombos], true
				}
			}
		}
		combos = next
	}
	if len(keys) == 0 {
		combos = nil
	}
	assigns := func(cs *actionlint.MatrixCombinations) []map[string]string {
		if cs == nil {
			return nil
		}
		if cs.ContainsExpression() {
			Opaque = true
		}
		var out []map[string]string
		for _, c := range cs.Combinations {
			if c == nil || c.Expression != nil {
				continue
			}
			a := map[string]string{}
			for k, as := range c.Assigns {
				if as != nil && as.Value != nil {
					a[strings.ToLower(k)] = rawValue(as.Value)
				}
			}
			out = append(out, a)
		}
		return out
	}
	for _, ex := range assigns(m.Exclude) {
		combos = slices.DeleteFunc(combos, func(c map[string]string) bool {
			for k, v := range ex {
				if c[k] != v {
					return false
				}
			}
			return true
		})
	}
	base := len(combos)
	for _, in := range assigns(m.Include) {
		matched := false
		for _, c := range combos[:base] {
			fits := true
			for _, k := range keys {
				if v, ok := in[k]; ok && c[k] != v {
					fits = false
				}
			}
			if fits {
				matched = true
				for k, v := range in {
					c[k] = v
				}
			}
		}
		if !matched && len(combos) < maxCombos {
			combos = append(combos, maps.Clone(in))
		}
	}
	return combos, Opaque
}

func rawValue(v actionlint.RawYAMLValue) string {
	if s, ok := v.(*actionlint.RawYAMLString); ok {
		return s.Value
	}
	if v == nil {
		return ""
	}
	return v.String()
}

// ActionName is uses: without its @ref, lower-cased.
func ActionName(uses string) string {
	n, _, _ := strings.Cut(uses, "@")
	return strings.ToLower(strings.TrimSpace(n))
}
