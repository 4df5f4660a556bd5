package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/pipeline"
)

// checkOptions are the flags of `readiness check`.
type checkOptions struct {
	ConfigPath string
	Only       []string
	Timeout    time.Duration
	Policy     policyOptions
	Render     renderOptions
}

// AddFlags registers the flags.
func (o *checkOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default: readiness.yaml, .readiness.yaml or .github/readiness.yaml, found from here up to the repository root; $READINESS_CONFIG overrides)")
	cmd.Flags().StringArrayVar(&o.Only, "only", nil, "run only the check `NAME` (repeatable)")
	cmd.Flags().Var((*durationFlag)(&o.Timeout), "timeout", "deadline for the whole run (e.g. 15m, 1d); overrides the config's timeout")
	o.Policy.AddFlags(cmd)
	o.Render.AddFlags(cmd)
}

// newCheckCmd builds `readiness check`. runF replaces the behaviour in tests
// of flag parsing.
func newCheckCmd(app *App, runF func(context.Context, *checkOptions) error) *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run the configured release gates and print GO or NO-GO",
		Example: `  readiness check
  readiness check --only security-key --format json --output evidence.json
  readiness check --policy ./policy --format sarif --output readiness.sarif`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if opts.Timeout < 0 {
				return usageErr("--timeout must be positive")
			}
			return opts.Render.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return app.checkRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

func (a *App) checkRun(ctx context.Context, opts *checkOptions) error {
	cfg, err := a.loadConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	return a.execute(ctx, pipeline.Selection{Config: cfg, Only: opts.Only, Policy: opts.Policy.options(), Timeout: opts.Timeout}, opts.Render)
}
