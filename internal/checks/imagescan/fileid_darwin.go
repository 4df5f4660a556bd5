package imagescan

import (
	"fmt"
	"os"
	"syscall"
)

// fileIdentity: as on Linux (fileid_linux.go); darwin names the times
// Mtimespec and Ctimespec.
func fileIdentity(path string) (string, bool) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", sys.Dev, sys.Ino, sys.Size,
		sys.Mtimespec.Sec, sys.Mtimespec.Nsec, sys.Ctimespec.Sec, sys.Ctimespec.Nsec), true
}
