package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/ledger"
)

// ledgerWaitOptions are the flags and argument of `readiness ledger wait`.
type ledgerWaitOptions struct {
	Ledger  *ledgerOptions
	Key     string
	Timeout time.Duration
	// After is the token of the last failed attempt to ignore.
	After int64
}

// AddFlags registers the flags.
func (o *ledgerWaitOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 30*time.Second, "give up after `D`")
	cmd.Flags().Int64Var(&o.After, "after", 0, "ignore failed attempts up to this `TOKEN` (wait for a retry)")
}

// newLedgerWaitCmd builds `readiness ledger wait`. runF replaces the
// behaviour in tests of flag parsing.
func newLedgerWaitCmd(app *app, lo *ledgerOptions, runF func(context.Context, *ledgerWaitOptions) error) *cobra.Command {
	o := &ledgerWaitOptions{Ledger: lo}
	cmd := &cobra.Command{
		Use:   "wait KEY [--timeout D]",
		Short: "Wait for KEY's output and print it",
		Long: `wait prints KEY's output on stdout and exits 0 as soon as it is stored (at
once if it already is). It exits 1 with a message naming the key, the last
state and the time waited when the owner fails or --timeout passes. A key
with no claim yet is waited for. The ledger is opened read-only and must
exist.`,
		Args: keyArg,
		PreRunE: func(*cobra.Command, []string) error {
			if o.Timeout <= 0 {
				return cli.Usagef("--timeout must be positive")
			}
			if o.After < 0 {
				return cli.Usagef("--after must be a token (0 or more), not %d", o.After)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Key = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return app.waitRun(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// waitRun prints the key's output once it is stored: exit 1 when the
// owner fails or the wait times out.
func (a *app) waitRun(ctx context.Context, o *ledgerWaitOptions) error {
	l, err := o.Ledger.open(ctx, a, ledger.Options{MustExist: true, ReadOnly: true})
	if err != nil {
		return err
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res, err := l.Wait(ctx, o.Key, ledger.After(o.After))
	if err != nil {
		var fe *ledger.FailedError
		var te *ledger.TimeoutError
		// Both As calls run whatever --json says: a failure or a
		// timeout is a ledger outcome (exit 1), anything else is not.
		isFailed, isTimeout := errors.As(err, &fe), errors.As(err, &te)
		if o.Ledger.JSON && (isFailed || isTimeout) {
			doc := map[string]any{"error": err.Error()}
			if fe != nil {
				doc["failed"] = map[string]any{"owner": fe.Owner, "token": fe.Token, "message": fe.Message}
			} else {
				doc["timeout"] = map[string]any{"elapsed_ms": te.Elapsed.Milliseconds(), "last_state": te.Last}
			}
			_ = a.printJSON(doc)
		}
		if isFailed || isTimeout {
			return &cli.ExitError{Code: 1, Err: err}
		}
		return err
	}
	if o.Ledger.JSON {
		return a.printJSON(res)
	}
	return a.writeOutput(res.Output)
}
