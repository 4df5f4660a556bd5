// Package repo knows where the repository is: its root, found from any
// directory inside it, and how a path is written relative to it. Everything
// readiness reports (finding locations, SARIF URIs, finding IDs) is
// relative to that root, whichever directory the config sits in.
package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FindRoot returns the repository root above dir (inclusive): the nearest
// directory holding a .git entry (a directory, or the file of a worktree or
// submodule). With none, it returns dir itself and false: a tree without
// git (an unpacked release, a distroless image) is judged from dir.
func FindRoot(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir), false
	}
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return abs, false
		}
		d = parent
	}
}

// Rel writes p, absolute or relative to the working directory, relative to
// root with forward slashes. ok is false when p lies outside root.
func Rel(root, p string) (rel string, ok bool) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.ToSlash(p), false
	}
	r, err := filepath.Rel(root, abs)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return filepath.ToSlash(abs), false
	}
	return filepath.ToSlash(r), true
}

// OutsideError is a configured path that resolves outside the repository.
type OutsideError struct {
	Path, Resolved, Root string
}

func (e *OutsideError) Error() string {
	return fmt.Sprintf("%s resolves to %s, which is not inside the repository %s; paths in the configuration are relative to the configuration file's directory and must stay inside the repository", e.Path, e.Resolved, e.Root)
}

// Resolve resolves p, as written in a config file in dir, to an absolute
// path, and refuses one outside root.
func Resolve(root, dir, p string) (string, error) {
	abs := p
	if !filepath.IsAbs(p) {
		abs = filepath.Join(dir, filepath.FromSlash(p))
	}
	abs = filepath.Clean(abs)
	if _, ok := Rel(root, abs); !ok {
		return "", &OutsideError{Path: p, Resolved: abs, Root: root}
	}
	return abs, nil
}
