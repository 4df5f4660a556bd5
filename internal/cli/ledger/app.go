// Package ledger holds `readiness ledger`, the deduplication ledger's own
// commands: claim, complete, fail, wait and inspect for operators; test,
// bench, worker and driver for its regression suite and third-party
// drivers.
package ledger

import (
	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
)

// app is the shared App, with this group's own helpers as methods.
type app struct{ *cli.App }

// NewCmd builds `readiness ledger`.
func NewCmd(c *cli.App) *cobra.Command { return newLedgerCmd(&app{c}) }
