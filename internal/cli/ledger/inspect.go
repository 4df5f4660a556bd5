package ledger

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/ledger"
)

// ledgerInspectOptions are the argument of `readiness ledger inspect`; it
// has no flags beyond the group's --db and --json.
type ledgerInspectOptions struct {
	Ledger *ledgerOptions
	Key    string
}

// AddFlags registers the flags: none of its own.
func (o *ledgerInspectOptions) AddFlags(*cobra.Command) {}

// newLedgerInspectCmd builds `readiness ledger inspect`. runF replaces the
// behaviour in tests of flag parsing.
func newLedgerInspectCmd(app *app, lo *ledgerOptions, runF func(context.Context, *ledgerInspectOptions) error) *cobra.Command {
	o := &ledgerInspectOptions{Ledger: lo}
	cmd := &cobra.Command{
		Use:   "inspect KEY",
		Short: "Show what the ledger holds for KEY (read-only; the ledger must exist)",
		Args:  keyArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Key = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.inspectRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// inspectRun prints the key's state, read-only.
func (a *app) inspectRun(ctx context.Context, o *ledgerInspectOptions) error {
	l, err := o.Ledger.open(ctx, a, ledger.Options{MustExist: true, ReadOnly: true})
	if err != nil {
		return err
	}
	defer l.Close()
	st, err := l.Inspect(ctx, o.Key)
	if err != nil {
		return err
	}
	if o.Ledger.JSON {
		return a.printJSON(st)
	}
	w := tabwriter.NewWriter(a.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "key:\t%s\n", st.Key)
	fmt.Fprintf(w, "state:\t%s\n", st.Phase())
	if out := st.Output; out != nil {
		fmt.Fprintf(w, "output:\t%d bytes by %s at %s, retained until %s\n", len(out.Data), out.Owner, out.CompletedAt.Format(time.RFC3339Nano), out.ExpiresAt.Format(time.RFC3339))
	}
	if at := st.Attempt; at != nil {
		fmt.Fprintf(w, "attempt:\t%d by %s, %s, lease until %s\n", at.Token, at.Owner, at.Status, at.LeaseUntil.Format(time.RFC3339Nano))
		if at.Error != "" {
			fmt.Fprintf(w, "error:\t%s\n", at.Error)
		}
	}
	fmt.Fprintf(w, "summary:\t%s\n", st.Describe())
	return w.Flush()
}
