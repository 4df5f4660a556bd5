package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/config"
)

func TestDiscover(t *testing.T) {
	touch := func(t *testing.T, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("version: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name  string
		files []string // relative to the repository; ".git/HEAD" makes it one
		start string   // where the run starts, relative to the repository
		env   string
		want  string // relative to start; "" wants ErrNotFound
	}{
		{name: "in cwd", files: []string{".git/HEAD", "readiness.yaml"}, start: ".", want: "readiness.yaml"},
		{name: "dotfile", files: []string{".git/HEAD", ".readiness.yaml"}, start: ".", want: ".readiness.yaml"},
		{name: "under .github", files: []string{".git/HEAD", ".github/readiness.yaml"}, start: ".", want: ".github/readiness.yaml"},
		{name: "order", files: []string{".git/HEAD", ".github/readiness.yaml", "readiness.yaml"}, start: ".", want: "readiness.yaml"},
		{name: "from a subdirectory", files: []string{".git/HEAD", "readiness.yaml", "svc/api/main.go"}, start: "svc/api", want: "../../readiness.yaml"},
		{name: "nearest wins", files: []string{".git/HEAD", "readiness.yaml", "svc/.readiness.yaml", "svc/api/x"}, start: "svc/api", want: "../.readiness.yaml"},
		{name: "worktree .git file", files: []string{".git", "readiness.yaml", "a/x"}, start: "a", want: "../readiness.yaml"},
		{name: "not above the repository root", files: []string{"readiness.yaml", "repo/.git/HEAD", "repo/a/x"}, start: "repo/a"},
		{name: "outside a repository only cwd", files: []string{"readiness.yaml", "a/x"}, start: "a"},
		{name: "env overrides", files: []string{".git/HEAD", "readiness.yaml", "ci/gates.yaml"}, start: ".", env: "ci/gates.yaml", want: "ci/gates.yaml"},
		{name: "env names a missing file", files: []string{".git/HEAD", "readiness.yaml"}, start: ".", env: "nope.yaml"},
		{name: "a directory is not a config", files: []string{".git/HEAD", "readiness.yaml/x"}, start: "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				touch(t, filepath.Join(root, f))
			}
			start := filepath.Join(root, tc.start)
			getenv := noEnv
			if tc.env != "" {
				getenv = func(k string) string {
					if k == config.EnvConfig {
						return filepath.Join(start, tc.env)
					}
					return ""
				}
			}
			got, err := config.Discover(start, getenv)
			if tc.want == "" {
				if !errors.Is(err, config.ErrNotFound) {
					t.Fatalf("got %q, %v; want ErrNotFound", got, err)
				}
				if tc.env == "" && !strings.Contains(err.Error(), "readiness init") {
					t.Errorf("error %q does not say how to make one", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.env != "" || strings.HasPrefix(tc.want, "..") {
				// Above the start directory the path is absolute.
				tc.want = filepath.Join(start, tc.want)
			}
			if got != filepath.FromSlash(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
