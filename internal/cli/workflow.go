package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/pipeline"
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
	f.Var((*byteSize)(&o.MaxFileBytes), "max-file-bytes", "largest workflow, action or script file read: `SIZE` in bytes, or with a unit (512KiB, 1MiB, 2MB; default 1MiB)")
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
	spec, err := pipeline.SpecOrDefault(cfg, workflow.Type, "--check", opts.Check)
	if err != nil {
		return err
	}
	build := func(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
		o, err := workflow.OptionsFromSpec(env, spec)
		if err != nil {
			return nil, err
		}
		if len(args) == 1 {
			if err := lintTarget(&o, args[0]); err != nil {
				return nil, err
			}
		}
		wc := workflow.ConfigFromOptions(o.Root, o)
		if opts.actionlintOn {
			wc.Actionlint = opts.Actionlint
		}
		if opts.MaxFileBytes > 0 {
			wc.MaxFileBytes = opts.MaxFileBytes
		}
		return workflow.New(wc), nil
	}
	sel := pipeline.Selection{
		Config: cfg, Only: []string{spec.Name}, Specs: []config.CheckSpec{spec},
		Build: map[string]pipeline.BuildFunc{spec.Name: build}, Policy: opts.Policy.options(),
	}
	return a.execute(ctx, sel, opts.Render)
}

// lintTarget points o at the DIR or FILE named on the command line.
func lintTarget(o *workflow.Options, arg string) error {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return usageErr("%s: %v", arg, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return usageErr("%s: %v", arg, unwrapFSError(err))
	}
	dir := abs
	if !st.IsDir() {
		dir = filepath.Dir(abs)
	}
	o.Root = workflowRepoRoot(dir)
	rel, err := filepath.Rel(o.Root, abs)
	if err != nil {
		return usageErr("%s: %v", arg, err)
	}
	o.Dir, o.Files = filepath.ToSlash(rel), nil
	if !st.IsDir() {
		o.Dir, o.Files = filepath.ToSlash(filepath.Dir(rel)), []string{filepath.ToSlash(rel)}
	}
	return nil
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

// byteSize is an int64 flag of bytes that also takes a unit: 1MiB, 512KiB,
// 2MB, 100k. A bare number is bytes.
type byteSize int64

func (b *byteSize) String() string {
	if *b == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Type() string { return "bytesize" }

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
}

func (b *byteSize) Set(s string) error {
	num := strings.TrimRightFunc(strings.TrimSpace(s), func(r rune) bool { return !unicode.IsDigit(r) })
	unit := strings.ToLower(strings.TrimSpace(strings.TrimSpace(s)[len(num):]))
	mult, ok := byteUnits[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || (mult > 1 && n > math.MaxInt64/mult) {
		return fmt.Errorf("expected a size in bytes, such as 1048576, 512KiB or 1MiB")
	}
	*b = byteSize(n * mult)
	return nil
}
