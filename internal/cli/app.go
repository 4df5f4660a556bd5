package cli

import (
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/checks"
)

// App holds what every command needs. It is built once per invocation and
// passed down; there is no package-level state.
type App struct {
	IO  *IOStreams
	Now func() time.Time
	// Gates returns the gates. Building them parses every gate's rules
	// (about 3 ms), which commands like `version` never need: NewApp
	// builds them on first call.
	Gates func() []checks.Gate
}

// NewApp returns an App on the given streams with the real clock and gates.
func NewApp(io *IOStreams) *App {
	return &App{IO: io, Now: time.Now, Gates: sync.OnceValue(catalog.Gates)}
}
