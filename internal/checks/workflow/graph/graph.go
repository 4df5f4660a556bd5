// Package graph is the GitHub Actions job graph of one top-level workflow:
// its jobs as they run, with reusable workflows (local, and remote ones
// through a Loader) expanded into caller/inner job instances, the needs:
// closure that orders them, and the scopes in which expressions and shell
// words resolve. It knows nothing of signing or scanning: the step
// interpreter (package steps) fills in the steps and the outputs they
// write, and the judge reads both.
package graph

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// MaxCallDepth bounds reusable-workflow nesting: GitHub nests reusable
// workflows at most 10 deep.
const MaxCallDepth = 10

// Loader gives the graph the workflows its jobs call.
type Loader interface {
	// Workflow reads a workflow file of the repository (a slash path
	// relative to its root), once; Invalid is set, or it is nil, when it
	// cannot be analysed.
	Workflow(path string) *model.Workflow
	// Remote recognises a call from a job of workflow f to a reusable
	// workflow of another repository (a ./ call inside a workflow read
	// from another repository is one too). ok is false when uses names
	// none.
	Remote(f *model.Workflow, uses string) (c RemoteCall, ok bool)
}

// RemoteCall is a call to a reusable workflow of another repository.
type RemoteCall struct {
	// Key names the workflow, pinned to its ref (cycles are found by it).
	Key string
	// Load reads it: nil, and why when known, when it cannot be read.
	Load func() (*model.Workflow, string)
}

// Note is an observation for the judge to raise as a finding: which rule,
// about what, and where. Its fields mirror a rule book's Finding so that
// the judge grades it from its rules table.
type Note struct {
	Rule, Subject, Message string
	Loc                    *checks.Location
	Props                  map[string]any
}

// Finding makes a Note of rule about subject.
func Finding(rule, subject, message string, loc *checks.Location) Note {
	return Note{Rule: rule, Subject: subject, Message: message, Loc: loc}
}

// With sets a Note's properties.
func (n Note) With(props map[string]any) Note {
	n.Props = props
	return n
}

// LocalWorkflowPath recognises a local reusable-workflow call.
func LocalWorkflowPath(uses string) (string, bool) {
	if !strings.HasPrefix(uses, "./") {
		return "", false
	}
	p := path.Clean(strings.TrimPrefix(uses, "./"))
	if !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) || strings.HasPrefix(p, "..") {
		return "", false
	}
	return p, true
}

// StepSubject is what a finding about a step is about: its ID is
// RULE/workflow/job/step, stable across edits that move lines.
func StepSubject(workflow, job, step string) string { return workflow + "/" + job + "/" + step }

// Graph is one top-level workflow with its reusable workflows expanded
// into the job graph.
type Graph struct {
	File    *model.Workflow
	Jobs    []*Job // every job instance, callers included, in order
	ByKey   map[string]*Job
	Closure map[string]map[string]bool // job key → the keys of the jobs it needs, transitively
}

// Job is one job as it runs: reusable-workflow jobs get the key
// caller/inner and inherit the caller's needs and if:.
type Job struct {
	Key    string
	Def    *model.Job
	File   *model.Workflow
	Parent *Job   // the calling job, inside a reusable workflow
	Prefix string // key prefix of its sibling jobs
	// Called is the local reusable workflow this job calls; Children its jobs.
	Called   *model.Workflow
	Children []*Job
	// Remote is a reusable workflow in another repository that was not
	// read; RemoteWhy says why, when a source was asked.
	Remote, RemoteWhy string
	Needs             []string // direct needs, as leaf keys
	// Steps and StepsByID (by prefix+id, for steps.* expressions) are
	// filled in by the step interpreter as it walks the job.
	Steps     []*Step
	StepsByID map[string]*Step
}

// Leaf reports whether the job runs steps rather than calling a workflow
// that was read.
func (j *Job) Leaf() bool { return j.Called == nil }

// Step is one step as it runs, composite actions inlined.
type Step struct {
	Def *model.Step
	Job *Job
	Seq int
	Key string
	// Ifs and COEs are the step's own if:/continue-on-error and those of
	// the composite-action steps it is inside.
	Ifs, COEs []string
	Envs      []model.Env // innermost first
	// Inputs are a composite action's inputs, resolved in the caller.
	Inputs map[string]string
	Prefix string // namespace of steps.* ids inside a composite action
	Via    []string
	// Comp is set for a step that calls a composite action, to resolve its
	// outputs in CompScope.
	Comp      *model.Action
	CompScope *Step
	// Written are the outputs a run: step writes to $GITHUB_OUTPUT, the
	// last write of each; WrittenAll is set after a write whose names are
	// not visible.
	Written    map[string]string
	WrittenAll bool
}

// Build expands workflow f into its job graph; ld reads the reusable
// workflows it calls, and note receives what cannot be followed.
func Build(f *model.Workflow, ld Loader, note func(Note)) *Graph {
	g := &Graph{File: f, ByKey: map[string]*Job{}, Closure: map[string]map[string]bool{}}
	b := builder{g: g, ld: ld, note: note}
	b.instantiate(f, "", nil, 0, []string{f.Path})
	for _, j := range g.Jobs {
		j.Needs = g.flatNeeds(j)
	}
	for _, j := range g.Jobs {
		g.Closure[j.Key] = map[string]bool{}
		var walk func(k string)
		walk = func(k string) {
			for _, n := range g.ByKey[k].Needs {
				if !g.Closure[j.Key][n] {
					g.Closure[j.Key][n] = true
					walk(n)
				}
			}
		}
		walk(j.Key)
	}
	return g
}

// builder carries what Build needs while it expands calls.
type builder struct {
	g    *Graph
	ld   Loader
	note func(Note)
}

func (b builder) instantiate(f *model.Workflow, prefix string, parent *Job, depth int, stack []string) {
	g := b.g
	for _, d := range f.Jobs {
		j := &Job{Key: prefix + d.ID, Def: d, File: f, Parent: parent, Prefix: prefix, StepsByID: map[string]*Step{}}
		g.Jobs = append(g.Jobs, j)
		g.ByKey[j.Key] = j
		if d.Uses == "" {
			continue
		}
		lp, local := LocalWorkflowPath(d.Uses)
		rc, remote := b.ld.Remote(f, d.Uses)
		if remote {
			lp, local = rc.Key, false
		}
		switch {
		case !local && !remote:
			j.Remote = d.Uses
		case remote && (slices.Contains(stack, lp) || depth >= MaxCallDepth):
			j.Remote = d.Uses
		case remote:
			called, why := rc.Load()
			if called == nil {
				j.Remote, j.RemoteWhy = d.Uses, why
				continue
			}
			b.callInto(j, called, depth, append(slices.Clone(stack), lp))
		case slices.Contains(stack, lp) || depth >= MaxCallDepth:
			b.note(Finding("WF-UNRESOLVED-REUSABLE", StepSubject(g.File.Path, j.Key, "call"),
				fmt.Sprintf("Job %q calls %s, which is already being expanded (a cycle) or nested deeper than %d; it was not followed.", d.ID, d.Uses, MaxCallDepth),
				&checks.Location{Path: f.Path, Line: d.UsesLine}).With(map[string]any{"uses": d.Uses}))
		default:
			called := b.ld.Workflow(lp)
			if called == nil || called.Invalid != "" {
				why := "cannot be analysed"
				if called != nil {
					why = called.Invalid
				}
				b.note(Finding("WF-UNRESOLVED-REUSABLE", StepSubject(g.File.Path, j.Key, "call"),
					fmt.Sprintf("Job %q calls the local reusable workflow %s, which %s; what it does is not visible.", d.ID, lp, why),
					&checks.Location{Path: f.Path, Line: d.UsesLine}).With(map[string]any{"uses": d.Uses}))
				j.Remote = d.Uses
				continue
			}
			b.callInto(j, called, depth, append(slices.Clone(stack), lp))
		}
	}
}

// callInto expands the jobs of the reusable workflow that job j calls.
func (b builder) callInto(j *Job, called *model.Workflow, depth int, stack []string) {
	j.Called = called
	before := len(b.g.Jobs)
	b.instantiate(called, j.Key+"/", j, depth+1, stack)
	for _, c := range b.g.Jobs[before:] {
		if c.Parent == j {
			j.Children = append(j.Children, c)
		}
	}
}

// leaves returns the runnable jobs a job stands for.
func (g *Graph) leaves(j *Job) []string {
	if j.Leaf() {
		return []string{j.Key}
	}
	var out []string
	for _, c := range j.Children {
		out = append(out, g.leaves(c)...)
	}
	if len(out) == 0 {
		out = []string{j.Key}
	}
	return out
}

// flatNeeds maps a job's needs (and its callers' needs) to leaf keys.
func (g *Graph) flatNeeds(j *Job) []string {
	var out []string
	for _, n := range j.Def.Needs {
		if s := g.ByKey[j.Prefix+n]; s != nil {
			out = append(out, g.leaves(s)...)
		}
	}
	if j.Parent != nil {
		out = append(out, g.flatNeeds(j.Parent)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Before reports whether job x always finishes before job y starts.
func (g *Graph) Before(x, y *Job) bool { return g.Closure[y.Key][x.Key] }

// Ifs are the job's if: and its callers'.
func (j *Job) Ifs() []string {
	var out []string
	for k := j; k != nil; k = k.Parent {
		if k.Def.If != "" {
			out = append(out, k.Def.If)
		}
	}
	return out
}

// Display names a job for messages: its key, and the file when it sits in
// a reusable workflow.
func (j *Job) Display() string {
	if j.Parent != nil {
		return fmt.Sprintf("%q (in %s)", j.Key, j.File.Path)
	}
	return fmt.Sprintf("%q", j.Key)
}
