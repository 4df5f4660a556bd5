package repo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindRootRelResolve(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{".git", ".github/workflows", "ci"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, from := range []string{root, filepath.Join(root, ".github", "workflows"), filepath.Join(root, "ci")} {
		if got, ok := FindRoot(from); !ok || got != root {
			t.Errorf("FindRoot(%s) = %s, %v; want %s", from, got, ok, root)
		}
	}
	// A worktree or submodule has a .git file.
	sub := filepath.Join(root, "vendor", "mod")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, ".git"), []byte("gitdir: ../../.git/modules/mod\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := FindRoot(filepath.Join(sub)); !ok || got != sub {
		t.Errorf("FindRoot(submodule) = %s, %v", got, ok)
	}
	plain := t.TempDir()
	if got, ok := FindRoot(plain); ok || got != plain {
		t.Errorf("FindRoot(no .git) = %s, %v; want %s, false", got, ok, plain)
	}

	for _, tc := range []struct {
		dir, p, want string
		outside      bool
	}{
		{".github", "workflows", ".github/workflows", false},
		{"ci", "../.github/workflows", ".github/workflows", false},
		{"ci", "..", ".", false},
		{"ci", "../../elsewhere", "", true},
		{"ci", "/etc/passwd", "", true},
		{".github", "../..github", "..github", false}, // a name starting with dots is inside
	} {
		abs, err := Resolve(root, filepath.Join(root, tc.dir), tc.p)
		var oe *OutsideError
		if tc.outside {
			if !errors.As(err, &oe) {
				t.Errorf("Resolve(%s, %s) = %s, %v; want an OutsideError", tc.dir, tc.p, abs, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%s, %s): %v", tc.dir, tc.p, err)
			continue
		}
		if rel, ok := Rel(root, abs); !ok || rel != tc.want {
			t.Errorf("Rel(Resolve(%s, %s)) = %s, %v; want %s", tc.dir, tc.p, rel, ok, tc.want)
		}
	}
}
