package workflow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/steps"
)

// DefaultDir is where GitHub reads workflows from.
const DefaultDir = ".github/workflows"

// DefaultMaxFileBytes bounds the size of one workflow, action or script
// file; larger files are reported, not read.
const DefaultMaxFileBytes = 1 << 20

// maxFiles bounds the workflow files analysed.
const maxFiles = 500

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

// analysis holds one run's state: the judge's side. The graph package
// builds each workflow's job graph, the steps package interprets its
// steps into events, and the judge (judge.go) reads them.
type analysis struct {
	ctx   context.Context
	cfg   Config
	root  string // absolute
	repo  steps.Repo
	files map[string]*model.Workflow
	// remoteOf is where a workflow read through Config.Reusable comes
	// from: its ./ calls are to that repository.
	remoteOf map[*model.Workflow]*RemoteWorkflow
	report   *Report
	seen     map[string]bool
	// units are the events of every graph analysed, in order.
	units []*steps.Events
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
		ctx: ctx, cfg: cfg, root: root, repo: steps.Repo{FS: fsys, MaxBytes: cfg.MaxFileBytes},
		files: map[string]*model.Workflow{}, seen: map[string]bool{},
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
			if lp, ok := graph.LocalWorkflowPath(j.Uses); ok {
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
	in := steps.New(ctx, a.repo, a.note)
	for _, f := range units {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		g := graph.Build(f, loader{a}, a.note)
		a.units = append(a.units, in.Walk(g))
	}
	for _, u := range a.units {
		a.judge(u)
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
	entries, err := fs.ReadDir(a.repo.FS, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("workflows directory %s does not exist in %s", dir, a.root)
	}
	if err != nil {
		return nil, fmt.Errorf("read workflows directory %s: %w", dir, steps.UnwrapPathError(err))
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

// loadWorkflow reads and parses one workflow file, once. A file that
// cannot be analysed is reported as WF-INVALID-WORKFLOW.
func (a *analysis) loadWorkflow(rel string) *model.Workflow {
	if f, ok := a.files[rel]; ok {
		return f
	}
	src, err := a.repo.ReadFile(rel)
	if err != nil {
		a.files[rel] = nil
		var tl *steps.TooLargeError
		msg := "cannot be read: " + steps.UnwrapPathError(err).Error()
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

// loader reads the workflows a graph's jobs call.
type loader struct{ a *analysis }

// Workflow implements graph.Loader.
func (l loader) Workflow(path string) *model.Workflow { return l.a.loadWorkflow(path) }

// Remote implements graph.Loader: a ./ call in a workflow read from
// another repository is to that repository, at the same ref.
func (l loader) Remote(f *model.Workflow, uses string) (graph.RemoteCall, bool) {
	var rr RemoteWorkflow
	if lp, local := graph.LocalWorkflowPath(uses); local {
		from := l.a.remoteOf[f]
		if from == nil {
			return graph.RemoteCall{}, false
		}
		rr = RemoteWorkflow{Owner: from.Owner, Repo: from.Repo, Path: lp, Ref: from.Ref}
	} else {
		var ok bool
		if rr, ok = parseRemoteWorkflow(uses); !ok {
			return graph.RemoteCall{}, false
		}
	}
	return graph.RemoteCall{Key: rr.String(), Load: func() (*model.Workflow, string) { return l.a.loadRemote(rr) }}, true
}

// note raises what the graph and the interpreter could not follow as a
// finding, graded by the rules table.
func (a *analysis) note(n graph.Note) {
	a.add(book.Finding(n.Rule, n.Subject, n.Message, n.Loc).With(n.Props))
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
