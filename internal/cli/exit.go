package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/pipeline"
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

// Usagef marks a usage or configuration error: nothing was judged.
func Usagef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// AsUsage wraps err as a usage error (exit 2) unless it already has a code.
func AsUsage(err error) error {
	var ee *ExitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return pipeline.AsUsage(err)
}

// ErrNOGO is returned after a NO-GO verdict has been rendered.
var ErrNOGO = &ExitError{Code: ExitNOGO}

// MainApp runs the tool for app (root.Main gives the real one; tests supply
// their own gates) and returns the process exit code. The first
// SIGINT or SIGTERM cancels the run: checks stop, what finished is judged and
// printed, the verdict is NO-GO. A second one exits at once, NO-GO.
func MainApp(app *App, args []string) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- Run(ctx, app, args) }()
	select {
	case code := <-done:
		return code
	case <-sigs:
		// Said at once, so that whoever pressed Ctrl-C knows it was heard
		// (and a second one is not lost: the kernel merges a signal that
		// arrives while the same one is still pending).
		fmt.Fprintln(app.IO.ErrOut, "readiness: interrupted: stopping the checks and judging what finished (NO-GO); interrupt again to stop now")
		cancel()
	}
	again := func() int {
		fmt.Fprintln(app.IO.ErrOut, "readiness: interrupted again: stopping now, nothing more is judged; NO-GO")
		return ExitNOGO
	}
	select {
	case code := <-done:
		// A second signal that came while the run was finishing still
		// counts: select picks at random among ready cases.
		select {
		case <-sigs:
			return again()
		default:
			return code
		}
	case <-sigs:
		return again()
	}
}

// Run is Main without the signal handling, for in-process tests.
func Run(ctx context.Context, app *App, args []string) int {
	root := NewRootCmd(app)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return app.exitCode(err)
}

// ranError marks an error that a command's RunE returned. Any other error
// cobra returns comes from parsing the command line: a usage error.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

// markRunErrors wraps every command's RunE so that exitCode can tell a
// command's failure from cobra's own argument errors, by type.
func markRunErrors(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if err := run(c, args); err != nil {
				return &ranError{err: err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markRunErrors(sub)
	}
}

// exitCode decides the exit code from the error's type, never its text.
func (a *App) exitCode(err error) int {
	if err == nil {
		return ExitGO
	}
	code := ExitNOGO
	var ee *ExitError
	var ue *pipeline.UsageError
	var ce *config.Error
	var re *ranError
	switch {
	case errors.As(err, &ee):
		code = ee.Code
		if ee.Err == nil {
			return code
		}
	case errors.As(err, &ue), errors.As(err, &ce), errors.Is(err, config.ErrNotFound), !errors.As(err, &re):
		code = ExitUsage
	}
	fmt.Fprintf(a.IO.ErrOut, "readiness: %s\n", OneLine(err.Error()))
	return code
}

// OneLine keeps an error to one line: no stack traces, no YAML dumps.
func OneLine(s string) string {
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
