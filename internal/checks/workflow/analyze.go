package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// DefaultDir is where GitHub reads workflows from.
const DefaultDir = ".github/workflows"

// DefaultMaxFileBytes bounds the size of one workflow, action or script
// file; larger files are reported, not read.
const DefaultMaxFileBytes = 1 << 20

// Limits on what is followed, so that a cycle or a pathological repository
// cannot make the analysis unbounded.
const (
	maxFiles     = 500
	maxCallDepth = 10 // GitHub nests reusable workflows at most 10 deep
	maxCompDepth = 10
	maxResolve   = 8
)

// Config says what Analyze looks at.
type Config struct {
	// Root is the repository root; finding paths are relative to it.
	Root string
	// Dir is the workflows directory relative to Root (default .github/workflows).
	Dir string
	// Files, when set, are the only workflow files analysed (relative to
	// Root); reusable workflows they call are still followed.
	Files []string
	// Ignore lists glob patterns (path.Match, relative to Dir) of workflow
	// files to skip.
	Ignore []string
	// Actionlint runs actionlint's own rules and reports what they find as
	// WF-ACTIONLINT findings.
	Actionlint bool
	// MaxFileBytes bounds each file read (DefaultMaxFileBytes when 0).
	MaxFileBytes int64
	// Reusable reads reusable workflows of other repositories (uses:
	// owner/repo/PATH@ref), pinned to the ref; nil: they are not read, and
	// one handed signing capability counts as signing (fail closed).
	Reusable WorkflowSource

	// fsys replaces the repository on disk (tests and fuzzing).
	fsys fs.FS
}

// Analyze reads the workflows in dir (relative to repoRoot), runs
// actionlint's rules, and decides for every signing step whether a
// blocking scan of the same image runs before it.
func Analyze(ctx context.Context, repoRoot, dir string) (Report, error) {
	return AnalyzeWith(ctx, Config{Root: repoRoot, Dir: dir, Actionlint: true})
}

// analysis holds one run's state.
type analysis struct {
	ctx     context.Context
	cfg     Config
	root    string // absolute
	fsys    fs.FS  // the repository
	files   map[string]*model.Workflow
	actions map[string]*actionLoad
	scripts map[string]*scriptLoad
	configs map[string]map[string]any
	// ignores caches the judgement of ignore policies, files and VEX
	// documents by kind and path ("" when they ignore nothing wholesale).
	ignores map[string]string
	// remoteOf is where a workflow read through Config.Reusable comes
	// from: its ./ calls are to that repository.
	remoteOf map[*model.Workflow]*RemoteWorkflow
	report   *Report
	seen     map[string]bool
	graphs   []*graph
	// events of every graph, for scans in other workflows.
	all []*event
}

type actionLoad struct {
	c   *model.Action
	err error
}

type scriptLoad struct {
	sc  shell.Script
	err error
}

// AnalyzeWith is Analyze with every setting.
func AnalyzeWith(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return Report{}, fmt.Errorf("resolve %s: %w", cfg.Root, err)
	}
	fsys := cfg.fsys
	if fsys == nil {
		fsys = os.DirFS(root)
	}
	a := &analysis{
		ctx: ctx, cfg: cfg, root: root, fsys: fsys,
		files: map[string]*model.Workflow{}, actions: map[string]*actionLoad{}, scripts: map[string]*scriptLoad{},
		configs: map[string]map[string]any{}, seen: map[string]bool{}, ignores: map[string]string{},
		remoteOf: map[*model.Workflow]*RemoteWorkflow{},
		report: &Report{Root: root, Dir: filepath.ToSlash(filepath.Clean(cfg.Dir)), Workflows: []WorkflowInfo{},
			Signings: []Signing{}, Scans: []ScanStep{}, Findings: []checks.Finding{}},
	}
	paths, err := a.listWorkflows()
	if err != nil {
		return Report{}, err
	}
	var units []*model.Workflow
	called := map[string][]string{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		f := a.loadWorkflow(p)
		if f == nil {
			continue
		}
		for _, j := range f.Jobs {
			if lp, ok := localWorkflowPath(j.Uses); ok {
				called[lp] = append(called[lp], f.Path)
			}
		}
	}
	for _, p := range paths {
		f := a.files[p]
		if f == nil || f.Invalid != "" {
			continue
		}
		if f.CallOnly && len(called[p]) > 0 {
			continue // analysed where it is called
		}
		units = append(units, f)
	}
	for _, f := range units {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		g := a.buildGraph(f)
		a.detect(g)
		a.graphs = append(a.graphs, g)
		a.all = append(a.all, g.events...)
	}
	for _, g := range a.graphs {
		a.judge(g)
	}
	if cfg.Actionlint {
		if err := a.lint(paths); err != nil {
			return Report{}, err
		}
	}
	a.summarise(paths, called)
	sortFindings(a.report.Findings)
	return *a.report, nil
}

// listWorkflows returns the workflow files to analyse, relative to root.
func (a *analysis) listWorkflows() ([]string, error) {
	if len(a.cfg.Files) > 0 {
		var out []string
		for _, f := range a.cfg.Files {
			out = append(out, filepath.ToSlash(filepath.Clean(f)))
		}
		return out, nil
	}
	dir := a.report.Dir
	if !fs.ValidPath(dir) {
		return nil, fmt.Errorf("workflows directory %s is not inside the repository %s", dir, a.root)
	}
	entries, err := fs.ReadDir(a.fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("workflows directory %s does not exist in %s", dir, a.root)
	}
	if err != nil {
		return nil, fmt.Errorf("read workflows directory %s: %w", dir, unwrapPathError(err))
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")) {
			continue
		}
		skip := false
		for _, pat := range a.cfg.Ignore {
			if ok, _ := path.Match(pat, name); ok {
				skip = true
			}
		}
		if !skip {
			out = append(out, path.Join(a.report.Dir, name))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		// Nothing analysed is not "nothing signs": fail closed.
		if len(entries) > 0 && len(a.cfg.Ignore) > 0 {
			return nil, fmt.Errorf("every workflow file in %s is ignored (ignore: %s); nothing was analysed", dir, strings.Join(a.cfg.Ignore, ", "))
		}
		return nil, fmt.Errorf("%s holds no workflow files (*.yml, *.yaml); nothing was analysed", dir)
	}
	if len(out) > maxFiles {
		return nil, fmt.Errorf("%s holds %d workflow files; at most %d are analysed", a.report.Dir, len(out), maxFiles)
	}
	return out, nil
}

// readFile reads a repository file (a slash path relative to the root)
// under the size limit.
func (a *analysis) readFile(rel string) ([]byte, error) {
	rel = path.Clean(rel)
	if !fs.ValidPath(rel) {
		return nil, fmt.Errorf("%s is outside the repository", rel)
	}
	f, err := a.fsys.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", rel)
	}
	if st.Size() > a.cfg.MaxFileBytes {
		return nil, &tooLargeError{size: st.Size(), limit: a.cfg.MaxFileBytes}
	}
	// Read one byte past the limit: a file that grew since Stat is still bounded.
	data, err := io.ReadAll(io.LimitReader(f, a.cfg.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > a.cfg.MaxFileBytes {
		return nil, &tooLargeError{size: int64(len(data)), limit: a.cfg.MaxFileBytes}
	}
	return data, nil
}

type tooLargeError struct{ size, limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("is %d bytes, over the %d-byte limit (max_file_bytes)", e.size, e.limit)
}

// loadWorkflow reads and parses one workflow file, once. A file that
// cannot be analysed is reported as WF-INVALID-WORKFLOW.
func (a *analysis) loadWorkflow(rel string) *model.Workflow {
	if f, ok := a.files[rel]; ok {
		return f
	}
	src, err := a.readFile(rel)
	if err != nil {
		a.files[rel] = nil
		var tl *tooLargeError
		msg := "cannot be read: " + unwrapPathError(err).Error()
		if errors.As(err, &tl) {
			msg = tl.Error() + "; it was not analysed"
		} else if errors.Is(err, fs.ErrNotExist) {
			msg = "does not exist"
		}
		f := &model.Workflow{Path: rel, Invalid: msg}
		a.files[rel] = f
		a.add(invalidFinding(f))
		return f
	}
	f := model.ParseWorkflow(rel, src)
	a.files[rel] = f
	if f.Invalid != "" {
		a.add(invalidFinding(f))
	}
	return f
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// localWorkflowPath recognises a local reusable-workflow call.
func localWorkflowPath(uses string) (string, bool) {
	if !strings.HasPrefix(uses, "./") {
		return "", false
	}
	p := path.Clean(strings.TrimPrefix(uses, "./"))
	if !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) || strings.HasPrefix(p, "..") {
		return "", false
	}
	return p, true
}

// graph is one top-level workflow with its local reusable workflows
// expanded into the job graph.
type graph struct {
	file    *model.Workflow
	jobs    []*jobInst // every job instance, callers included, in order
	byKey   map[string]*jobInst
	closure map[string]map[string]bool
	events  []*event
}

// jobInst is one job as it runs: reusable-workflow jobs get the key
// caller/inner and inherit the caller's needs and if:.
type jobInst struct {
	Key    string
	Def    *model.Job
	File   *model.Workflow
	Parent *jobInst // the calling job, inside a reusable workflow
	Prefix string   // key prefix of its sibling jobs
	// Called is the local reusable workflow this job calls; Children its jobs.
	Called   *model.Workflow
	Children []*jobInst
	// Remote is a reusable workflow in another repository that was not
	// read; RemoteWhy says why, when a source was asked.
	Remote, RemoteWhy string
	Needs             []string // direct needs, as leaf keys
	Steps             []*stepInst
	// stepsByID indexes steps by prefix+id for steps.* expressions.
	stepsByID map[string]*stepInst
	events    []*event
}

func (j *jobInst) leaf() bool { return j.Called == nil }

// stepInst is one step as it runs, composite actions inlined.
type stepInst struct {
	Def *model.Step
	Job *jobInst
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
	// comp is set for a step that calls a composite action, to resolve its outputs.
	comp      *model.Action
	compScope *stepInst
	// written are the outputs a run: step writes to $GITHUB_OUTPUT, the
	// last write of each; writtenAll is set after a write whose names are
	// not visible.
	written    map[string]string
	writtenAll bool
}

func (a *analysis) buildGraph(f *model.Workflow) *graph {
	g := &graph{file: f, byKey: map[string]*jobInst{}, closure: map[string]map[string]bool{}}
	a.instantiate(g, f, "", nil, 0, []string{f.Path})
	for _, j := range g.jobs {
		j.Needs = g.flatNeeds(j)
	}
	for _, j := range g.jobs {
		g.closure[j.Key] = map[string]bool{}
		var walk func(k string)
		walk = func(k string) {
			for _, n := range g.byKey[k].Needs {
				if !g.closure[j.Key][n] {
					g.closure[j.Key][n] = true
					walk(n)
				}
			}
		}
		walk(j.Key)
	}
	return g
}

func (a *analysis) instantiate(g *graph, f *model.Workflow, prefix string, parent *jobInst, depth int, stack []string) {
	for _, d := range f.Jobs {
		j := &jobInst{Key: prefix + d.ID, Def: d, File: f, Parent: parent, Prefix: prefix, stepsByID: map[string]*stepInst{}}
		g.jobs = append(g.jobs, j)
		g.byKey[j.Key] = j
		if d.Uses == "" {
			continue
		}
		lp, local := localWorkflowPath(d.Uses)
		rr, remote := parseRemoteWorkflow(d.Uses)
		if from := a.remoteOf[f]; local && from != nil {
			// ./ in a remote workflow is its own repository, at the same ref.
			rr, remote, local = RemoteWorkflow{Owner: from.Owner, Repo: from.Repo, Path: lp, Ref: from.Ref}, true, false
		}
		if remote {
			lp = rr.String()
		}
		switch {
		case !local && !remote:
			j.Remote = d.Uses
		case remote && (slices.Contains(stack, lp) || depth >= maxCallDepth):
			j.Remote = d.Uses
		case remote:
			called, why := a.loadRemote(rr)
			if called == nil {
				j.Remote, j.RemoteWhy = d.Uses, why
				continue
			}
			a.callInto(g, j, called, depth, append(slices.Clone(stack), lp))
		case slices.Contains(stack, lp) || depth >= maxCallDepth:
			a.add(book.Finding("WF-UNRESOLVED-REUSABLE", stepSubject(g.file.Path, j.Key, "call"),
				fmt.Sprintf("Job %q calls %s, which is already being expanded (a cycle) or nested deeper than %d; it was not followed.", d.ID, d.Uses, maxCallDepth),
				&checks.Location{Path: f.Path, Line: d.UsesLine}).With(map[string]any{"uses": d.Uses}))
		default:
			called := a.loadWorkflow(lp)
			if called == nil || called.Invalid != "" {
				why := "cannot be analysed"
				if called != nil {
					why = called.Invalid
				}
				a.add(book.Finding("WF-UNRESOLVED-REUSABLE", stepSubject(g.file.Path, j.Key, "call"),
					fmt.Sprintf("Job %q calls the local reusable workflow %s, which %s; what it does is not visible.", d.ID, lp, why),
					&checks.Location{Path: f.Path, Line: d.UsesLine}).With(map[string]any{"uses": d.Uses}))
				j.Remote = d.Uses
				continue
			}
			a.callInto(g, j, called, depth, append(slices.Clone(stack), lp))
		}
	}
}

// callInto expands the jobs of the reusable workflow that job j calls.
func (a *analysis) callInto(g *graph, j *jobInst, called *model.Workflow, depth int, stack []string) {
	j.Called = called
	before := len(g.jobs)
	a.instantiate(g, called, j.Key+"/", j, depth+1, stack)
	for _, c := range g.jobs[before:] {
		if c.Parent == j {
			j.Children = append(j.Children, c)
		}
	}
}

// leaves returns the runnable jobs a job stands for.
func (g *graph) leaves(j *jobInst) []string {
	if j.leaf() {
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
func (g *graph) flatNeeds(j *jobInst) []string {
	var out []string
	for _, n := range j.Def.Needs {
		if s := g.byKey[j.Prefix+n]; s != nil {
			out = append(out, g.leaves(s)...)
		}
	}
	if j.Parent != nil {
		out = append(out, g.flatNeeds(j.Parent)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// before reports whether job x always finishes before job y starts.
func (g *graph) before(x, y *jobInst) bool { return g.closure[y.Key][x.Key] }

// jobIfs are the job's if: and its callers'.
func (j *jobInst) ifs() []string {
	var out []string
	for k := j; k != nil; k = k.Parent {
		if k.Def.If != "" {
			out = append(out, k.Def.If)
		}
	}
	return out
}

// display names a job for messages: its key, and the file when it sits in
// a reusable workflow.
func (j *jobInst) display() string {
	if j.Parent != nil {
		return fmt.Sprintf("%q (in %s)", j.Key, j.File.Path)
	}
	return fmt.Sprintf("%q", j.Key)
}

// scope is where an expression or a shell word is evaluated.
type scope struct {
	g     *graph
	job   *jobInst
	step  *stepInst
	dyn   model.Env         // GITHUB_ENV written by earlier steps of the job
	local map[string]string // shell variables assigned earlier in the script
}

var githubEnvVars = map[string]string{
	"GITHUB_SHA": "github.sha", "GITHUB_REF": "github.ref", "GITHUB_REF_NAME": "github.ref_name",
	"GITHUB_REPOSITORY": "github.repository", "GITHUB_REPOSITORY_OWNER": "github.repository_owner",
	"GITHUB_ACTOR": "github.actor", "GITHUB_RUN_ID": "github.run_id", "GITHUB_RUN_NUMBER": "github.run_number",
	"GITHUB_WORKSPACE": "github.workspace", "GITHUB_SERVER_URL": "github.server_url",
	"GITHUB_EVENT_NAME": "github.event_name", "GITHUB_HEAD_REF": "github.head_ref", "GITHUB_BASE_REF": "github.base_ref",
	"GITHUB_WORKFLOW": "github.workflow", "GITHUB_JOB": "github.job", "GITHUB_REF_TYPE": "github.ref_type",
}

// envLookup finds an environment variable as a step sees it.
func (sc scope) envLookup(name string, fold bool) (string, bool) {
	if sc.step != nil {
		for _, e := range sc.step.Envs {
			if v, ok := e.Lookup(name, fold); ok {
				return v, true
			}
		}
	}
	if v, ok := sc.dyn.Lookup(name, fold); ok {
		return v, true
	}
	if sc.job != nil {
		if v, ok := sc.job.Def.Env.Lookup(name, fold); ok {
			return v, true
		}
		if v, ok := sc.job.File.Env.Lookup(name, fold); ok {
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
func (a *analysis) resolveShell(s string, sc scope) string {
	if strings.Contains(s, "$") {
		s = shellVarRE().ReplaceAllStringFunc(s, func(m string) string {
			sub := shellVarRE().FindStringSubmatch(m)
			name, mod := sub[1], sub[2]
			if name == "" {
				name = sub[3]
			}
			v, ok := sc.local[name]
			if !ok {
				if ev, found := sc.envLookup(name, false); found {
					v, ok = a.resolveExprs(ev, sc, 0), true
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
	return a.resolveExprs(s, sc, 0)
}

// resolveExprs replaces each ${{ … }} with what it stands for as far as
// the repository shows, or its normalised text.
func (a *analysis) resolveExprs(s string, sc scope, depth int) string {
	spans := model.ExprSpans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.Start])
		b.WriteString(a.resolveExpr(model.NormExpr(s[sp.Start+3:sp.End-2]), sc, depth))
		prev = sp.End
	}
	b.WriteString(s[prev:])
	return b.String()
}

var (
	propRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([a-z_][a-z0-9_-]*)\.([a-z0-9_-]+)$`) })
	stepsRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^steps\.([a-z0-9_-]+)\.(outputs\.[a-z0-9_-]+|outcome|conclusion)$`)
	})
	needsOutRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^needs\.([a-z0-9_-]+)\.outputs\.([a-z0-9_-]+)$`) })
	jobsOutRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^jobs\.([a-z0-9_-]+)\.outputs\.([a-z0-9_-]+)$`) })
)

func (a *analysis) resolveExpr(e string, sc scope, depth int) string {
	keep := "${{ " + e + " }}"
	if depth > maxResolve {
		return keep
	}
	if m := propRE().FindStringSubmatch(e); m != nil {
		switch m[1] {
		case "env":
			if v, ok := sc.envLookup(m[2], true); ok {
				return a.resolveExprs(v, sc, depth+1)
			}
		case "inputs":
			if v, ok := a.input(m[2], sc, depth); ok {
				return v
			}
		case "matrix":
			if sc.job != nil {
				if vals := sc.job.Def.Matrix[m[2]]; len(vals) == 1 {
					return vals[0]
				}
			}
		}
		return keep
	}
	if m := stepsRE().FindStringSubmatch(e); m != nil && sc.job != nil {
		prefix := ""
		if sc.step != nil {
			prefix = sc.step.Prefix
		}
		target := sc.job.stepsByID[prefix+m[1]]
		if name, ok := strings.CutPrefix(m[2], "outputs."); ok && target != nil {
			if v, ok := target.written[name]; ok && readable(v) {
				return v // its last write, as far as it can be read
			}
		}
		if target != nil && target.comp != nil && strings.HasPrefix(m[2], "outputs.") {
			if v, ok := target.comp.Outputs[strings.TrimPrefix(m[2], "outputs.")]; ok {
				inner := scope{g: sc.g, job: sc.job, step: target.compScope}
				return a.resolveExprs(v, inner, depth+1)
			}
		}
		return "${{ jobs." + sc.job.Key + ".steps." + prefix + m[1] + "." + m[2] + " }}"
	}
	if m := needsOutRE().FindStringSubmatch(e); m != nil && sc.job != nil && sc.g != nil {
		if sib := sc.g.byKey[sc.job.Prefix+m[1]]; sib != nil {
			return a.jobOutput(sc.g, sib, m[2], depth+1)
		}
	}
	return keep
}

// input resolves inputs.NAME: a composite action's input, a reusable
// workflow's input as its caller passes it, or the declared default.
func (a *analysis) input(name string, sc scope, depth int) (string, bool) {
	if sc.step != nil && sc.step.Inputs != nil {
		if v, ok := sc.step.Inputs[name]; ok {
			return v, true
		}
	}
	if sc.job == nil {
		return "", false
	}
	if p := sc.job.Parent; p != nil {
		if v, ok := p.Def.With[name]; ok {
			return a.resolveExprs(v, scope{g: sc.g, job: p}, depth+1), true
		}
		if v, ok := sc.job.File.Inputs[name]; ok {
			return a.resolveExprs(v, scope{g: sc.g, job: sc.job}, depth+1), true
		}
	}
	return "", false
}

// jobOutput resolves needs.J.outputs.O.
func (a *analysis) jobOutput(g *graph, j *jobInst, name string, depth int) string {
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
				if c := g.byKey[j.Key+"/"+m[1]]; c != nil {
					return a.jobOutput(g, c, m[2], depth+1)
				}
			}
		}
		return keep
	}
	v, ok := j.Def.Outputs[name]
	if !ok {
		return keep
	}
	return a.resolveExprs(v, scope{g: g, job: j}, depth+1)
}

// add records a finding once per ID.
func (a *analysis) add(f checks.Finding) {
	if a.seen[f.ID] {
		return
	}
	a.seen[f.ID] = true
	a.report.Findings = append(a.report.Findings, f)
}

func sortFindings(fs []checks.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() < b.Severity.Rank()
		}
		la, lb := a.Location, b.Location
		if la != nil && lb != nil && la.Path != lb.Path {
			return la.Path < lb.Path
		}
		if la != nil && lb != nil && la.Line != lb.Line {
			return la.Line < lb.Line
		}
		return a.ID < b.ID
	})
}
