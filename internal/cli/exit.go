package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/readiness-dev/readiness/internal/config"
)

// Exit codes, decided here and nowhere else.
const (
	ExitGO    = 0
	ExitNOGO  = 1
	ExitUsage = 2
)

// ExitError carries an exit code; Err, when set, is printed as one line.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageErr marks a usage or configuration error: nothing was judged.
func usageErr(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// asUsage wraps err as a usage error (exit 2) unless it already has a code.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// errNOGO is returned after a NO-GO verdict has been rendered.
var errNOGO = &ExitError{Code: ExitNOGO}

// Main runs the CLI with args and returns the process exit code. SIGINT and
// SIGTERM cancel the context; checks stop, what finished is printed, and the
// verdict is NO-GO.
func Main(args []string, io *IOStreams) int {
	return MainApp(NewApp(io), args)
}

// MainApp is Main for a given App (tests supply their own gates).
func MainApp(app *App, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, app, args)
}

// Run is Main without the signal handling, for in-process tests.
func Run(ctx context.Context, app *App, args []string) int {
	root := NewRootCmd(app)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return app.exitCode(err)
}

func (a *App) exitCode(err error) int {
	if err == nil {
		return ExitGO
	}
	code := ExitNOGO
	var ee *ExitError
	var ce *config.Error
	switch {
	case errors.As(err, &ee):
		code = ee.Code
		if ee.Err == nil {
			return code
		}
	case errors.As(err, &ce), errors.Is(err, config.ErrNotFound), isCobraUsage(err):
		code = ExitUsage
	}
	fmt.Fprintf(a.IO.ErrOut, "readiness: %s\n", oneLine(err.Error()))
	return code
}

// isCobraUsage recognises cobra's own flag and argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "unknown command", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "required flag", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// oneLine keeps an error to one line: no stack traces, no YAML dumps.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		rest := strings.Fields(s[i+1:])
		s = s[:i]
		if len(rest) > 0 {
			s += " " + strings.Join(rest, " ")
		}
	}
	return s
}
