//go:build windows

package testsuite

import (
	"os"
	"time"
)

// processGone waits until pid has exited.
func processGone(pid int, within time.Duration) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	done := make(chan struct{})
	go func() { _, _ = p.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(within):
		return false
	}
}

func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
