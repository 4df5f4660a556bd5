package cli

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow"
	"github.com/readiness-dev/readiness/internal/config"
)

// workflowLintOptions are the flags of `readiness workflow lint`.
type workflowLintOptions struct {
	ConfigPath   string
	configSet    bool
	Check        string
	Actionlint   bool
	actionlintOn bool // --actionlint was given
	MaxFileBytes int64
	Policy       policyOptions
	Render       renderOptions
}

// AddFlags registers the flags.
func (o *workflowLintOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.ConfigPath, "config", "c", "readiness.yaml", "configuration `FILE` for waivers, policy and the workflow check's options (used when it exists)")
	f.StringVar(&o.Check, "check", "", "which workflow check of the configuration to take options from, by `NAME` (needed when there are several)")
	f.BoolVar(&o.Actionlint, "actionlint", true, "also run actionlint's rules (WF-ACTIONLINT findings, low severity)")
	f.Int64Var(&o.MaxFileBytes, "max-file-bytes", 0, "largest workflow, action or script file read, in `BYTES` (default 1 MiB)")
	o.Policy.AddFlags(cmd)
	o.Render.AddFlags(cmd)
}

func newWorkflowCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workflow",
		Short: "Check CI workflows: every signing step must follow a blocking scan of the same image",
	}
	cmd.AddCommand(newWorkflowLintCmd(app, nil))
	return cmd
}

// newWorkflowLintCmd builds `readiness workflow lint`. runF replaces the
// behaviour in tests of flag parsing.
func newWorkflowLintCmd(app *App, runF func(context.Context, *workflowLintOptions, []string) error) *cobra.Command {
	opts := &workflowLintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [DIR|FILE]",
		Short: "Prove that CI workflows scan, and block, before they sign or attest; print GO or NO-GO",
		Long: `Runs the workflow gate alone and prints the same verdict, findings and formats
as 'readiness check --only workflow'.

DIR defaults to the workflow check's dir in readiness.yaml, else
.github/workflows. A FILE analyses that workflow only (reusable workflows it
calls are still followed). Paths in findings are relative to the repository
root: the directory above .github/workflows, else the enclosing git
repository. Waivers and policy come from readiness.yaml when it exists.`,
		Example: `  readiness workflow lint
  readiness workflow lint .github/workflows/release.yml
  readiness workflow lint --format sarif --output workflow.sarif
  readiness workflow lint ../other-repo/.github/workflows --actionlint=false`,
		Args: cobra.MaximumNArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			opts.configSet = cmd.Flags().Changed("config")
			opts.actionlintOn = cmd.Flags().Changed("actionlint")
			if opts.MaxFileBytes < 0 {
				return usageErr("--max-file-bytes must be positive")
			}
			return opts.Render.Validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts, args)
			}
			return app.workflowLintRun(cmd.Context(), opts, args)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

func (a *App) workflowLintRun(ctx context.Context, opts *workflowLintOptions, args []string) error {
	cfg, err := a.optionalConfig(opts.ConfigPath, opts.configSet)
	if err != nil {
		return err
	}
	spec, err := workflowSpec(cfg, opts.Check)
	if err != nil {
		return err
	}
	job := checks.Job{Name: workflow.Type, Type: workflow.Type, Required: true, Timeout: config.DefaultCheckTimeout}
	o := workflow.Options{Root: a.env(cfg).RepoRoot()}
	if spec != nil {
		if o, err = workflow.OptionsFromSpec(a.env(cfg), *spec); err != nil {
			return asUsage(err)
		}
		job.Name, job.Required, job.Timeout, job.BlockOn = spec.Name, spec.IsRequired(), spec.Timeout.D(), severities(spec.BlockOn)
	}
	if len(args) == 1 {
		abs, err := filepath.Abs(args[0])
		if err != nil {
			return usageErr("%s: %v", args[0], err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return usageErr("%s: %v", args[0], unwrapFSError(err))
		}
		dir := abs
		if !st.IsDir() {
			dir = filepath.Dir(abs)
		}
		o.Root = workflowRepoRoot(dir)
		rel, err := filepath.Rel(o.Root, abs)
		if err != nil {
			return usageErr("%s: %v", args[0], err)
		}
		o.Dir, o.Files = filepath.ToSlash(rel), nil
		if !st.IsDir() {
			o.Dir, o.Files = filepath.ToSlash(filepath.Dir(rel)), []string{filepath.ToSlash(rel)}
		}
	}
	wc := workflow.ConfigFromOptions(o.Root, o)
	if opts.actionlintOn {
		wc.Actionlint = opts.Actionlint
	}
	if opts.MaxFileBytes > 0 {
		wc.MaxFileBytes = opts.MaxFileBytes
	}
	job.Check = workflow.New(wc)
	return a.execute(ctx, gateRun{Config: cfg, Jobs: []checks.Job{job}, Only: []string{job.Name}, PolicyDirs: opts.Policy.Dirs, Render: opts.Render})
}

func unwrapFSError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// workflowRepoRoot finds the repository a workflows directory belongs to:
// the directory above .github/workflows, else the nearest directory with
// .git, else the directory itself.
func workflowRepoRoot(dir string) string {
	if filepath.Base(dir) == "workflows" && filepath.Base(filepath.Dir(dir)) == ".github" {
		return filepath.Dir(filepath.Dir(dir))
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// workflowSpec finds the workflow check to take options from: the one
// named, else the only one; nil when the configuration has none.
func workflowSpec(cfg *config.Config, name string) (*config.CheckSpec, error) {
	return gateSpec(cfg, workflow.Type, "--check", name)
}
