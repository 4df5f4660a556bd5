package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvConfig names the environment variable that overrides discovery.
const EnvConfig = "READINESS_CONFIG"

// Names are the files discovery looks for in each directory, in order.
var Names = []string{"readiness.yaml", ".readiness.yaml", filepath.Join(".github", "readiness.yaml")}

// Discover finds the configuration for a run started in dir, as linters do:
// $READINESS_CONFIG when set, else the first of Names in dir, then in each
// parent up to the repository root (the directory holding .git). Outside a
// repository only dir itself is searched, so that a stray readiness.yaml
// in a home directory is never picked up. The path returned is relative to
// dir when it lies below it. A miss wraps ErrNotFound and names where it
// looked.
func Discover(dir string, getenv func(string) string) (string, error) {
	if p := getenv(EnvConfig); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w; fix the variable or unset it", EnvConfig, p, ErrNotFound)
		}
		return p, nil
	}
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	root := repoRoot(start)
	var searched []string
	for d := start; ; d = filepath.Dir(d) {
		for _, n := range Names {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				if rel, err := filepath.Rel(start, p); err == nil && !strings.HasPrefix(rel, "..") {
					return rel, nil
				}
				return p, nil
			}
		}
		searched = append(searched, d)
		if root == "" || d == root || filepath.Dir(d) == d {
			break
		}
	}
	where := searched[0]
	if len(searched) > 1 {
		where = fmt.Sprintf("%s and its parents up to %s", searched[0], searched[len(searched)-1])
	}
	return "", fmt.Errorf("no %s in %s: %w; run `readiness init` to write one, or pass --config", strings.Join(Names, ", "), where, ErrNotFound)
}

// repoRoot is the nearest directory at or above dir holding .git (a
// directory, or a file in a worktree or submodule), or "".
func repoRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		} else if !errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
