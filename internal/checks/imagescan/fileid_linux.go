package imagescan

import (
	"fmt"
	"os"
	"syscall"
)

// fileIdentity names one version of a file for the probe cache: device,
// inode, size, mtime and ctime (which no tool can set back), so a replaced
// or rewritten trivy binary or DB misses the cache.
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
		sys.Mtim.Sec, sys.Mtim.Nsec, sys.Ctim.Sec, sys.Ctim.Nsec), true
}
