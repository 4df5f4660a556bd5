package evidence

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestDetectRepository(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPED: git is not installed")
	}
	ctx := context.Background()
	if r := DetectRepository(ctx, t.TempDir()); r != nil {
		t.Errorf("not a checkout: got %+v, want nil", r)
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "release")
	root, _ := filepath.EvalSymlinks(dir)
	if r := DetectRepository(ctx, dir); r == nil || r.Root != root || r.Commit != "" {
		t.Errorf("no commits yet: got %+v, want root %s only", r, root)
	}
	git("commit", "-q", "--allow-empty", "-m", "x")
	git("remote", "add", "origin", "https://user:token@example.com/acme/app.git")
	r := DetectRepository(ctx, dir)
	if r == nil || r.Root != root || len(r.Commit) != 40 || r.Branch != "release" || r.Remote != "https://example.com/acme/app.git" {
		t.Errorf("got %+v", r)
	}
}
