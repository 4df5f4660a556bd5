package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
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
	// Compare is an earlier run's evidence (json, or a --sign-evidence
	// envelope) that the reports mark each blocker against.
	Compare string
	Policy  PolicyOptions
	Render  RenderOptions
}

// AddFlags registers the flags.
func (o *checkOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default: readiness.yaml, .readiness.yaml or .github/readiness.yaml, found from here up to the repository root; $READINESS_CONFIG overrides)")
	cmd.Flags().StringArrayVar(&o.Only, "only", nil, "run only the check `NAME` (repeatable)")
	cmd.Flags().Var((*DurationFlag)(&o.Timeout), "timeout", "deadline for the whole run (e.g. 15m, 1d); overrides the config's timeout")
	cmd.Flags().BoolVar(&o.ExitZero, "exit-zero", false, "report only: exit 0 on NO-GO (still 2 on configuration errors); never for release gating")
	cmd.Flags().BoolVar(&o.ExitZero, "no-fail", false, "same as --exit-zero (conftest's name)")
	cmd.Flags().BoolVar(&o.SignEvidence, "sign-evidence", false, "write the json evidence as a DSSE envelope signed with --key, so that 'policy eval --evidence-key' can tell an edited document")
	cmd.Flags().StringVar(&o.Compare, "compare", "", "mark each blocker new or still open, and list the fixed ones, against an earlier run's evidence `PREVIOUS.json` (-o json, or a --sign-evidence envelope) of this repository; never changes the verdict")
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
  readiness check --policy ./policy --format sarif --output readiness.sarif
  readiness check --compare last.json -o text -o json=last.json`,
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
	if opts.Compare != "" {
		// Read before the run: a wrong file costs no run. It may be the
		// very file -o json= rewrites: it is read whole first.
		prev, err := readPrevious(opts.Compare, evidence.LocateRepository(cfg.Dir))
		if err != nil {
			return err
		}
		opts.Render.Previous = prev
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

// maxPrevious bounds what --compare reads.
const maxPrevious = 256 << 20

// readPrevious reads an earlier run's evidence for --compare: a document
// of either schema, plain or in a --sign-evidence envelope (read, not
// verified: the comparison labels blockers and judges nothing), from the
// repository here. Anything else is a usage error in one sentence.
func readPrevious(path string, here *evidence.Repository) (*evidence.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Usagef("--compare %s cannot be read: %v", path, UnwrapFSError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPrevious+1))
	switch {
	case err != nil:
		return nil, Usagef("--compare %s cannot be read: %v", path, UnwrapFSError(err))
	case len(data) > maxPrevious:
		return nil, Usagef("--compare %s is larger than %d MiB: not an evidence document", path, maxPrevious>>20)
	}
	body, err := sign.PeekDocument(data)
	if err != nil {
		return nil, Usagef("--compare %s is not an evidence document: %v", path, err)
	}
	prev, err := evidence.Decode(bytes.NewReader(body))
	if err != nil {
		return nil, Usagef("--compare %s is not an earlier run's evidence: %v", path, err)
	}
	if was, is := prev.Repository.Identity(), here.Identity(); was != is {
		return nil, Usagef("--compare %s is the evidence of another repository (%s), not of this one (%s)", path, orNone(was), orNone(is))
	}
	return prev, nil
}

// orNone quotes a repository identity read from a file, or says there is
// none.
func orNone(id string) string {
	if id == "" {
		return "no git repository"
	}
	return strconv.Quote(id)
}
