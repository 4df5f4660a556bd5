//go:build unix

package procexec

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	res, err := Run(ctx, Cmd{Path: "sh", Args: []string{"-c", "echo out; echo err >&2; exit 3"}})
	if err != nil || res.ExitCode != 3 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Errorf("non-zero exit: %+v, %v; want exit 3 with output and no error", res, err)
	}
	if _, err := Run(ctx, Cmd{Path: "no-such-tool-here"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tool: %v, want ErrNotFound", err)
	}
	if _, err := Run(ctx, Cmd{Path: "sh", Args: []string{"-c", "kill -SEGV $$"}}); !errors.Is(err, ErrDied) || !strings.Contains(err.Error(), "segmentation fault") {
		t.Errorf("crash: %v, want ErrDied naming the signal", err)
	}
}

// Cancelling kills the whole process group: a grandchild too.
func TestCancelKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		// The pid file appears complete (mv), once the grandchild runs.
		res, err := Run(ctx, Cmd{Path: "sh", Args: []string{"-c", "sleep 300 & echo $! > " + pidFile + ".tmp; mv " + pidFile + ".tmp " + pidFile + "; wait"}})
		done <- outcome{res, err}
	}()
	// Cancel once the grandchild exists, not after a fixed time: on a
	// loaded machine sh may not have started it within any deadline.
	var data []byte
	for {
		var err error
		if data, err = os.ReadFile(pidFile); err == nil {
			break
		}
		select {
		case o := <-done:
			t.Fatalf("the run ended before it was cancelled: %+v, %v", o.res, o.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	o := <-done
	if o.err == nil || !o.res.Killed {
		t.Fatalf("cancelled run: %+v, %v; want killed with an error", o.res, o.err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d survived the cancellation", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// OnlyEnv: the process sees Env and nothing of the current environment;
// without it Env is added to the current one.
func TestOnlyEnv(t *testing.T) {
	t.Setenv("READINESS_PROCEXEC_AMBIENT", "leaked")
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		only    bool
		env     []string
		wantOut string
	}{
		{"only Env", true, []string{"GIVEN=yes"}, "yes \n"},
		{"empty Env is an empty environment", true, nil, " \n"},
		{"added to the current one", false, []string{"GIVEN=yes"}, "yes leaked\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Cmd{Path: sh, Args: []string{"-c", `echo "$GIVEN $READINESS_PROCEXEC_AMBIENT"`}, Env: tt.env, OnlyEnv: tt.only})
			if err != nil || string(res.Stdout) != tt.wantOut {
				t.Errorf("output %q, %v; want %q", res.Stdout, err, tt.wantOut)
			}
		})
	}
}
