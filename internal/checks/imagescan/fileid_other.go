//go:build !linux && !darwin

package imagescan

// fileIdentity has no inode and ctime to go on here (Windows): size and
// mtime alone can be set back by a tool, so the probe cache is never used
// and trivy is probed on every run — slower, never staler.
func fileIdentity(string) (string, bool) { return "", false }
