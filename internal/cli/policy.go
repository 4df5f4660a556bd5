package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/pipeline"
	"github.com/readiness-dev/readiness/internal/policy"
	"github.com/readiness-dev/readiness/internal/sign"
)

func newPolicyCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Re-judge saved evidence, or test Rego policies",
	}
	cmd.AddCommand(newPolicyEvalCmd(app), newPolicyTestCmd(app))
	return cmd
}

type policyEvalOptions struct {
	Input      string
	ConfigPath string
	// EvidenceKey verifies a signed document (check --sign-evidence).
	EvidenceKey string
	Policy      PolicyOptions
	Render      RenderOptions
}

func newPolicyEvalCmd(app *App) *cobra.Command {
	opts := &policyEvalOptions{}
	cmd := &cobra.Command{
		Use:   "eval --input evidence.json",
		Short: "Judge a saved evidence document again, with no check re-run",
		Long: `Judges a saved evidence document again, with no check re-run, with at least
the policy set the document records: the embedded default policy of the same
readiness, every user policy module (found again at its recorded path, or in
--policy DIR or --config's policy.dirs, matched by sha256) and namespace.
When any of them is missing, it refuses (exit 2) and names what is missing:
judging with fewer rules could turn a NO-GO into GO.`,
		Example: `  readiness check -o json=evidence.json
  readiness policy eval --input evidence.json --policy ./policy -o sarif=readiness.sarif`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if opts.Input == "" {
				return Usagef("--input is required")
			}
			return opts.Render.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.policyEval(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Input, "input", "i", "", "evidence `FILE` written by `readiness check --format json` (- for stdin)")
	cmd.Flags().StringVarP(&opts.ConfigPath, "config", "c", "", "configuration `FILE` whose policy.dirs and policy.namespaces join the policy set")
	cmd.Flags().StringVar(&opts.EvidenceKey, "evidence-key", "", "the input must be a DSSE envelope (check --sign-evidence) signed by this public `KEY`; verified before anything in it is read")
	opts.Policy.AddFlags(cmd)
	opts.Render.AddFlags(cmd)
	return cmd
}

func (a *App) policyEval(ctx context.Context, opts *policyEvalOptions) error {
	in := a.IO.In
	if opts.Input != "-" {
		f, err := os.Open(opts.Input)
		if err != nil {
			return Usagef("--input: %v", err)
		}
		defer f.Close()
		in = f
	}
	sel := pipeline.Selection{Policy: opts.Policy.Options(), Reads: []string{opts.Input}}
	if opts.ConfigPath != "" {
		cfg, err := a.LoadConfig(opts.ConfigPath)
		if err != nil {
			return err
		}
		sel.Config = cfg
	}
	if err := opts.Render.RefuseInputs(sel.Inputs()); err != nil {
		return err
	}
	doc, err := a.readEvidenceInput(ctx, in, opts)
	if err != nil {
		return err
	}
	if err := a.Pipeline().Rejudge(ctx, doc, sel); err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	return a.Publish(doc, opts.Render)
}

// readEvidenceInput decodes --input; with --evidence-key it must be a
// signed envelope, verified before its document is read, so that an edited
// not_run or policy_set cannot pass as the document that was judged.
func (a *App) readEvidenceInput(ctx context.Context, in io.Reader, opts *policyEvalOptions) (*evidence.Document, error) {
	if opts.EvidenceKey == "" {
		doc, err := evidence.Decode(in)
		if err != nil {
			return nil, Usagef("%s: %v (a signed document needs --evidence-key)", opts.Input, err)
		}
		return doc, nil
	}
	trust := &sign.EvidenceTrust{Key: opts.EvidenceKey}
	if err := trust.Load(ctx); err != nil {
		return nil, Usagef("--evidence-key: %v", err)
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, Usagef("--input: %v", err)
	}
	opened, err := trust.Open(ctx, data, sign.DocumentPredicateType)
	if err != nil {
		return nil, &ExitError{Code: ExitNOGO, Err: fmt.Errorf("%s: not judged: %w", opts.Input, err)}
	}
	doc, err := evidence.Decode(bytes.NewReader(opened.Body))
	if err != nil {
		return nil, &ExitError{Code: ExitNOGO, Err: fmt.Errorf("%s: the signed document: %w", opts.Input, err)}
	}
	return doc, nil
}

func newPolicyTestCmd(app *App) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the *_test.rego unit tests of the default policy and of DIRs",
		Long: `Runs Rego unit tests (rules named test_*) beside the policies, as 'opa test'
does. With no DIR, tests the embedded default policy. User policies are tested
together with the default policy, so tests can exercise the combined verdict.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := policy.Test(cmd.Context(), args)
			if err != nil {
				return AsUsage(err)
			}
			for _, r := range res {
				if verbose || !r.Pass {
					status := "PASS"
					if !r.Pass {
						status = "FAIL"
					}
					fmt.Fprintf(app.IO.Out, "%s %s (%s)%s\n", status, r.Name, r.Location, r.Detail)
				}
			}
			passed, failed := policy.Count(res)
			fmt.Fprintf(app.IO.Out, "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return ErrNOGO
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every test, not only failures")
	return cmd
}
