package ledger

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// ledgerCompleteOptions are the flags and argument of `readiness ledger
// complete`.
type ledgerCompleteOptions struct {
	Ledger     *ledgerOptions
	Key        string
	Owner      string
	Output     string
	OutputFile string
}

// AddFlags registers the flags.
func (o *ledgerCompleteOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Owner, "owner", "", "owner `ID`")
	cmd.Flags().StringVar(&o.Output, "output", "", "the output `TEXT` (may be empty)")
	cmd.Flags().StringVar(&o.OutputFile, "output-file", "", "read the output from `FILE` (- for stdin)")
}

// newLedgerCompleteCmd builds `readiness ledger complete`. runF replaces
// the behaviour in tests of flag parsing.
func newLedgerCompleteCmd(app *app, lo *ledgerOptions, runF func(context.Context, *ledgerCompleteOptions) error) *cobra.Command {
	o := &ledgerCompleteOptions{Ledger: lo}
	cmd := &cobra.Command{
		Use:   "complete KEY --owner ID (--output TEXT | --output-file FILE)",
		Short: "Store KEY's output and wake its waiters",
		Long: `complete stores the output of KEY. The first output wins: if KEY already has
one, nothing is written and that one is reported. --output-file - reads stdin.
The ledger must exist (a mistyped --db is an error, not a new ledger).`,
		Args: keyArg,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if o.Owner == "" {
				return cli.Usagef("--owner is required")
			}
			// --output "" is an output (empty), so it counts as given.
			if cmd.Flags().Changed("output") == (o.OutputFile != "") {
				return cli.Usagef("give exactly one of --output and --output-file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Key = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.completeRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// completeRun stores the output unless the key already has one (then it
// reports that one, exit 0).
func (a *app) completeRun(ctx context.Context, o *ledgerCompleteOptions) error {
	out := []byte(o.Output)
	if o.OutputFile != "" {
		var err error
		if o.OutputFile == "-" {
			out, err = io.ReadAll(a.IO.In)
		} else {
			out, err = os.ReadFile(o.OutputFile)
		}
		if err != nil {
			return cli.Usagef("--output-file: %v", err)
		}
	}
	l, err := o.Ledger.open(ctx, a, ledger.Options{MustExist: true})
	if err != nil {
		return err
	}
	defer l.Close()
	st, stored, err := l.Complete(ctx, o.Key, o.Owner, out)
	if err != nil {
		return err
	}
	if o.Ledger.JSON {
		return a.printJSON(map[string]any{"stored": stored, "state": st})
	}
	if stored {
		fmt.Fprintf(a.IO.Out, "stored: %s completed by %s (%d bytes, retained until %s)\n", ledger.KeyRef(o.Key), o.Owner, len(out), st.Output.ExpiresAt.Format(time.RFC3339))
	} else {
		fmt.Fprintf(a.IO.Out, "kept: %s already had an output (%s); yours was not stored\n", ledger.KeyRef(o.Key), st.Describe())
	}
	return nil
}
