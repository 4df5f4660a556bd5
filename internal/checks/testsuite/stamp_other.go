//go:build !linux

package testsuite

import "os"

// fileStamp identifies one version of a file by size and mtime.
type fileStamp struct {
	size  int64
	mtime int64
}

func statFile(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fileStamp{}, false
	}
	return fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}
