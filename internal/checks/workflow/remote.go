package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/steps"
)

// RemoteWorkflow names a reusable workflow in another repository, pinned
// to the ref its caller gives: uses: owner/repo/PATH@ref.
type RemoteWorkflow struct {
	Owner, Repo, Path, Ref string
}

func (r RemoteWorkflow) String() string {
	return r.Owner + "/" + r.Repo + "/" + r.Path + "@" + r.Ref
}

// WorkflowSource reads reusable workflows of other repositories. The
// gate reads them from a local cache (DirSource); a source that asks the
// GitHub contents API for the file at the ref, with the token CI
// provides, implements the same interface.
type WorkflowSource interface {
	ReadWorkflow(ctx context.Context, r RemoteWorkflow) ([]byte, error)
}

// DirSource reads DIR/owner/repo/ref/PATH, each file bounded by MaxBytes.
type DirSource struct {
	Dir      string
	MaxBytes int64
}

// ReadWorkflow implements WorkflowSource.
func (d DirSource) ReadWorkflow(ctx context.Context, r RemoteWorkflow) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rel := path.Join(r.Owner, r.Repo, r.Ref, r.Path)
	if !fs.ValidPath(rel) {
		return nil, fmt.Errorf("%s is not a path inside the cache", rel)
	}
	f, err := os.DirFS(d.Dir).Open(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("it is not in the reusable-workflow cache (%s)", path.Join(d.Dir, rel))
		}
		return nil, err
	}
	defer f.Close()
	limit := d.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &steps.TooLargeError{Size: int64(len(data)), Limit: limit}
	}
	return data, nil
}

var (
	ghNamePartRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+$`) })
	ghRefRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_./+-]+$`) })
)

// parseRemoteWorkflow reads uses: owner/repo/.github/workflows/x.yml@ref.
func parseRemoteWorkflow(uses string) (RemoteWorkflow, bool) {
	spec, ref, ok := strings.Cut(strings.TrimSpace(uses), "@")
	if !ok || strings.Contains(uses, "${{") {
		return RemoteWorkflow{}, false
	}
	parts := strings.SplitN(spec, "/", 3)
	if len(parts) != 3 {
		return RemoteWorkflow{}, false
	}
	r := RemoteWorkflow{Owner: parts[0], Repo: parts[1], Path: parts[2], Ref: ref}
	for _, p := range []string{r.Owner, r.Repo} {
		if !ghNamePartRE().MatchString(p) || p == "." || p == ".." {
			return RemoteWorkflow{}, false
		}
	}
	if !ghRefRE().MatchString(ref) || !fs.ValidPath(ref) || !fs.ValidPath(r.Path) ||
		!(strings.HasSuffix(r.Path, ".yml") || strings.HasSuffix(r.Path, ".yaml")) {
		return RemoteWorkflow{}, false
	}
	return r, true
}

// loadRemote reads and parses a remote reusable workflow once. It returns
// nil and why when there is no source or the source cannot give it.
func (a *analysis) loadRemote(r RemoteWorkflow) (*model.Workflow, string) {
	key := "remote:" + r.String()
	if f, ok := a.files[key]; ok {
		if f.Invalid != "" {
			return nil, f.Invalid
		}
		return f, ""
	}
	if a.cfg.Reusable == nil {
		return nil, "" // not asked: the finding says what it always said
	}
	src, err := a.cfg.Reusable.ReadWorkflow(a.ctx, r)
	var f *model.Workflow
	if err != nil {
		f = &model.Workflow{Path: r.String(), Invalid: err.Error()}
	} else if f = model.ParseWorkflow(r.String(), src); f.Invalid != "" {
		f.Invalid = "cannot be analysed: " + f.Invalid
	}
	a.remoteOf[f] = &r
	a.files[key] = f
	if f.Invalid != "" {
		return nil, f.Invalid
	}
	return f, ""
}
