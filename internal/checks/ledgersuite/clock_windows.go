//go:build windows

package ledgersuite

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")
	qpc      = kernel32.NewProc("QueryPerformanceCounter")
	qpf      = kernel32.NewProc("QueryPerformanceFrequency")
)

// monoNow is the performance counter in nanoseconds: one monotonic clock
// for every process of the host (see clock_unix.go).
func monoNow() int64 {
	var count, freq int64
	if r, _, err := qpc.Call(uintptr(unsafe.Pointer(&count))); r == 0 {
		panic("QueryPerformanceCounter: " + err.Error())
	}
	if r, _, err := qpf.Call(uintptr(unsafe.Pointer(&freq))); r == 0 {
		panic("QueryPerformanceFrequency: " + err.Error())
	}
	// count × 1e9 / freq without overflowing 64 bits.
	hi, lo := bits.Mul64(uint64(count), 1e9)
	q, _ := bits.Div64(hi, lo, uint64(freq))
	return int64(q)
}
