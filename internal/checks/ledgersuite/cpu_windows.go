//go:build windows

package ledgersuite

import (
	"time"

	"golang.org/x/sys/windows"
)

// selfCPU is the user+system CPU time this process has used, or -1.
func selfCPU() time.Duration {
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user); err != nil {
		return -1
	}
	// FILETIME counts 100 ns intervals.
	ticks := func(ft windows.Filetime) int64 { return int64(ft.HighDateTime)<<32 | int64(ft.LowDateTime) }
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
