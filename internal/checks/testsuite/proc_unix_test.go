//go:build unix

package testsuite

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// processGone waits until pid has exited (a zombie counts as gone: it runs
// no more code).
func processGone(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return true
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 0 && f[0] == "Z" {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func killPID(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }
