package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
)

// TestMain lets the test binary act as the readiness CLI, so that
// runBinary gets a real process's exit codes and `ledger test` and `ledger
// bench` can re-execute it as their worker processes.
func TestMain(m *testing.M) {
	if os.Getenv("READINESS_CLI_TEST_MAIN") == "1" {
		os.Exit(root.Main(os.Args[1:], cli.System()))
	}
	os.Exit(m.Run())
}

type runResult struct {
	code           int
	stdout, stderr string
}

// run runs the whole tool in-process, with env as its only environment.
func run(t *testing.T, env map[string]string, args ...string) runResult {
	t.Helper()
	io, out, errOut := cli.Test()
	io.Getenv = func(k string) string { return env[k] }
	code := cli.Run(context.Background(), root.NewApp(io), args)
	return runResult{code, out.String(), errOut.String()}
}

// runBinary runs this test binary as the readiness CLI (TestMain), so that
// exit codes are those of a real process.
func runBinary(t *testing.T, args ...string) runResult {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "READINESS_CLI_TEST_MAIN=1", "READINESS_LEDGER_DSN=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	watchdog := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{code, stdout.String(), stderr.String()}
}
