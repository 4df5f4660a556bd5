//go:build unix

package procexec

import (
	"context"
	"errors"
	"os"
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
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, Cmd{Path: "sh", Args: []string{"-c", "sleep 300 & echo $! > " + pidFile + "; wait"}})
	if err == nil || !res.Killed {
		t.Fatalf("cancelled run: %+v, %v; want killed with an error", res, err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
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
