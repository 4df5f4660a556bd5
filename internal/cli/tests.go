package cli

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/testsuite"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/pipeline"
)

// testsRunOptions are the flags of `readiness tests run`.
type testsRunOptions struct {
	ConfigPath string
	Suites     []string
	Repeat     int
	LogDir     string
	Policy     policyOptions
	Render     renderOptions
}

// AddFlags registers the flags.
func (o *testsRunOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default: readiness.yaml, .readiness.yaml or .github/readiness.yaml, found from here up to the repository root; $READINESS_CONFIG overrides)")
	cmd.Flags().StringArrayVar(&o.Suites, "suite", nil, "run only the suite `NAME` (repeatable)")
	cmd.Flags().IntVar(&o.Repeat, "repeat", 0, "run each suite `N` times, overriding its repeat: (flaky tests show up as TESTS-FLAKY)")
	cmd.Flags().StringVar(&o.LogDir, "log-dir", "", "write the suites' logs to `DIR` instead of log_dir or a new temporary directory")
	o.Policy.AddFlags(cmd)
	o.Render.AddFlags(cmd)
}

func newTestsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tests",
		Short: "Run the project's own test suites through the tests gate",
	}
	cmd.AddCommand(newTestsRunCmd(app, nil))
	return cmd
}

// newTestsRunCmd builds `readiness tests run`; runF replaces the behaviour
// in tests of flag parsing.
func newTestsRunCmd(app *App, runF func(context.Context, *testsRunOptions) error) *cobra.Command {
	opts := &testsRunOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run only the tests gate from readiness.yaml and print GO or NO-GO",
		Long: `Runs every check of type "tests" in readiness.yaml (or only the suites named
with --suite), judges the result with the policy, and prints the verdict.
Exit codes: 0 GO, 1 NO-GO, 2 usage or configuration error.`,
		Example: `  readiness tests run
  readiness tests run --suite go --repeat 5
  readiness tests run --format json --output tests-evidence.json`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if opts.Repeat < 0 || opts.Repeat > testsuite.MaxRepeat {
				return usageErr("--repeat must be between 1 and %d", testsuite.MaxRepeat)
			}
			return opts.Render.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return app.testsRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

func (a *App) testsRun(ctx context.Context, opts *testsRunOptions) error {
	cfg, err := a.loadConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	env := a.pipeline().Env(cfg)
	ov := testsuite.Overrides{Suites: opts.Suites, Repeat: opts.Repeat, LogDir: opts.LogDir}
	sel := pipeline.Selection{Config: cfg, Build: map[string]pipeline.BuildFunc{}, Policy: opts.Policy.options()}
	var all []string
	found := false
	for _, spec := range cfg.Checks {
		if spec.Type != testsuite.Type {
			continue
		}
		found = true
		names, err := testsuite.ConfiguredSuites(env, spec)
		if err != nil {
			return asUsage(err)
		}
		all = append(all, names...)
		if len(opts.Suites) > 0 && !slices.ContainsFunc(names, func(n string) bool { return slices.Contains(opts.Suites, n) }) {
			continue // --suite picked none of this check's suites
		}
		sel.Only = append(sel.Only, spec.Name)
		sel.Build[spec.Name] = func(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
			return testsuite.FromSpec(env, spec, ov)
		}
	}
	if !found {
		return usageErr("%s has no check of type %q; add one (see docs/gates/tests.md)", cfg.Path, testsuite.Type)
	}
	for _, s := range opts.Suites {
		if !slices.Contains(all, s) {
			return usageErr("--suite %s: no such suite in %s (configured: %s)", s, cfg.Path, strings.Join(all, ", "))
		}
	}
	return a.execute(ctx, sel, opts.Render)
}
