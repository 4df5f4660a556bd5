// The scenes need symlinks and an executable bit, which Windows lacks.

//go:build !windows

package evidence

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// TestTrackedChangesAgreesWithGit: for each way a checkout can change,
// trackedChanges says what `git status --porcelain --untracked-files=no`
// says (the real git binary is the reference; it sets the scenes up too).
func TestTrackedChangesAgreesWithGit(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		need.Skip(t, "git is not installed: it is the reference for the working tree's state")
	}
	run := func(t *testing.T, dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir(),
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(t *testing.T, path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An hour ago, so that a file rewritten now never looks racy-clean.
	past := time.Now().Add(-time.Hour)
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		run(t, dir, "init", "-q", "-b", "main")
		write(t, filepath.Join(dir, "a.txt"), "alpha\n")
		write(t, filepath.Join(dir, "sub", "b.txt"), "bravo\n")
		write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\n")
		if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, ".gitignore"), "*.log\n")
		run(t, dir, "add", "-A")
		run(t, dir, "commit", "-q", "-m", "one")
		return dir
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
	}{
		{"clean", func(t *testing.T, dir string) {}},
		{"untracked and ignored files", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "new.txt"), "x")
			write(t, filepath.Join(dir, "debug.log"), "x")
		}},
		{"touched, same content", func(t *testing.T, dir string) {
			if err := os.Chtimes(filepath.Join(dir, "a.txt"), past, past); err != nil {
				t.Fatal(err)
			}
		}},
		{"rewritten, same size", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a.txt"), "ALPHA\n")
			if err := os.Chtimes(filepath.Join(dir, "a.txt"), past, past); err != nil {
				t.Fatal(err)
			}
		}},
		{"rewritten, same content", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "sub", "b.txt"), "bravo\n") }},
		{"edited", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "sub", "b.txt"), "bravo!\n") }},
		{"deleted", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "sub", "b.txt")) }},
		{"directory replaced by a file", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "sub"))
			write(t, filepath.Join(dir, "sub"), "now a file")
		}},
		{"made executable", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "a.txt"), 0o755) }},
		{"symlink retargeted", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "link"))
			os.Symlink("run.sh", filepath.Join(dir, "link"))
		}},
		{"symlink replaced by its target's content", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "link"))
			write(t, filepath.Join(dir, "link"), "a.txt")
		}},
		{"staged edit", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a.txt"), "staged\n")
			run(t, dir, "add", "a.txt")
		}},
		{"staged edit undone in the worktree only", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a.txt"), "staged\n")
			run(t, dir, "add", "a.txt")
			write(t, filepath.Join(dir, "a.txt"), "alpha\n")
		}},
		{"staged new file", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "c.txt"), "charlie\n")
			run(t, dir, "add", "c.txt")
		}},
		{"intent to add", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "c.txt"), "charlie\n")
			run(t, dir, "add", "-N", "c.txt")
		}},
		{"removed from the index only", func(t *testing.T, dir string) { run(t, dir, "rm", "-q", "--cached", "a.txt") }},
		{"committed since", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a.txt"), "two\n")
			run(t, dir, "commit", "-q", "-am", "two")
		}},
		{"merge conflict", func(t *testing.T, dir string) {
			run(t, dir, "checkout", "-q", "-b", "side")
			write(t, filepath.Join(dir, "a.txt"), "side\n")
			run(t, dir, "commit", "-q", "-am", "side")
			run(t, dir, "checkout", "-q", "main")
			write(t, filepath.Join(dir, "a.txt"), "main\n")
			run(t, dir, "commit", "-q", "-am", "main")
			cmd := exec.Command(gitBin, "-C", dir, "merge", "-q", "side")
			cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
				"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("the merge did not conflict: %s", out)
			}
		}},
		{"filemode off, made executable", func(t *testing.T, dir string) {
			run(t, dir, "config", "core.filemode", "false")
			os.Chmod(filepath.Join(dir, "a.txt"), 0o755)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := setup(t)
			tc.change(t, dir)
			cmd := exec.Command(gitBin, "-C", dir, "status", "--porcelain", "--untracked-files=no")
			cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_OPTIONAL_LOCKS=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			want := len(strings.TrimSpace(string(out))) > 0
			g, err := git.PlainOpen(dir)
			if err != nil {
				t.Fatal(err)
			}
			head, err := g.Head()
			if err != nil {
				t.Fatal(err)
			}
			got, err := trackedChanges(context.Background(), g, head.Hash())
			if err != nil || got != want {
				t.Errorf("trackedChanges = %v (%v), git status says %v:\n%s", got, err, want, out)
			}
		})
	}
}

// BenchmarkDetectRepository reads this repository's own checkout, as every
// `readiness check` does beside its checks.
func BenchmarkDetectRepository(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if r := DetectRepository(ctx, "."); r == nil || r.Unknown != "" {
			b.Fatalf("got %+v", r)
		}
	}
}
