// Package procexec runs external tools (trivy, test suites) the way a
// release gate must: with an argument list and never a shell, in their own
// process group so that a timeout or Ctrl-C kills the tool and every child
// it started, with stdout and stderr kept.
//
// The process tree is a process group on Unix (group_unix.go) and a job
// object on Windows (group_windows.go).
package procexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// Cmd describes one invocation.
type Cmd struct {
	Path string
	Args []string
	Dir  string
	// Env is added to the current environment (KEY=VALUE).
	Env []string
	// OnlyEnv makes Env the whole environment: the process inherits none
	// of the current one (a tool whose settings ambient variables change).
	OnlyEnv bool
	// Stdin, when set, is fed to the process.
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output as well as the Result.
	Stdout io.Writer
	Stderr io.Writer
	// WaitDelay bounds how long to wait for output pipes after the process
	// group is killed; default 2s.
	WaitDelay time.Duration
}

// Result is what a finished process left.
type Result struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
	Duration time.Duration
	// Killed is true when the process group was killed because ctx ended.
	Killed bool
}

// ErrNotFound means the executable could not be found or started.
var ErrNotFound = errors.New("executable not found")

// ErrDied means the process was killed by a signal nobody here sent: it
// crashed.
var ErrDied = errors.New("died")

// Run starts c and waits. A non-zero exit is not an error: callers decide
// what an exit code means (trivy's --exit-code, a failing test suite). An
// error means the process could not run, or ctx ended and it was killed.
func Run(ctx context.Context, c Cmd) (Result, error) {
	path, err := exec.LookPath(c.Path)
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, ErrNotFound)
	}
	cmd := exec.CommandContext(ctx, path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	if c.OnlyEnv {
		// Never nil: a nil Env would inherit everything.
		cmd.Env = append([]string{}, c.Env...)
	}
	cmd.Stdin = c.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = teeTo(&stdout, c.Stdout)
	cmd.Stderr = teeTo(&stderr, c.Stderr)
	tree := newProcTree(cmd)
	defer tree.close()
	cmd.Cancel = tree.kill
	cmd.WaitDelay = c.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 2 * time.Second
	}
	start := time.Now()
	err = cmd.Start()
	if err == nil {
		if aerr := tree.attach(); aerr != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Path, aerr)
		}
		err = cmd.Wait()
	}
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start), ExitCode: -1}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if cmd.Process != nil {
		// Reap stragglers that outlived the leader, whatever happened.
		_ = tree.kill()
	}
	if ctx.Err() != nil {
		res.Killed = true
		return res, fmt.Errorf("%s killed after %s: %w", c.Path, res.Duration.Round(time.Millisecond), ctx.Err())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		if errors.Is(err, exec.ErrWaitDelay) {
			return res, nil
		}
		return res, fmt.Errorf("run %s: %w", c.Path, err)
	}
	if ee != nil && res.ExitCode == -1 {
		// Killed by a signal that we did not send: the tool crashed.
		return res, fmt.Errorf("%s %w: %s", c.Path, ErrDied, ee.ProcessState.String())
	}
	return res, nil
}

func teeTo(buf *bytes.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}
