// Package pipeline is the one road from configuration to a judged evidence
// document: config + selection → jobs → runner → repository facts, waivers,
// policy → evidence. Every command that prints a verdict goes through it and
// only fills in its Selection, so no command can judge by different rules.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	repository "github.com/readiness-dev/readiness/internal/repo"
	"github.com/readiness-dev/readiness/internal/scaffold"
	"github.com/readiness-dev/readiness/internal/waiver"
)

// UsageError means the run could not start: bad input, nothing was judged.
// Commands map it to exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// AsUsage marks err as a usage error unless it is nil or already one.
func AsUsage(err error) error {
	var ue *UsageError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	return &UsageError{Err: err}
}

// Pipeline holds what every run needs; it keeps no state between runs.
type Pipeline struct {
	Gates []checks.Gate
	Now   func() time.Time
}

// Selection is what a command chooses: the only thing that differs between
// `check --only X` and the single-gate command for X.
type Selection struct {
	// Config is readiness.yaml; nil when a single-gate command runs without one.
	Config *config.Config
	// Only names the checks to run; empty runs every configured check. The
	// configured checks left out are recorded in the evidence as not run.
	Only []string
	// Specs replace the configured check of the same name (a single-gate
	// command's flags laid over it), or are added when the configuration
	// lacks it (or there is no readiness.yaml).
	Specs []config.CheckSpec
	// Overrides are a command line's settings for the named checks, laid
	// over their `with:` blocks before their gates build them.
	Overrides map[string]config.Overrides
	// Policy is the policy set: extra directories and namespaces on top of
	// the config's.
	Policy PolicyOptions
	// Timeout bounds the whole run; 0 takes the config's. When set, it
	// came from a --timeout flag, and a run cut short says to raise that.
	Timeout time.Duration
	// CheckTimeoutFlag, when set, is the flag that gave the checks their
	// timeout: a check that runs out of time names it, not readiness.yaml.
	CheckTimeoutFlag string
	// Events receives the runner's progress.
	Events func(checks.Event)
	// Reads names files the command reads besides the config and the
	// policy (evidence being re-judged); no report may overwrite them.
	Reads []string
}

// Inputs lists every file and directory the run reads: the config, the
// policy set, and Reads.
func (s *Selection) Inputs() []string {
	var in []string
	if s.Config != nil {
		in = append(in, s.Config.Path)
	}
	in = append(in, policySet(*s).Dirs...)
	return append(in, s.Reads...)
}

// PolicyOptions are the command line's additions to the policy set.
type PolicyOptions struct {
	Dirs          []string
	Namespaces    []string
	AllNamespaces bool
}

// LoadConfig reads readiness.yaml strictly.
func (p *Pipeline) LoadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path, config.LoadOptions{Now: p.Now(), KnownTypes: checks.GateTypes(p.Gates)})
	if err != nil {
		return nil, AsUsage(err)
	}
	return cfg, nil
}

// Env is what gates are constructed with.
func (p *Pipeline) Env(cfg *config.Config) checks.Env {
	env := checks.Env{Dir: ".", Now: p.Now, ToolVersion: buildinfo.Get().Version}
	if cfg != nil {
		env.Dir, env.ConfigFile = cfg.Dir, cfg.Path
	}
	return env
}

// Configured lists the checks a selection can choose from: the config's,
// with Specs replacing or added.
func (s *Selection) Configured() []config.CheckSpec {
	var out []config.CheckSpec
	if s.Config != nil {
		out = append(out, s.Config.Checks...)
	}
	for _, d := range s.Specs {
		i := slices.IndexFunc(out, func(c config.CheckSpec) bool { return c.Name == d.Name })
		if i < 0 {
			out = append(out, d)
		} else {
			out[i] = d
		}
	}
	return out
}

// Jobs turns the selection into runnable jobs, in configuration order. Every
// job's Required, Timeout and BlockOn come from its spec, whichever command
// asked for it.
func (p *Pipeline) Jobs(sel Selection) ([]checks.Job, error) {
	specs := sel.Configured()
	for _, name := range sel.Only {
		if !slices.ContainsFunc(specs, func(c config.CheckSpec) bool { return c.Name == name }) {
			var names []string
			for _, c := range specs {
				names = append(names, c.Name)
			}
			where := "the configuration"
			if sel.Config != nil {
				where = sel.Config.Path
			}
			return nil, Usagef("--only %s: no such check in %s (configured: %s)", name, where, strings.Join(names, ", "))
		}
	}
	env := p.Env(sel.Config)
	var jobs []checks.Job
	for _, spec := range specs {
		if len(sel.Only) > 0 && !slices.Contains(sel.Only, spec.Name) {
			continue
		}
		job, err := p.job(env, sel, spec)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

func (p *Pipeline) job(env checks.Env, sel Selection, spec config.CheckSpec) (checks.Job, error) {
	gate, ok := checks.FindGate(p.Gates, spec.Type)
	if !ok {
		return checks.Job{}, Usagef("%s:%d: unknown check type %q", env.ConfigFile, spec.Line, spec.Type)
	}
	ov := sel.Overrides[spec.Name]
	spec, err := spec.Override(ov.Set)
	if err != nil {
		return checks.Job{}, AsUsage(err)
	}
	chk, err := gate.New(env, spec)
	if err != nil {
		return checks.Job{}, AsUsage(flagged(err, ov))
	}
	timeout := spec.Timeout.D()
	if timeout == 0 {
		timeout = config.DefaultCheckTimeout
	}
	job := checks.Job{
		Name: spec.Name, Type: spec.Type, Required: spec.IsRequired(),
		Timeout: timeout, BlockOn: severities(spec.BlockOn), Check: chk,
	}
	if sel.CheckTimeoutFlag != "" {
		job.TimeoutAdvice = "raise " + sel.CheckTimeoutFlag
	} else if spec.Line > 0 {
		job.TimeoutAdvice = fmt.Sprintf("raise its timeout at %s:%d", env.ConfigFile, spec.Line)
	}
	return job, nil
}

// flagged names the flags a command line set in an error about its
// check's settings.
func flagged(err error, ov config.Overrides) error {
	if len(ov.Set) == 0 {
		return err
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		c := *ce
		c.Msg = ov.Rename(c.Msg)
		return &c
	}
	return errors.New(ov.Rename(err.Error()))
}

func severities(in []string) []checks.Severity {
	out := make([]checks.Severity, len(in))
	for i, s := range in {
		out[i] = checks.Severity(s)
	}
	return out
}

// policySet is the policy set of a selection: the command line's
// directories and namespaces, then the config's (directories resolved
// against the config's directory).
func policySet(sel Selection) policy.Options {
	o := policy.Options{Dirs: slices.Clone(sel.Policy.Dirs), Namespaces: slices.Clone(sel.Policy.Namespaces), AllNamespaces: sel.Policy.AllNamespaces}
	if cfg := sel.Config; cfg != nil {
		for _, d := range cfg.Policy.Dirs {
			o.Dirs = append(o.Dirs, cfg.Resolve(d))
		}
		o.Namespaces = append(o.Namespaces, cfg.Policy.Namespaces...)
		o.AllNamespaces = o.AllNamespaces || cfg.Policy.AllNamespaces
	}
	return o
}

// loadPolicy compiles the selection's policy set.
func loadPolicy(ctx context.Context, sel Selection) (*policy.Engine, error) {
	engine, err := policy.LoadSet(ctx, policySet(sel))
	if err != nil {
		return nil, AsUsage(err)
	}
	return engine, nil
}

// judgeGrace is how long the policy may still take after the run was
// interrupted or its deadline passed: enough to report what finished, not
// enough to ignore a Ctrl-C.
const judgeGrace = 2 * time.Second

// Run builds the jobs, runs them, and judges the evidence. Errors are usage
// errors (nothing was judged); every other outcome is in the document.
func (p *Pipeline) Run(ctx context.Context, sel Selection) (*evidence.Document, error) {
	jobs, err := p.Jobs(sel)
	if err != nil {
		return nil, err
	}
	// Compile the policy before running anything: a syntax error is a
	// usage error, not a verdict.
	engine, err := loadPolicy(ctx, sel)
	if err != nil {
		return nil, err
	}
	timeout, advice := sel.Timeout, "raise --timeout"
	if timeout == 0 && sel.Config != nil {
		timeout = sel.Config.Timeout.D()
		advice = "raise timeout: in " + sel.Config.Path + ", or pass --timeout"
	}
	runCtx, cancel := withRunTimeout(ctx, timeout, advice)
	defer cancel()
	// Learning the git checkout takes a few processes: do it while the
	// checks run, not before or after them.
	repoDir := "."
	if sel.Config != nil {
		repoDir = sel.Config.Dir
	}
	repo := make(chan *evidence.Repository, 1)
	go func() { repo <- evidence.DetectRepository(context.WithoutCancel(ctx), repoDir) }()
	// What the repository calls for, read while the checks run.
	calledFor := make(chan []scaffold.Need, 1)
	go func() { calledFor <- callsFor(repoDir) }()
	runner := &checks.Runner{Now: p.Now, Events: sel.Events}
	results := runner.Run(runCtx, jobs)

	doc := p.newDocument(sel.Config, results, <-repo)
	doc.Only = sel.Only
	doc.NotRun = notRun(sel, jobs)
	doc.Interrupted = ctx.Err() != nil
	needs := <-calledFor
	if sel.Config != nil && len(doc.NotRun) == 0 && len(sel.Only) == 0 {
		// Only a full run can say what the configuration lacks; a partial
		// one already says it is partial.
		doc.Coverage = coverage(sel.Config, needs)
	}
	p.applyWaivers(doc, sel.Config)
	judgeCtx, stop := judgeContext(ctx, runCtx)
	defer stop()
	engine.Judge(judgeCtx, doc)
	return doc, nil
}

// callsFor is what `readiness init` would propose for the repository at
// dir; nothing when it cannot be read.
func callsFor(dir string) []scaffold.Need {
	root, _ := repository.FindRoot(dir)
	p, err := scaffold.Inspect(os.DirFS(root))
	if err != nil {
		return nil
	}
	return scaffold.CalledFor(p)
}

// coverage compares the configured gate types with the ones the repository
// calls for and the ones readiness.yaml requires.
func coverage(cfg *config.Config, needs []scaffold.Need) *evidence.Coverage {
	cov := &evidence.Coverage{Configured: []string{}}
	for _, c := range cfg.Checks {
		if !slices.Contains(cov.Configured, c.Type) {
			cov.Configured = append(cov.Configured, c.Type)
		}
	}
	add := func(typ, why string, required bool) {
		if slices.Contains(cov.Configured, typ) {
			return
		}
		for i := range cov.Uncovered {
			if cov.Uncovered[i].Type == typ {
				cov.Uncovered[i].Required = cov.Uncovered[i].Required || required
				return
			}
		}
		cov.Uncovered = append(cov.Uncovered, evidence.GateNeed{Type: typ, Why: why, Required: required})
	}
	for _, n := range needs {
		add(n.Type, n.Why, slices.Contains(cfg.Require, n.Type))
	}
	for _, typ := range cfg.Require {
		add(typ, "required by "+filepath.Base(cfg.Path)+" require:", true)
	}
	return cov
}

// withRunTimeout bounds the run; the cause says it was the run's deadline,
// so a check cut short is not told to raise its own timeout.
func withRunTimeout(ctx context.Context, d time.Duration, advice string) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("%w (%s); %s", checks.ErrRunTimedOut, d, advice))
}

// judgeContext is what the policy is evaluated under. The checks that
// finished are still judged after a Ctrl-C or a run timeout, within a short
// grace; a policy that would take longer is cancelled (OPA honours it) and
// the verdict is NO-GO. A second Ctrl-C exits the process at once.
func judgeContext(ctx, runCtx context.Context) (context.Context, context.CancelFunc) {
	jctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(runCtx, func() {
		cause := context.Cause(runCtx)
		t := time.AfterFunc(judgeGrace, func() { cancel(cause) })
		context.AfterFunc(jctx, func() { t.Stop() })
	})
	return jctx, func() { stop(); cancel(nil) }
}

// notRun lists the configured checks the selection left out.
func notRun(sel Selection, jobs []checks.Job) []evidence.CheckRef {
	var out []evidence.CheckRef
	for _, spec := range sel.Configured() {
		if !slices.ContainsFunc(jobs, func(j checks.Job) bool { return j.Name == spec.Name }) {
			out = append(out, evidence.CheckRef{Name: spec.Name, Type: spec.Type})
		}
	}
	return out
}

func (p *Pipeline) newDocument(cfg *config.Config, results []checks.Result, repo *evidence.Repository) *evidence.Document {
	doc := &evidence.Document{
		Schema:      evidence.Schema,
		Tool:        buildinfo.Get(),
		GeneratedAt: p.Now().UTC().Truncate(time.Millisecond),
		Checks:      results,
		Waivers:     []evidence.WaiverStatus{},
		Settings:    settings(cfg),
	}
	if cfg != nil {
		doc.Config = evidence.ConfigRef{Path: cfg.Path, Digest: cfg.Digest}
	}
	doc.Subjects = doc.CheckSubjects()
	doc.Repository = repo
	return doc
}

// settings are what the policy takes from readiness.yaml besides waivers.
func settings(cfg *config.Config) evidence.Settings {
	if cfg == nil {
		return evidence.Settings{BlockOn: []string{"critical", "high"}}
	}
	return evidence.Settings{BlockOn: slices.Clone(cfg.Policy.BlockOn)}
}

// applyWaivers marks the findings cfg's waivers cover and records every
// waiver's state; without a config there are none.
func (p *Pipeline) applyWaivers(doc *evidence.Document, cfg *config.Config) {
	doc.Waivers = []evidence.WaiverStatus{}
	if cfg != nil {
		doc.Waivers = waiver.Apply(doc.Checks, cfg.Waivers, cfg.Path, p.Now(), cfg.Policy.WaiverWarn.D())
	}
}

// JudgeCarried judges a document gathered on another machine with this
// selection's settings and policy set only, as Run would have judged the
// same results: each result's required flag and block_on come from the
// configured check of its name (none: the policy's defaults), waivers from
// sel's config, the policy from sel's directories and the config's. Nothing
// the document records about how it was judged (its settings, waiver marks
// and states, policy modules, verdict) is used; a module it names that
// happens to exist on this machine is not loaded.
func (p *Pipeline) JudgeCarried(ctx context.Context, doc *evidence.Document, sel Selection) error {
	engine, err := loadPolicy(ctx, sel)
	if err != nil {
		return err
	}
	specs := sel.Configured()
	doc.Settings = settings(sel.Config)
	// Coverage is the scanning machine's account of its own repository;
	// this machine's configured checks missing from the document are its
	// not_run (the caller's), judged by their required flags.
	doc.Coverage = nil
	for i := range doc.Checks {
		r := &doc.Checks[i]
		r.BlockOn, r.Required = nil, true
		if j := slices.IndexFunc(specs, func(c config.CheckSpec) bool { return c.Name == r.Check }); j >= 0 {
			r.BlockOn, r.Required = severities(specs[j].BlockOn), specs[j].IsRequired()
		}
		for k := range r.Findings {
			r.Findings[k].WaivedBy = ""
		}
	}
	p.applyWaivers(doc, sel.Config)
	doc.Verdict = evidence.Verdict{}
	engine.Judge(ctx, doc)
	return nil
}

// ErrPolicySet is returned (wrapped) when a saved document cannot be judged
// again with the policy set it records.
var ErrPolicySet = errors.New("policy set not available")

// Rejudge judges a saved document again with at least the policy set it
// records: the selection's (command line and config), plus each recorded
// module still found at its path with the same sha256. When anything
// recorded is missing it refuses, naming it: judging with fewer rules could
// turn the document's NO-GO into GO.
func (p *Pipeline) Rejudge(ctx context.Context, doc *evidence.Document, sel Selection) error {
	rec := doc.Verdict.PolicySet
	if rec == nil {
		return &UsageError{Err: fmt.Errorf("%w: the document does not record the policy set it was judged with (written by an older readiness); gather the evidence again", ErrPolicySet)}
	}
	o := policySet(sel)
	for _, m := range rec.Modules {
		if sha, err := fileDigest(m.Path); err == nil && sha == m.SHA256 {
			o.Dirs = append(o.Dirs, m.Path)
		}
	}
	for _, ns := range rec.Namespaces {
		if !slices.Contains(o.Namespaces, ns) {
			o.Namespaces = append(o.Namespaces, ns)
		}
	}
	engine, err := policy.LoadSet(ctx, o)
	if err != nil {
		return AsUsage(err)
	}
	if missing := engine.Missing(*rec); len(missing) > 0 {
		return &UsageError{Err: fmt.Errorf("%w: the document was judged with %s, which this run does not load; pass the policy with --policy DIR (or --config with the policy.dirs that hold it)", ErrPolicySet, strings.Join(missing, ", "))}
	}
	engine.Judge(ctx, doc)
	return nil
}

func fileDigest(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Spec finds the check of type typ in cfg: the one called name (the value
// of flag, e.g. "--check"), or the only one of that type. It returns nil
// when cfg configures none and no name was asked for.
func Spec(cfg *config.Config, typ, flag, name string) (*config.CheckSpec, error) {
	if cfg == nil {
		if name != "" {
			return nil, Usagef("%s %s: no configuration file to find it in", flag, name)
		}
		return nil, nil
	}
	var found []config.CheckSpec
	for _, c := range cfg.Checks {
		if c.Type == typ {
			found = append(found, c)
		}
	}
	if name != "" {
		for i := range found {
			if found[i].Name == name {
				return &found[i], nil
			}
		}
		return nil, Usagef("%s %s: %s has no %s check of that name%s", flag, name, cfg.Path, typ, listNames(typ, found))
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, Usagef("%s configures %d %s checks; choose one with %s%s", cfg.Path, len(found), typ, flag, listNames(typ, found))
}

// SpecOrDefault is Spec, with a default spec of the type (named after it)
// when the configuration has none.
func SpecOrDefault(cfg *config.Config, typ, flag, name string) (config.CheckSpec, error) {
	spec, err := Spec(cfg, typ, flag, name)
	if err != nil {
		return config.CheckSpec{}, err
	}
	if spec == nil {
		return config.CheckSpec{Name: typ, Type: typ}, nil
	}
	return *spec, nil
}

func listNames(typ string, specs []config.CheckSpec) string {
	if len(specs) == 0 {
		return ""
	}
	var n []string
	for _, s := range specs {
		n = append(n, s.Name)
	}
	return fmt.Sprintf(" (%s checks: %s)", typ, strings.Join(n, ", "))
}
