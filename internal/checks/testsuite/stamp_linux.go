package testsuite

import (
	"os"
	"syscall"
)

// fileStamp identifies one version of a file: rewriting it in place changes
// its mtime and ctime, replacing it changes its inode. The ctime cannot be
// set back by a tool, so a report rewritten within one mtime tick is still
// told apart from a stale one.
type fileStamp struct {
	size       int64
	mtime      int64
	ino        uint64
	ctimeSec   int64
	ctimeNanos int64
}

func statFile(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fileStamp{}, false
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
		st.ctimeSec, st.ctimeNanos = int64(sys.Ctim.Sec), int64(sys.Ctim.Nsec)
	}
	return st, true
}
