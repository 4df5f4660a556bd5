package ledgersuite

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// StartCPUProfile writes a CPU profile (pprof) of this process to path
// until the returned stop is called.
func StartCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// StartMutexProfile samples mutex contention (one event in rate) and
// writes the profile to path when the returned stop is called.
func StartMutexProfile(path string, rate int) (stop func() error) {
	prev := runtime.SetMutexProfileFraction(rate)
	return func() error {
		defer runtime.SetMutexProfileFraction(prev)
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("mutex profile: %w", err)
		}
		if err := pprof.Lookup("mutex").WriteTo(f, 0); err != nil {
			f.Close()
			return fmt.Errorf("mutex profile: %w", err)
		}
		return f.Close()
	}
}
