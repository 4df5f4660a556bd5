package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
)

// App holds what every command needs. It is built once per invocation and
// passed down; there is no package-level state.
type App struct {
	IO  *IOStreams
	Now func() time.Time
	// Gates returns the gates this build implements (the catalog's, given
	// by whoever assembles the tool: this package names no gate).
	Gates func() []checks.Gate
	// Commands are the command groups beyond the core ones (check, init,
	// policy, explain, version): the gates' own commands, image, ledger.
	Commands func(*App) []*cobra.Command
}

// NewApp returns an App on the given streams with the real clock.
func NewApp(io *IOStreams, gates func() []checks.Gate, commands func(*App) []*cobra.Command) *App {
	return &App{IO: io, Now: time.Now, Gates: gates, Commands: commands}
}
