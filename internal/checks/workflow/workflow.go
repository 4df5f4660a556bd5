// Package workflow is the `workflow` gate: it reads a repository's GitHub
// Actions workflows (with actionlint's parser, keeping line numbers) and
// proves that every step that signs or attests an image runs only after a
// blocking vulnerability scan of the same image — earlier in the same job,
// or in a job it needs. It follows local reusable workflows, composite
// actions and scripts, and reports what it cannot see instead of guessing.
//
// The work is in three parts: package graph builds each workflow's job
// graph (reusable calls expanded, needs closure, expression scopes);
// package steps interprets the steps of each job into ordered events
// (sign, scan, push, build, upload …) by its catalog of known actions and
// programs; this package judges the events (judge.go, matrix.go), grades
// what the others noted from rules.yaml, and reports.
package workflow

import (
	"context"
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/repo"
)

//go:embed rules.yaml
var rulesYAML []byte

// book is the gate's rules table, the only source of a finding's severity,
// title and remediation; it is parsed on first use, not at start-up.
var book = checks.NewRuleBook(rulesYAML)

// Type is the gate type in readiness.yaml.
const Type = "workflow"

// Gate describes the workflow gate.
func Gate() checks.Gate {
	return checks.Gate{
		Type:    Type,
		Summary: "CI workflows scan the image, and block on HIGH/CRITICAL, before they sign or attest it",
		Rules:   book,
		New:     fromSpec,
		Command: command(),
	}
}

// Rules returns the gate's rules.
func Rules() []checks.Rule { return book.Rules() }

// Options is the gate's `with:` block.
type Options struct {
	// Root is the tree to analyse, relative to readiness.yaml (default: the
	// repository root, found above the config's directory).
	Root string `yaml:"root"`
	// Dir is the workflows directory (default .github/workflows in the
	// repository root), relative to readiness.yaml — or to Root when Root
	// is set.
	Dir string `yaml:"dir"`
	// Files, when set, limits the analysis to these workflow files
	// (relative like Dir); reusable workflows they call are still followed.
	Files []string `yaml:"files"`
	// Ignore lists file-name globs in Dir that are not analysed.
	Ignore []string `yaml:"ignore"`
	// Actionlint runs actionlint's rules (default true).
	Actionlint *bool `yaml:"actionlint"`
	// MaxFileBytes bounds each file read (default 1 MiB).
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// ReusableCache is a directory holding reusable workflows of other
	// repositories as owner/repo/REF/.github/workflows/x.yml, relative to
	// readiness.yaml: a call to one is read from there, pinned to its ref.
	ReusableCache string `yaml:"reusable_cache"`
	// ReusableSource "github" reads a remote reusable workflow that is not
	// in ReusableCache through the GitHub contents API at its ref.
	ReusableSource string `yaml:"reusable_source"`
	// ReusableAPI is the API base for reusable_source: github (default
	// $GITHUB_API_URL, else https://api.github.com).
	ReusableAPI string `yaml:"reusable_api"`
	// ReusableTokenEnv names the variable holding the API token (default
	// GITHUB_TOKEN).
	ReusableTokenEnv string `yaml:"reusable_token_env"`
}

func fromSpec(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
	o, err := OptionsFromSpec(env, spec)
	if err != nil {
		return nil, err
	}
	return New(ConfigFromOptions(o.Root, o)), nil
}

// OptionsFromSpec decodes and validates a workflow check's `with:` block
// (file:line errors), with Root made absolute against env.Dir.
func OptionsFromSpec(env checks.Env, spec config.CheckSpec) (Options, error) {
	var o Options
	if err := config.DecodeStrict(env.ConfigFile, &spec.With, &o); err != nil {
		return Options{}, err
	}
	if o.MaxFileBytes < 0 {
		return Options{}, config.Errorf(env.ConfigFile, &spec.With, "max_file_bytes must be positive")
	}
	for _, p := range o.Ignore {
		if _, err := filepath.Match(p, "x"); err != nil {
			return Options{}, config.Errorf(env.ConfigFile, &spec.With, "ignore: %q is not a valid glob", p)
		}
	}
	if err := checkReusableSource(o); err != nil {
		return Options{}, config.Errorf(env.ConfigFile, &spec.With, "%v", err)
	}
	if o.ReusableCache != "" && !filepath.IsAbs(o.ReusableCache) {
		// A cache is outside the analysed tree as often as in it.
		o.ReusableCache = filepath.Join(env.ConfigDir(), o.ReusableCache)
	}
	if o.Root != "" {
		// An explicit root is the tree to analyse; dir and files stay
		// relative to it.
		if !filepath.IsAbs(o.Root) {
			o.Root = filepath.Join(env.ConfigDir(), o.Root)
		}
		return o, nil
	}
	// Otherwise the repository root, and dir and files, like every path in
	// readiness.yaml, are relative to the config's directory: reported
	// paths and finding IDs are the same wherever the config sits.
	if err := repoRelative(env, spec, &o); err != nil {
		return Options{}, err
	}
	return o, nil
}

// repoRelative sets o.Root to the repository root and rewrites o.Dir and
// o.Files, written relative to the config's directory, relative to it;
// a path outside the repository is a config error.
func repoRelative(env checks.Env, spec config.CheckSpec, o *Options) error {
	root, dir := env.RepoRoot(), env.ConfigDir()
	o.Root = root
	rel := func(p string) (string, error) {
		abs, err := repo.Resolve(root, dir, p)
		if err != nil {
			return "", config.Errorf(env.ConfigFile, &spec.With, "check %q: %v", spec.Name, err)
		}
		r, _ := repo.Rel(root, abs)
		return r, nil
	}
	var err error
	if o.Dir != "" {
		if o.Dir, err = rel(o.Dir); err != nil {
			return err
		}
	}
	for i, f := range o.Files {
		if o.Files[i], err = rel(f); err != nil {
			return err
		}
	}
	return nil
}

// ConfigFromOptions turns the `with:` options into an analysis Config.
func ConfigFromOptions(root string, o Options) Config {
	cfg := Config{Root: root, Dir: o.Dir, Files: o.Files, Ignore: o.Ignore, Actionlint: true, MaxFileBytes: o.MaxFileBytes}
	if o.Actionlint != nil {
		cfg.Actionlint = *o.Actionlint
	}
	cfg.Reusable = reusableSource(o)
	return cfg
}

// New returns the check for a Config.
func New(cfg Config) checks.Check {
	return checks.CheckFunc(func(ctx context.Context) (checks.Result, error) {
		rep, err := AnalyzeWith(ctx, cfg)
		if err != nil {
			return checks.Result{}, err
		}
		return Result(rep), nil
	})
}

// Result turns a Report into the check's Result.
func Result(rep Report) checks.Result {
	res := checks.Result{Status: checks.StatusPass, Findings: rep.Findings, Facts: Facts(rep), Summary: summary(rep)}
	if len(res.Findings) > 0 {
		res.Status = checks.StatusFail
	}
	return res
}

func summary(rep Report) string {
	gated, self, not := 0, 0, 0
	for _, s := range rep.Signings {
		switch s.Decision {
		case "gated":
			gated++
		case "self-gated":
			self++
		default:
			not++
		}
	}
	n := len(rep.Workflows)
	if len(rep.Signings) == 0 {
		return fmt.Sprintf("%d %s, no signing steps", n, plural(n, "workflow", "workflows"))
	}
	parts := []string{}
	if gated > 0 {
		parts = append(parts, fmt.Sprintf("%d after a blocking scan", gated))
	}
	if self > 0 {
		parts = append(parts, fmt.Sprintf("%d by readiness image release", self))
	}
	if not > 0 {
		parts = append(parts, fmt.Sprintf("%d not gated", not))
	}
	return fmt.Sprintf("%d %s, %d signing %s: %s", n, plural(n, "workflow", "workflows"), len(rep.Signings),
		plural(len(rep.Signings), "step", "steps"), strings.Join(parts, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Facts are the report's raw observations, JSON-friendly.
func Facts(rep Report) map[string]any {
	wfs := make([]any, 0, len(rep.Workflows))
	graphs := map[string]any{}
	for _, w := range rep.Workflows {
		m := map[string]any{"path": w.Path, "signing_steps": w.Signing, "scan_steps": w.Scanning}
		if w.Name != "" {
			m["name"] = w.Name
		}
		if len(w.Triggers) > 0 {
			m["on"] = w.Triggers
		}
		if len(w.Calls) > 0 {
			m["calls"] = w.Calls
		}
		if len(w.CalledBy) > 0 {
			m["called_by"] = w.CalledBy
		}
		if w.Error != "" {
			m["error"] = w.Error
		}
		wfs = append(wfs, m)
		if len(w.Jobs) > 0 {
			jobs := map[string]any{}
			for k, v := range w.Jobs {
				needs := make([]any, len(v))
				for i, n := range v {
					needs[i] = n
				}
				jobs[k] = needs
			}
			graphs[w.Path] = jobs
		}
	}
	signs := make([]any, 0, len(rep.Signings))
	for _, s := range rep.Signings {
		m := map[string]any{"location": s.Location(), "workflow": s.Workflow, "job": s.Job, "step": s.Step,
			"tool": s.Tool, "decision": s.Decision}
		if s.Target != "" {
			m["target"] = s.Target
		}
		if s.Script != "" {
			m["script"] = s.Script
		}
		if s.Gate != nil {
			m["gate"] = scanFact(*s.Gate)
		}
		if len(s.Preceding) > 0 {
			pre := make([]any, len(s.Preceding))
			for i, p := range s.Preceding {
				pre[i] = p.Location()
			}
			m["preceding_scans"] = pre
		}
		if len(s.Rules) > 0 {
			r := make([]any, len(s.Rules))
			for i, x := range s.Rules {
				r[i] = x
			}
			m["rules"] = r
		}
		signs = append(signs, m)
	}
	scans := make([]any, 0, len(rep.Scans))
	for _, s := range rep.Scans {
		scans = append(scans, scanFact(s))
	}
	facts := map[string]any{
		"dir":                 rep.Dir,
		"workflows_analysed":  len(rep.Workflows),
		"workflows":           wfs,
		"signing_steps":       signs,
		"scan_steps":          scans,
		"jobs_graph":          graphs,
		"actionlint_findings": rep.ActionlintFindings,
	}
	if len(rep.Remote) > 0 {
		// What was read of other repositories, at which ref, mutable or not.
		facts["remote_workflows"] = remoteFacts(rep.Remote)
	}
	return facts
}

func scanFact(s ScanStep) map[string]any {
	m := map[string]any{"location": s.Location(), "workflow": s.Workflow, "job": s.Job, "step": s.Step,
		"tool": s.Tool, "blocking": s.Blocking}
	if s.Target != "" {
		m["target"] = s.Target
	}
	if len(s.Reasons) > 0 {
		r := make([]any, len(s.Reasons))
		for i, x := range s.Reasons {
			r[i] = x
		}
		m["reasons"] = r
	}
	if len(s.Severities) > 0 {
		r := make([]any, len(s.Severities))
		for i, x := range s.Severities {
			r[i] = x
		}
		m["severities"] = r
	}
	return m
}
