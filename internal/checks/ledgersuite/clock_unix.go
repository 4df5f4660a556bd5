//go:build unix

package ledgersuite

import "golang.org/x/sys/unix"

// monoNow is CLOCK_MONOTONIC in nanoseconds. Unlike the monotonic reading
// inside time.Time, which the runtime offsets per process, it is one clock
// for every process of the host, so a waiter's return in a worker process
// and Complete's return here can be subtracted, and the wall clock's steps
// (NTP) cannot bend the difference.
func monoNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("clock_gettime(CLOCK_MONOTONIC): " + err.Error()) // cannot fail on a supported kernel
	}
	return ts.Nano()
}
