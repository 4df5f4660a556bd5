package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/report"
	"github.com/readiness-dev/readiness/internal/waiver"
)

// renderOptions is the flag group every verdict-printing command shares.
type renderOptions struct {
	Format string
	Output string
}

// AddFlags registers --format and --output.
func (o *renderOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.Format, "format", "f", "text", "output format: "+strings.Join(report.Formats, ", "))
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of stdout")
}

// Validate rejects an unknown format or an output path that cannot be
// written, before any check runs: nothing is lost at the end of a long run.
func (o *renderOptions) Validate() error {
	if !slices.Contains(report.Formats, o.Format) {
		return usageErr("unknown --format %q; use one of %s", o.Format, strings.Join(report.Formats, ", "))
	}
	if o.Output != "" {
		dir := filepath.Dir(o.Output)
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return usageErr("--output %s: directory %s does not exist", o.Output, dir)
		}
		if st, err := os.Stat(o.Output); err == nil && st.IsDir() {
			return usageErr("--output %s is a directory; name a file", o.Output)
		}
	}
	return nil
}

// policyOptions is the --policy flag group.
type policyOptions struct {
	Dirs []string
}

// AddFlags registers --policy.
func (o *policyOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&o.Dirs, "policy", "p", nil, "extra Rego policy `DIR` (repeatable), added to the embedded default policy")
}

// gateRun is one run of gates, from jobs to a rendered verdict.
type gateRun struct {
	// Config may be nil for commands that run a gate without readiness.yaml.
	Config     *config.Config
	Jobs       []checks.Job
	Only       []string
	PolicyDirs []string
	Timeout    time.Duration
	Render     renderOptions
}

// loadConfig reads readiness.yaml strictly.
func (a *App) loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path, config.LoadOptions{Now: a.Now(), KnownTypes: catalog.Types(a.Gates)})
	if err != nil {
		return nil, asUsage(err)
	}
	return cfg, nil
}

// env is what gates are constructed with.
func (a *App) env(cfg *config.Config) checks.Env {
	env := checks.Env{Dir: ".", Now: a.Now, ToolVersion: buildinfo.Get().Version}
	if cfg != nil {
		env.Dir, env.ConfigFile = cfg.Dir, cfg.Path
	}
	return env
}

// jobsFromConfig builds the configured checks, narrowed by --only.
func (a *App) jobsFromConfig(cfg *config.Config, only []string) ([]checks.Job, error) {
	for _, name := range only {
		if _, ok := cfg.Check(name); !ok {
			var names []string
			for _, c := range cfg.Checks {
				names = append(names, c.Name)
			}
			return nil, usageErr("--only %s: no such check in %s (configured: %s)", name, cfg.Path, strings.Join(names, ", "))
		}
	}
	var jobs []checks.Job
	for _, spec := range cfg.Checks {
		if len(only) > 0 && !slices.Contains(only, spec.Name) {
			continue
		}
		job, err := a.job(cfg, spec)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// job builds one check from its spec.
func (a *App) job(cfg *config.Config, spec config.CheckSpec) (checks.Job, error) {
	gate, ok := catalog.Find(a.Gates, spec.Type)
	if !ok {
		return checks.Job{}, usageErr("%s:%d: unknown check type %q", cfg.Path, spec.Line, spec.Type)
	}
	chk, err := gate.New(a.env(cfg), spec)
	if err != nil {
		return checks.Job{}, asUsage(err)
	}
	return checks.Job{
		Name: spec.Name, Type: spec.Type, Required: spec.IsRequired(),
		Timeout: spec.Timeout.D(), BlockOn: severities(spec.BlockOn), Check: chk,
	}, nil
}

func severities(in []string) []checks.Severity {
	out := make([]checks.Severity, len(in))
	for i, s := range in {
		out[i] = checks.Severity(s)
	}
	return out
}

// execute runs the jobs, judges the evidence, renders it, and returns
// errNOGO unless the verdict is GO.
func (a *App) execute(ctx context.Context, r gateRun) error {
	doc, err := a.judgeRun(ctx, r)
	if err != nil {
		return err
	}
	return a.publish(doc, r.Render)
}

// judgeRun runs and judges without rendering; `image release` uses it to
// decide whether to sign.
func (a *App) judgeRun(ctx context.Context, r gateRun) (*evidence.Document, error) {
	if err := r.Render.Validate(); err != nil {
		return nil, err
	}
	dirs := slices.Clone(r.PolicyDirs)
	if r.Config != nil {
		for _, d := range r.Config.Policy.Dirs {
			dirs = append(dirs, r.Config.Resolve(d))
		}
	}
	// Compile the policy before running anything: a syntax error is a
	// usage error, not a verdict.
	engine, err := policy.Load(ctx, dirs)
	if err != nil {
		return nil, asUsage(err)
	}
	runCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	// Learning the git checkout takes a few processes: do it while the
	// checks run, not before or after them.
	repoDir := "."
	if r.Config != nil {
		repoDir = r.Config.Dir
	}
	repo := make(chan *evidence.Repository, 1)
	go func() { repo <- evidence.DetectRepository(context.WithoutCancel(ctx), repoDir) }()
	progress := report.NewProgress(a.IO.ErrOut, report.ProgressOptions{Live: a.IO.Live(), Color: a.IO.ColorErr(), Now: a.Now})
	runner := &checks.Runner{Now: a.Now, Events: progress.Event}
	results := runner.Run(runCtx, r.Jobs)
	progress.Stop()

	doc := a.newDocument(r.Config, results, <-repo)
	doc.Only = r.Only
	doc.Interrupted = ctx.Err() != nil
	if r.Config != nil {
		warn := r.Config.Policy.WaiverWarn.D()
		doc.Waivers = waiver.Apply(doc.Checks, r.Config.Waivers, r.Config.Path, a.Now(), warn)
	}
	// Judge even after Ctrl-C, so that what finished is reported.
	judgeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	engine.Judge(judgeCtx, doc)
	return doc, nil
}

func (a *App) newDocument(cfg *config.Config, results []checks.Result, repo *evidence.Repository) *evidence.Document {
	doc := &evidence.Document{
		Schema:      evidence.Schema,
		Tool:        buildinfo.Get(),
		GeneratedAt: a.Now().UTC().Truncate(time.Millisecond),
		Checks:      results,
		Waivers:     []evidence.WaiverStatus{},
		Settings:    evidence.Settings{BlockOn: []string{"critical", "high"}},
	}
	if cfg != nil {
		doc.Config = evidence.ConfigRef{Path: cfg.Path, Digest: cfg.Digest}
		doc.Settings.BlockOn = cfg.Policy.BlockOn
	}
	doc.Subjects = doc.CheckSubjects()
	doc.Repository = repo
	return doc
}

// publish renders doc and maps the verdict to an exit code.
func (a *App) publish(doc *evidence.Document, ro renderOptions) error {
	if err := a.render(doc, ro); err != nil {
		return err
	}
	if !doc.GO() {
		return errNOGO
	}
	return nil
}

func (a *App) render(doc *evidence.Document, ro renderOptions) error {
	opts := report.Options{Color: ro.Output == "" && a.IO.ColorOut(), Rules: a.rules()}
	var w io.Writer = a.IO.Out
	var f *os.File
	if ro.Output != "" {
		var err error
		f, err = os.Create(ro.Output)
		if err != nil {
			return usageErr("--output: %v", err)
		}
		w = f
	}
	err := report.Write(w, ro.Format, doc, opts)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("write %s report: %w", ro.Format, err)
	}
	if ro.Output != "" && ro.Format != "text" {
		// Still tell the person at the terminal what was decided.
		fmt.Fprintln(a.IO.ErrOut, report.VerdictLine(doc))
	}
	if p := a.IO.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendFile(p, func(w io.Writer) error { return report.Write(w, "markdown", doc, opts) }); err != nil {
			fmt.Fprintf(a.IO.ErrOut, "readiness: warning: could not append to GITHUB_STEP_SUMMARY: %v\n", err)
		}
	}
	return nil
}

func appendFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	werr := write(f)
	return errors.Join(werr, f.Close())
}

// rules gathers every documented rule: the gates' and the policy's own.
func (a *App) rules() map[string]checks.Rule {
	m := map[string]checks.Rule{}
	for _, r := range policy.Rules() {
		m[r.ID] = r
	}
	for _, g := range a.Gates {
		for _, r := range g.Rules {
			m[r.ID] = r
		}
	}
	return m
}
