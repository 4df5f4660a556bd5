package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// ledgerClaimOptions are the flags and argument of `readiness ledger claim`.
type ledgerClaimOptions struct {
	Ledger *ledgerOptions
	Key    string
	Owner  string
	Lease  time.Duration
}

// AddFlags registers the flags.
func (o *ledgerClaimOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Owner, "owner", "", "owner `ID` (unique per router and request)")
	cmd.Flags().DurationVar(&o.Lease, "lease", ledger.DefaultLease, "how long the claim lasts without renewal")
}

// newLedgerClaimCmd builds `readiness ledger claim`. runF replaces the
// behaviour in tests of flag parsing.
func newLedgerClaimCmd(app *app, lo *ledgerOptions, runF func(context.Context, *ledgerClaimOptions) error) *cobra.Command {
	o := &ledgerClaimOptions{Ledger: lo}
	cmd := &cobra.Command{
		Use:   "claim KEY --owner ID",
		Short: "Become the generator of KEY, or report its retained output",
		Long: `claim makes --owner the generator of KEY for --lease. Exit 0: you own it.
Exit 1: you do not, because KEY already has a retained output (printed on
stdout, as wait would) or another owner's lease is live (named on stderr).`,
		Args: keyArg,
		PreRunE: func(*cobra.Command, []string) error {
			if o.Owner == "" {
				return cli.Usagef("--owner is required")
			}
			if o.Lease <= 0 {
				return cli.Usagef("--lease must be positive, not %s", o.Lease)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Key = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.claimRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// claimRun claims the key: exit 1 when another owner holds it or it
// already has an output (printed as wait would).
func (a *app) claimRun(ctx context.Context, o *ledgerClaimOptions) error {
	l, err := o.Ledger.open(ctx, a, ledger.Options{})
	if err != nil {
		return err
	}
	defer l.Close()
	c, err := l.Claim(ctx, o.Key, o.Owner, o.Lease)
	if err != nil {
		return err
	}
	if o.Ledger.JSON {
		if err := a.printJSON(c); err != nil {
			return err
		}
	}
	switch {
	case c.Owned:
		if !o.Ledger.JSON {
			fmt.Fprintf(a.IO.Out, "owner: %s owns %s (attempt %d, lease until %s)\n", o.Owner, ledger.KeyRef(o.Key), c.State.Attempt.Token, c.State.Attempt.LeaseUntil.Format(time.RFC3339Nano))
		}
		return nil
	case c.State.Phase() == ledger.PhaseCompleted:
		fmt.Fprintf(a.IO.ErrOut, "readiness: %s already has an output (%s); not claimed\n", ledger.KeyRef(o.Key), c.State.Describe())
		if !o.Ledger.JSON {
			if err := a.writeOutput(c.State.Output.Data); err != nil {
				return err
			}
		}
		return &cli.ExitError{Code: 1}
	default:
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s is %s; not claimed", ledger.KeyRef(o.Key), c.State.Describe())}
	}
}
