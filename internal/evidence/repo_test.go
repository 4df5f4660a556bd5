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
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// newRepo makes a checkout with go-git (no git binary needed) on branch
// release with one commit, and returns its directory and the commit.
func newRepo(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	g, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("release")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, err := g.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("README.md"); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("x", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{"https://user:token@example.com/acme/app.git"}}); err != nil {
		t.Fatal(err)
	}
	return dir, h.String()
}

func TestDetectRepository(t *testing.T) {
	ctx := context.Background()
	if r := DetectRepository(ctx, t.TempDir()); r != nil {
		t.Errorf("not a checkout: got %+v, want nil", r)
	}
	empty := t.TempDir()
	if _, err := git.PlainInit(empty, false); err != nil {
		t.Fatal(err)
	}
	if r := DetectRepository(ctx, empty); r == nil || r.Root != empty || r.Commit != "" || r.Unknown != "" {
		t.Errorf("no commits yet: got %+v, want root %s only", r, empty)
	}

	dir, commit := newRepo(t)
	want := Repository{Root: dir, Commit: commit, Branch: "release", Remote: "https://example.com/acme/app.git"}
	if err := os.MkdirAll(filepath.Join(dir, "cmd", "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{dir, filepath.Join(dir, "cmd", "app")} {
		if r := DetectRepository(ctx, from); r == nil || *r != want {
			t.Errorf("from %s: got %+v, want %+v", from, r, want)
		}
	}
	// An untracked file is not a change; an edited tracked one is.
	if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := DetectRepository(ctx, dir); r == nil || r.Dirty {
		t.Errorf("untracked file only: got %+v, want clean", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := DetectRepository(ctx, dir); r == nil || !r.Dirty {
		t.Errorf("edited tracked file: got %+v, want dirty", r)
	}
}

// TestDetectRepositoryWithoutGit: in the distroless image there is no git
// binary; the facts are still read (they vanished before, silently).
func TestDetectRepositoryWithoutGit(t *testing.T) {
	dir, commit := newRepo(t)
	t.Setenv("PATH", t.TempDir())
	if _, err := exec.LookPath("git"); err == nil {
		t.Fatal("git is still on PATH")
	}
	if r := DetectRepository(context.Background(), dir); r == nil || r.Commit != commit || r.Unknown != "" {
		t.Errorf("got %+v, want commit %s", r, commit)
	}
}

// TestDetectRepositoryDubiousOwnership: a checkout owned by another user,
// as under `docker run -v`, which the git binary refuses ("detected
// dubious ownership") unless safe.directory lists it. Needs root to chown.
func TestDetectRepositoryDubiousOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to give the checkout to another uid (run the suite as root, as .ci/run does in its container, to cover git's dubious-ownership refusal)")
	}
	dir, commit := newRepo(t)
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, 0, 0) })
	})
	// Prove the scenario: the git binary, where present, refuses it.
	if _, err := exec.LookPath("git"); err == nil {
		cmd := exec.Command("git", "-C", dir, "rev-parse", "HEAD")
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "dubious ownership") {
			t.Fatalf("git did not refuse the checkout owned by another uid (%v): %s", err, out)
		}
	}
	if r := DetectRepository(context.Background(), dir); r == nil || r.Commit != commit || r.Branch != "release" || r.Unknown != "" {
		t.Errorf("got %+v, want commit %s on release", r, commit)
	}
}

// TestDetectRepositoryUnreadable: a .git that cannot be read is said, for
// the policy's REPO-UNKNOWN warning, never dropped.
func TestDetectRepositoryUnreadable(t *testing.T) {
	for name, setup := range map[string]func(dir string) error{
		"gitdir file pointing nowhere": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, ".git"), []byte("gitdir: /nonexistent/worktrees/x\n"), 0o644)
		},
		"HEAD naming a missing object": func(dir string) error {
			if _, err := git.PlainInit(dir, false); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("0123456789abcdef0123456789abcdef01234567\n"), 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := setup(dir); err != nil {
				t.Fatal(err)
			}
			r := DetectRepository(context.Background(), dir)
			if r == nil || r.Root != dir || r.Unknown == "" {
				t.Errorf("got %+v, want the root and what could not be read", r)
			}
		})
	}
}

// TestDetectRepositoryLinkedWorktree: `git worktree add` checkouts hold a
// .git file and share the main repository's objects.
func TestDetectRepositoryLinkedWorktree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		need.Skip(t, "git is needed to make a linked worktree")
	}
	dir, commit := newRepo(t)
	wt := filepath.Join(t.TempDir(), "wt")
	cmd := exec.Command("git", "-C", dir, "worktree", "add", "-q", "-b", "feature", wt)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git worktree add: %v\n%s", err, out)
	}
	if r := DetectRepository(context.Background(), wt); r == nil || r.Root != wt || r.Commit != commit || r.Branch != "feature" || r.Unknown != "" {
		t.Errorf("got %+v, want %s at %s on feature", r, wt, commit)
	}
}

// Identity names one repository however it was cloned, and tells two
// repositories apart (check --compare refuses another's evidence).
func TestRepositoryIdentity(t *testing.T) {
	for _, tc := range []struct {
		repo *Repository
		want string
	}{
		{nil, ""},
		{&Repository{Root: "/src/app"}, "/src/app"},
		{&Repository{Root: "/src/app", Remote: "https://github.com/acme/app.git"}, "github.com/acme/app"},
		{&Repository{Remote: "git@github.com:acme/app.git"}, "github.com/acme/app"},
		{&Repository{Remote: "ssh://git@GitHub.com/acme/app/"}, "github.com/acme/app"},
		{&Repository{Remote: "https://token@github.com/acme/app"}, "github.com/acme/app"},
		{&Repository{Remote: "https://github.com/acme/App"}, "github.com/acme/App"},
		{&Repository{Remote: "https://github.com/acme/app-fork"}, "github.com/acme/app-fork"},
	} {
		if got := tc.repo.Identity(); got != tc.want {
			t.Errorf("%+v: identity %q, want %q", tc.repo, got, tc.want)
		}
	}
}
