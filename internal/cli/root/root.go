// Package root assembles readiness's command tree: the core commands of
// package cli, every gate's own command (cli/gate), and the image, ledger
// and admission groups, over the catalog's gates. It is the one place that
// knows them all.
package root

import (
	"sync"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/admission"
	"github.com/readiness-dev/readiness/internal/cli/gate"
	"github.com/readiness-dev/readiness/internal/cli/image"
	"github.com/readiness-dev/readiness/internal/cli/ledger"
)

// NewApp returns the App of the real tool on the given streams: the real
// clock, the catalog's gates and every command group.
func NewApp(io *cli.IOStreams) *cli.App {
	// The command tree names every gate (their own commands); their rules
	// tables are parsed only by commands that read them (not `version`).
	return cli.NewApp(io, sync.OnceValue(catalog.Gates), commands)
}

func commands(app *cli.App) []*cobra.Command {
	return append(gate.Commands(app),
		image.NewCmd(app),
		ledger.NewCmd(app),
		admission.NewCmd(app),
		// command groups: one line each
	)
}

// Main runs the CLI with args and returns the process exit code. SIGINT and
// SIGTERM cancel the context; checks stop, what finished is printed, and the
// verdict is NO-GO.
func Main(args []string, io *cli.IOStreams) int {
	return cli.MainApp(NewApp(io), args)
}
