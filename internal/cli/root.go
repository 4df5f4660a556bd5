// Package cli holds readiness's cobra commands. Commands are thin: they
// parse flags, call a package, and render; the verdict is the policy's.
package cli

import (
	"github.com/spf13/cobra"
)

// NewRootCmd builds the command tree.
func NewRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "readiness",
		Short: "Release-readiness gatekeeper: run every release gate, judge the evidence, say GO or NO-GO",
		Long: `readiness runs the release gates a team relies on, collects what each saw as
evidence, judges it with a Rego policy, and prints one verdict: GO or NO-GO.

Exit codes: 0 GO, 1 NO-GO, 2 usage or configuration error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(app.IO.Out)
	root.SetErr(app.IO.ErrOut)
	root.SetIn(app.IO.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		newCheckCmd(app, nil),
		newPolicyCmd(app),
		newExplainCmd(app),
		newVersionCmd(app),
		newTestsCmd(app),
		newImageCmd(app),
		newLedgerCmd(app),
		newKeyCmd(app),
		newWorkflowCmd(app),
		// gate commands: one line each
	)
	return root
}
