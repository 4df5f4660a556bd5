package evidence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/readiness-dev/readiness/internal/repo"
)

// statusTimeout bounds how long the working tree's state may take to read.
const statusTimeout = 5 * time.Second

// DetectRepository describes the git checkout at or above dir, or returns
// nil when there is none. It reads the repository with go-git, in process:
// no git binary is needed (the distroless image has none) and git's
// safe.directory ownership check, which makes the git binary refuse a
// checkout owned by another user (the usual case under `docker run -v`),
// does not apply. What cannot be read is said in Unknown, which the policy
// turns into a REPO-UNKNOWN warning: the facts never vanish silently.
func DetectRepository(ctx context.Context, dir string) *Repository {
	root, found := repo.FindRoot(dir)
	if !found {
		return nil
	}
	r := &Repository{Root: root}
	g, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		r.Unknown = fmt.Sprintf("%s holds .git but it cannot be read as a git repository: %v", root, err)
		return r
	}
	head, err := g.Head()
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		return r // no commits yet: the root is all there is
	case err != nil:
		r.Unknown = fmt.Sprintf("the HEAD of %s cannot be read: %v", root, err)
		return r
	}
	r.Commit = head.Hash().String()
	r.Branch = "HEAD" // detached, as `git rev-parse --abbrev-ref HEAD` says
	if head.Name().IsBranch() {
		r.Branch = head.Name().Short()
	}
	if rem, err := g.Remote("origin"); err == nil && len(rem.Config().URLs) > 0 {
		r.Remote = redactURL(rem.Config().URLs[0])
	}
	dirty, err := trackedChanges(ctx, g, head.Hash())
	if err != nil {
		r.Unknown = fmt.Sprintf("whether the working tree of %s has uncommitted changes is unknown: %v", root, err)
	}
	r.Dirty = dirty
	return r
}

// LocateRepository is the part of DetectRepository that names the
// checkout (its root and origin remote), without the commit or the working
// tree's state: enough for Identity, cheap enough to read before a run.
func LocateRepository(dir string) *Repository {
	root, found := repo.FindRoot(dir)
	if !found {
		return nil
	}
	r := &Repository{Root: root}
	if g, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{EnableDotGitCommonDir: true}); err == nil {
		if rem, err := g.Remote("origin"); err == nil && len(rem.Config().URLs) > 0 {
			r.Remote = redactURL(rem.Config().URLs[0])
		}
	}
	return r
}

// Identity names the repository across runs and machines: its origin
// remote without scheme, user, ".git" or the host's case (the https and
// ssh clones of one repository are one), else its root directory; "" for
// a run outside git.
func (r *Repository) Identity() string {
	if r == nil {
		return ""
	}
	if u := r.Remote; u != "" {
		if _, rest, ok := strings.Cut(u, "://"); ok {
			u = rest
		} else if host, path, ok := strings.Cut(u, ":"); ok && !strings.Contains(host, "/") {
			u = host + "/" + path // scp-like git@host:owner/name
		}
		if at := strings.LastIndex(u, "@"); at >= 0 && at < strings.IndexByte(u+"/", '/') {
			u = u[at+1:]
		}
		u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
		host, path, _ := strings.Cut(u, "/")
		return strings.ToLower(host) + "/" + path
	}
	return r.Root
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
