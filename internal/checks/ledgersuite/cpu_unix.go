//go:build unix

package ledgersuite

import (
	"syscall"
	"time"
)

// selfCPU is the user+system CPU time this process has used, or -1.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
