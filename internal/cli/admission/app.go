// Package admission holds `readiness admission`: the policies a Kubernetes
// admission controller enforces so that only GO digests run. It parses
// flags and hands the document to internal/admission.
package admission

import (
	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
)

// app is the shared App, with this group's own helpers as methods.
type app struct{ *cli.App }

// NewCmd builds `readiness admission`.
func NewCmd(c *cli.App) *cobra.Command { return newAdmissionCmd(&app{c}) }

func newAdmissionCmd(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admission",
		Short: "Write the admission policy that lets only GO digests run in a cluster",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		newAdmissionPolicyCmd(app, nil),
		// admission subcommands: one line each
	)
	return cmd
}
