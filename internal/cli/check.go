package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/pipeline"
	"github.com/readiness-dev/readiness/internal/sign"
)

// checkOptions are the flags of `readiness check`.
type checkOptions struct {
	ConfigPath string
	Only       []string
	Timeout    time.Duration
	ExitZero   bool
	// SignEvidence signs the json evidence with Key as a DSSE envelope.
	SignEvidence bool
	Key          string
	Policy       PolicyOptions
	Render       RenderOptions
}

// AddFlags registers the flags.
func (o *checkOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default: readiness.yaml, .readiness.yaml or .github/readiness.yaml, found from here up to the repository root; $READINESS_CONFIG overrides)")
	cmd.Flags().StringArrayVar(&o.Only, "only", nil, "run only the check `NAME` (repeatable)")
	cmd.Flags().Var((*DurationFlag)(&o.Timeout), "timeout", "deadline for the whole run (e.g. 15m, 1d); overrides the config's timeout")
	cmd.Flags().BoolVar(&o.ExitZero, "exit-zero", false, "report only: exit 0 on NO-GO (still 2 on configuration errors); never for release gating")
	cmd.Flags().BoolVar(&o.ExitZero, "no-fail", false, "same as --exit-zero (conftest's name)")
	cmd.Flags().BoolVar(&o.SignEvidence, "sign-evidence", false, "write the json evidence as a DSSE envelope signed with --key, so that 'policy eval --evidence-key' can tell an edited document")
	cmd.Flags().StringVar(&o.Key, "key", "", "with --sign-evidence: the private `KEY` (cosign.key, env://VAR, a KMS URI); its password comes from COSIGN_PASSWORD or a prompt")
	o.Policy.AddFlags(cmd)
	o.Render.AddFlags(cmd)
	// --only completes the check names of the discovered (or named) config.
	_ = cmd.RegisterFlagCompletionFunc("only", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		path := o.ConfigPath
		if path == "" {
			path, _ = config.Discover(".", os.Getenv)
		}
		cfg, err := config.Load(path, config.LoadOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, ch := range cfg.Checks {
			names = append(names, ch.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
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
				return Usagef("--timeout must be positive")
			}
			switch {
			case opts.SignEvidence && opts.Key == "":
				return Usagef("--sign-evidence needs --key (the private key that signs the evidence)")
			case opts.Key != "" && !opts.SignEvidence:
				return Usagef("--key signs the evidence only with --sign-evidence")
			}
			if err := opts.Render.Validate(); err != nil {
				return err
			}
			if !opts.SignEvidence {
				return nil
			}
			if outs, _ := opts.Render.outputs(); !slices.ContainsFunc(outs, func(o output) bool { return o.Format == "json" }) {
				return Usagef("--sign-evidence signs the json evidence; add -o json=FILE")
			}
			return nil
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
	cfg, err := a.LoadConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	if opts.SignEvidence {
		// The key first: a wrong password costs no run.
		signer, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: opts.Key, PassFunc: a.PassFunc(opts.Key)}})
		if err != nil {
			return AsUsage(err)
		}
		opts.Render.Seal = func(doc *evidence.Document, data []byte) ([]byte, error) {
			return signer.Seal(ctx, sign.DocumentPredicateType, data, doc.Subjects)
		}
	}
	err = a.Execute(ctx, pipeline.Selection{Config: cfg, Only: opts.Only, Policy: opts.Policy.Options(), Timeout: opts.Timeout}, opts.Render)
	if opts.ExitZero && err == ErrNOGO {
		// The verdict was printed; a report-only run does not fail on it.
		fmt.Fprintln(a.IO.ErrOut, "readiness: --exit-zero: exiting 0 although the verdict is NO-GO (report only, not a release gate)")
		return nil
	}
	return err
}
