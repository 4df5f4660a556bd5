// Package image holds `readiness image`: scan, and the trust chain's
// release, sign and verify. It parses flags, hands the evidence question to
// the release package and the registry work to sign.Release, and renders.
package image

import (
	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
)

// app is the shared App, with this group's own helpers as methods.
type app struct{ *cli.App }

// NewCmd builds `readiness image`, the container image commands.
func NewCmd(c *cli.App) *cobra.Command { return newImageCmd(&app{c}) }
