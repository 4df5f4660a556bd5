package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// WorkflowSource reads reusable workflows of other repositories, pinned
// to the ref: from a local cache (DirSource), the GitHub contents API
// (GitHubSource), or the first of several that has it (Sources). It
// returns the file and where it was read from (for the evidence); an
// error's text is why it could not be read.
type WorkflowSource interface {
	ReadWorkflow(ctx context.Context, r RemoteWorkflow) (data []byte, from string, err error)
}

// errNotInSource marks a source that does not hold the file (a cache
// miss), so that Sources asks the next one.
var errNotInSource = errors.New("not in this source")

// Sources reads from the first source that holds the file: a cache
// before the API. Any failure other than a miss stops there, so that a
// broken cache entry is reported, not papered over.
type Sources []WorkflowSource

// ReadWorkflow implements WorkflowSource.
func (ss Sources) ReadWorkflow(ctx context.Context, r RemoteWorkflow) ([]byte, string, error) {
	var misses []string
	for _, s := range ss {
		data, from, err := s.ReadWorkflow(ctx, r)
		if err == nil || !errors.Is(err, errNotInSource) {
			if err != nil && len(misses) > 0 {
				err = fmt.Errorf("%s; %w", strings.Join(misses, "; "), err)
			}
			return data, from, err
		}
		misses = append(misses, err.Error())
	}
	if len(misses) == 0 {
		return nil, "", errors.New("no reusable-workflow source is configured")
	}
	return nil, "", errors.New(strings.Join(misses, "; "))
}

type missError struct{ msg string }

func (e *missError) Error() string        { return e.msg }
func (e *missError) Is(target error) bool { return target == errNotInSource }

// DirSource reads DIR/owner/repo/ref/PATH, each file bounded by MaxBytes.
type DirSource struct {
	Dir      string
	MaxBytes int64
}

// ReadWorkflow implements WorkflowSource.
func (d DirSource) ReadWorkflow(ctx context.Context, r RemoteWorkflow) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	rel := path.Join(r.Owner, r.Repo, r.Ref, r.Path)
	if !fs.ValidPath(rel) {
		return nil, "", fmt.Errorf("%s is not a path inside the cache", rel)
	}
	// Where in the cache, not where the cache is: the evidence stays the
	// same on every machine.
	from := "reusable_cache " + rel
	f, err := os.DirFS(d.Dir).Open(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, from, &missError{fmt.Sprintf("it is not in the reusable-workflow cache (%s)", path.Join(d.Dir, rel))}
		}
		return nil, from, err
	}
	defer f.Close()
	limit := d.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, from, err
	}
	if int64(len(data)) > limit {
		return nil, from, &steps.TooLargeError{Size: int64(len(data)), Limit: limit}
	}
	return data, from, nil
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
	src, from, err := a.cfg.Reusable.ReadWorkflow(a.ctx, r)
	var f *model.Workflow
	if err != nil {
		f = &model.Workflow{Path: r.String(), Invalid: err.Error()}
	} else if f = model.ParseWorkflow(r.String(), src); f.Invalid != "" {
		f.Invalid = "cannot be analysed: " + f.Invalid
	}
	a.report.Remote = append(a.report.Remote, remoteRead(r, from, src, f.Invalid))
	a.remoteOf[f] = &r
	a.files[key] = f
	if f.Invalid != "" {
		return nil, f.Invalid
	}
	return f, ""
}

// RemoteRead is what the gate read (or failed to read) of a remote
// reusable workflow: the evidence a reviewer needs to see which file, at
// which ref, was judged — and whether that ref could move.
type RemoteRead struct {
	Uses string `json:"uses"`
	Ref  string `json:"ref"`
	// Pinned is true for a full commit SHA; a tag or branch is mutable:
	// what was judged need not be what runs.
	Pinned bool   `json:"pinned"`
	From   string `json:"from,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Bytes  int    `json:"bytes,omitempty"`
	Error  string `json:"error,omitempty"`
}

var commitSHARE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{40}$`) })

func remoteRead(r RemoteWorkflow, from string, data []byte, invalid string) RemoteRead {
	rr := RemoteRead{Uses: r.String(), Ref: r.Ref, Pinned: commitSHARE().MatchString(r.Ref), From: from, Error: invalid}
	if data != nil {
		sum := sha256.Sum256(data)
		rr.SHA256, rr.Bytes = hex.EncodeToString(sum[:]), len(data)
	}
	return rr
}

func remoteFacts(reads []RemoteRead) []any {
	out := make([]any, 0, len(reads))
	for _, r := range reads {
		m := map[string]any{"uses": r.Uses, "ref": r.Ref, "pinned": r.Pinned}
		if !r.Pinned {
			m["mutable_ref"] = true
		}
		for k, v := range map[string]string{"from": r.From, "sha256": r.SHA256, "error": r.Error} {
			if v != "" {
				m[k] = v
			}
		}
		if r.Bytes > 0 {
			m["bytes"] = r.Bytes
		}
		out = append(out, m)
	}
	return out
}
