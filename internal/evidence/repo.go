package evidence

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// DetectRepository describes the git checkout at dir, or returns nil when it
// is not one or git is absent. It is best effort: the evidence says what it
// could learn and nothing else.
func DetectRepository(ctx context.Context, dir string) *Repository {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	git := func(args ...string) string {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	// One process for root, commit and branch; a repository without
	// commits has no HEAD, so fall back to the root alone.
	var r *Repository
	if f := strings.Split(git("rev-parse", "--show-toplevel", "HEAD", "--abbrev-ref", "HEAD"), "\n"); len(f) == 3 {
		r = &Repository{Root: f[0], Commit: f[1], Branch: f[2]}
	} else if root := git("rev-parse", "--show-toplevel"); root != "" {
		r = &Repository{Root: root}
	} else {
		return nil
	}
	if remote := git("config", "--get", "remote.origin.url"); remote != "" {
		r.Remote = redactURL(remote)
	}
	r.Dirty = git("status", "--porcelain", "--untracked-files=no") != ""
	return r
}

// redactURL drops credentials embedded in a remote URL.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}
