package graph

import (
	"regexp"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// maxResolve bounds the expressions resolved through one another.
const maxResolve = 8

// Scope is where an expression or a shell word is evaluated.
type Scope struct {
	Graph *Graph
	Job   *Job
	Step  *Step
	Dyn   model.Env         // GITHUB_ENV written by earlier steps of the job
	Local map[string]string // shell variables assigned earlier in the script
	// Dir is the shell's working directory, relative to the repository
	// root, where it differs from the step's (a recipe make runs after
	// `-C e2e`, a task in its Taskfile's directory); empty is the step's.
	Dir string
}

// Resolve replaces each ${{ … }} in s with what it stands for as far as
// the repository shows, or its normalised text.
func (sc Scope) Resolve(s string) string { return resolveExprs(s, sc, 0) }

// ResolveShell substitutes the shell variables that the script or the
// workflow defines in s, then expressions.
func (sc Scope) ResolveShell(s string) string { return resolveShell(s, sc) }

var githubEnvVars = map[string]string{
	"GITHUB_SHA": "github.sha", "GITHUB_REF": "github.ref", "GITHUB_REF_NAME": "github.ref_name",
	"GITHUB_REPOSITORY": "github.repository", "GITHUB_REPOSITORY_OWNER": "github.repository_owner",
	"GITHUB_ACTOR": "github.actor", "GITHUB_RUN_ID": "github.run_id", "GITHUB_RUN_NUMBER": "github.run_number",
	"GITHUB_WORKSPACE": "github.workspace", "GITHUB_SERVER_URL": "github.server_url",
	"GITHUB_EVENT_NAME": "github.event_name", "GITHUB_HEAD_REF": "github.head_ref", "GITHUB_BASE_REF": "github.base_ref",
	"GITHUB_WORKFLOW": "github.workflow", "GITHUB_JOB": "github.job", "GITHUB_REF_TYPE": "github.ref_type",
}

// EnvLookup finds an environment variable as a step sees it.
func (sc Scope) EnvLookup(name string, fold bool) (string, bool) {
	if sc.Step != nil {
		for _, e := range sc.Step.Envs {
			if v, ok := e.Lookup(name, fold); ok {
				return v, true
			}
		}
	}
	if v, ok := sc.Dyn.Lookup(name, fold); ok {
		return v, true
	}
	if sc.Job != nil {
		if v, ok := sc.Job.Def.Env.Lookup(name, fold); ok {
			return v, true
		}
		if v, ok := sc.Job.File.Env.Lookup(name, fold); ok {
			return v, true
		}
	}
	return "", false
}

var shellVarRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*|[0-9])([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9])`)
})

// resolveShell substitutes shell variables that the script or the
// workflow defines, then expressions.
func resolveShell(s string, sc Scope) string {
	if strings.Contains(s, "$") {
		s = shellVarRE().ReplaceAllStringFunc(s, func(m string) string {
			sub := shellVarRE().FindStringSubmatch(m)
			name, mod := sub[1], sub[2]
			if name == "" {
				name = sub[3]
			}
			v, ok := sc.Local[name]
			if !ok {
				if ev, found := sc.EnvLookup(name, false); found {
					v, ok = resolveExprs(ev, sc, 0), true
				} else if gh, found := githubEnvVars[name]; found {
					v, ok = "${{ "+gh+" }}", true
				}
			}
			switch {
			case mod == "":
			case mod == ",," || mod == "^^":
				if ok && !strings.Contains(v, "${{") {
					if mod == ",," {
						v = strings.ToLower(v)
					} else {
						v = strings.ToUpper(v)
					}
				}
			case strings.HasPrefix(mod, ":-") || strings.HasPrefix(mod, "-"):
				if !ok {
					v, ok = strings.TrimLeft(mod, ":-"), true
				}
			default:
				ok = false
			}
			if !ok {
				return m
			}
			return v
		})
	}
	return resolveExprs(s, sc, 0)
}

// resolveExprs replaces each ${{ … }} with what it stands for as far as
// the repository shows, or its normalised text.
func resolveExprs(s string, sc Scope, depth int) string {
	return model.MapExprs(s, func(e string) string { return resolveExpr(e, sc, depth) })
}

var (
	propRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([a-z_][a-z0-9_-]*)\.([a-z0-9_-]+)$`) })
	stepsRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^steps\.([a-z0-9_-]+)\.(outputs\.[a-z0-9_-]+|outcome|conclusion)$`)
	})
	needsOutRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^needs\.([a-z0-9_-]+)\.outputs\.([a-z0-9_-]+)$`) })
	jobsOutRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^jobs\.([a-z0-9_-]+)\.outputs\.([a-z0-9_-]+)$`) })
)

func resolveExpr(e string, sc Scope, depth int) string {
	keep := "${{ " + e + " }}"
	if depth > maxResolve {
		return keep
	}
	if m := propRE().FindStringSubmatch(e); m != nil {
		switch m[1] {
		case "env":
			if v, ok := sc.EnvLookup(m[2], true); ok {
				return resolveExprs(v, sc, depth+1)
			}
		case "inputs":
			if v, ok := input(m[2], sc, depth); ok {
				return v
			}
		case "matrix":
			if sc.Job != nil {
				if vals := sc.Job.Def.Matrix[m[2]]; len(vals) == 1 {
					return vals[0]
				}
			}
		}
		return keep
	}
	if m := stepsRE().FindStringSubmatch(e); m != nil && sc.Job != nil {
		prefix := ""
		if sc.Step != nil {
			prefix = sc.Step.Prefix
		}
		target := sc.Job.StepsByID[prefix+m[1]]
		if name, ok := strings.CutPrefix(m[2], "outputs."); ok && target != nil {
			if v, ok := target.Written[name]; ok && Readable(v) {
				return v // its last write, as far as it can be read
			}
		}
		if target != nil && target.Comp != nil && strings.HasPrefix(m[2], "outputs.") {
			if v, ok := target.Comp.Outputs[strings.TrimPrefix(m[2], "outputs.")]; ok {
				inner := Scope{Graph: sc.Graph, Job: sc.Job, Step: target.CompScope}
				return resolveExprs(v, inner, depth+1)
			}
		}
		return "${{ jobs." + sc.Job.Key + ".steps." + prefix + m[1] + "." + m[2] + " }}"
	}
	if m := needsOutRE().FindStringSubmatch(e); m != nil && sc.Job != nil && sc.Graph != nil {
		if sib := sc.Graph.ByKey[sc.Job.Prefix+m[1]]; sib != nil {
			return jobOutput(sc.Graph, sib, m[2], depth+1)
		}
	}
	return keep
}

// input resolves inputs.NAME: a composite action's input, a reusable
// workflow's input as its caller passes it, or the declared default.
func input(name string, sc Scope, depth int) (string, bool) {
	if sc.Step != nil && sc.Step.Inputs != nil {
		if v, ok := sc.Step.Inputs[name]; ok {
			return v, true
		}
	}
	if sc.Job == nil {
		return "", false
	}
	if p := sc.Job.Parent; p != nil {
		if v, ok := p.Def.With[name]; ok {
			return resolveExprs(v, Scope{Graph: sc.Graph, Job: p}, depth+1), true
		}
		if v, ok := sc.Job.File.Inputs[name]; ok {
			return resolveExprs(v, Scope{Graph: sc.Graph, Job: sc.Job}, depth+1), true
		}
	}
	return "", false
}

// jobOutput resolves needs.J.outputs.O.
func jobOutput(g *Graph, j *Job, name string, depth int) string {
	keep := "${{ needs." + j.Key + ".outputs." + name + " }}"
	if depth > maxResolve {
		return keep
	}
	if j.Called != nil {
		v, ok := j.Called.Outputs[name]
		if !ok {
			return keep
		}
		// jobs.K.outputs.P inside the called workflow.
		spans := model.ExprSpans(v)
		if len(spans) == 1 {
			if m := jobsOutRE().FindStringSubmatch(model.NormExpr(v[spans[0].Start+3 : spans[0].End-2])); m != nil {
				if c := g.ByKey[j.Key+"/"+m[1]]; c != nil {
					return jobOutput(g, c, m[2], depth+1)
				}
			}
		}
		return keep
	}
	v, ok := j.Def.Outputs[name]
	if !ok {
		return keep
	}
	return resolveExprs(v, Scope{Graph: g, Job: j}, depth+1)
}

// Readable reports whether a written value can stand in for the output
// that names it: no shell expansion is left in it outside ${{ }}.
func Readable(v string) bool {
	spans := model.ExprSpans(v)
	for i := len(spans) - 1; i >= 0; i-- {
		v = v[:spans[i].Start] + v[spans[i].End:]
	}
	return !strings.ContainsAny(v, "$`")
}
