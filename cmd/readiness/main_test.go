//go:build unix

package main_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readiness is the real binary, built once for these tests.
var readiness string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "readiness-bin-")
	if err != nil {
		panic(err)
	}
	readiness = filepath.Join(dir, "readiness")
	build := exec.Command("go", "build", "-o", readiness, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build readiness: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tapSuite is a tests-gate config whose suite prints a TAP report.
func tapSuite(tap string) string {
	return `version: 1
checks:
  - name: tests
    with:
      suites:
        - name: tap
          command: [printf, "` + tap + `"]
          report: {format: tap}
`
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		config string // empty: no readiness.yaml at all
		args   []string
		code   int
		stdout string // substring of stdout
		stderr string // substring of stderr
	}{
		{"GO", tapSuite(`TAP version 13\n1..1\nok 1 - works\n`), []string{"check"}, 0, "\nGO\n", ""},
		{"NO-GO", tapSuite(`TAP version 13\n1..1\nnot ok 1 - broken\n`), []string{"check"}, 1, "NO-GO: ", ""},
		{"missing config", "", []string{"check"}, 2, "", "config file not found; run `readiness init`"},
		{"bad config", "version: 1\nchecks:\n  - name: tests\n    timeout: soon\n", []string{"check"}, 2, "", `readiness.yaml:4: "soon" is not a duration`},
		{"unknown command", "", []string{"chek"}, 2, "", `unknown command "chek"`},
		{"version", "", []string{"version"}, 0, "readiness ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte(tt.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(readiness, tt.args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CI=true", "NO_COLOR=1", "GITHUB_STEP_SUMMARY=")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
			if strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("stack trace on stderr:\n%s", stderr.String())
			}
		})
	}
}

// TestSIGINT interrupts the real binary while a suite sleeps: the sleeping
// child must die with it, the finished check must be reported, and the
// verdict must be NO-GO.
func TestSIGINT(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	config := `version: 1
checks:
  - name: quick
    type: tests
    with:
      suites:
        - {name: ok, command: [printf, "1..1\nok 1\n"], report: {format: tap}}
  - name: slow
    type: tests
    with:
      suites:
        - {name: sleeper, command: [sh, -c, 'echo $$ > ` + pidFile + `; exec sleep 300'], report: {format: tap}}
`
	if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(readiness, "check")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=true", "GITHUB_STEP_SUMMARY=")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(strings.Join(seen, "\n"), "quick pass") {
			break
		}
	}
	// Wait for the sleeper to exist before interrupting.
	var childPID int
	for i := 0; i < 200 && childPID == 0; i++ {
		if b, err := os.ReadFile(pidFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			childPID = atoi(string(bytes.TrimSpace(b)))
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if childPID == 0 {
		t.Fatalf("the slow suite never started; stderr so far:\n%s", strings.Join(seen, "\n"))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d after SIGINT, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), strings.Join(seen, "\n"))
	}
	out := stdout.String()
	for _, want := range []string{"quick  pass", "slow could not complete", "the run was interrupted"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// The sleeping child must be gone, not orphaned.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(childPID, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(childPID, syscall.SIGKILL)
			t.Fatalf("child process %d survived the interrupt", childPID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
