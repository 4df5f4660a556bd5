package cli

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the command's standard streams and what they are connected
// to. Tests use Test(); nothing writes to os.Stdout directly.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY report a terminal; renderers stay plain otherwise.
	OutTTY bool
	ErrTTY bool
	// Env is the process environment lookup (NO_COLOR, CI, GITHUB_STEP_SUMMARY …).
	Getenv func(string) string
}

// System returns the process's real streams.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		Getenv: os.Getenv,
	}
}

// Test returns in-memory streams for tests and the buffers behind them.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }}, &out, &errOut
}

// ColorOut reports whether stdout may carry ANSI colour.
func (s *IOStreams) ColorOut() bool {
	return s.OutTTY && s.Getenv("NO_COLOR") == "" && s.Getenv("TERM") != "dumb"
}

// ColorErr reports whether stderr may carry ANSI colour.
func (s *IOStreams) ColorErr() bool {
	return s.ErrTTY && s.Getenv("NO_COLOR") == "" && s.Getenv("TERM") != "dumb"
}

// Live reports whether progress may redraw lines on stderr: a terminal and
// not CI, where one plain line per event reads better in logs.
func (s *IOStreams) Live() bool {
	return s.ErrTTY && s.Getenv("CI") != "true" && s.Getenv("TERM") != "dumb"
}
