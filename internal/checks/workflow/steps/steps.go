// Package steps is the step interpreter of the workflow gate: it walks the
// steps of every job of a workflow graph — run: scripts and the scripts,
// eval strings and build-tool targets they lead to, and uses: actions by
// the catalog of known actions (catalog.go) — and returns, per job and in
// order, the events the judge needs: what signs, scans, pushes, builds or
// uploads, with the facts about each (target, the scanner's own blocking
// settings). It judges nothing; what it cannot follow it reports as a
// graph.Note, or, where the job can sign, as a may-sign event (fail
// closed).
package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// Limits on what is followed, so that a cycle or a pathological repository
// cannot make the interpretation unbounded.
const (
	maxCompDepth   = 10
	maxScriptDepth = 4
)

// Interpreter walks the steps of workflow graphs of one repository; it
// caches what it reads (actions, scripts, tool configurations, ignore
// files) across the graphs.
type Interpreter struct {
	// ctx bounds what the interpreter evaluates (ignore policies); an
	// Interpreter lives for one analysis, under its context.
	ctx     context.Context
	repo    Repo
	note    func(graph.Note)
	actions map[string]*actionLoad
	scripts map[string]*scriptLoad
	configs map[string]map[string]any
	// ignores caches the judgement of ignore policies, files and VEX
	// documents by kind and path ("" when they ignore nothing wholesale).
	ignores map[string]string
}

type actionLoad struct {
	c   *model.Action
	err error
}

type scriptLoad struct {
	sc  shell.Script
	err error
}

// New returns an interpreter reading the repository repo; note receives
// what it cannot follow.
func New(ctx context.Context, repo Repo, note func(graph.Note)) *Interpreter {
	return &Interpreter{ctx: ctx, repo: repo, note: note, actions: map[string]*actionLoad{}, scripts: map[string]*scriptLoad{},
		configs: map[string]map[string]any{}, ignores: map[string]string{}}
}

func (a *Interpreter) readFile(rel string) ([]byte, error) { return a.repo.ReadFile(rel) }

// Repo is the repository a workflow runs in, read file by file.
type Repo struct {
	FS fs.FS
	// MaxBytes bounds each file read.
	MaxBytes int64
}

// ReadFile reads a repository file (a slash path relative to the root)
// under the size limit.
func (r Repo) ReadFile(rel string) ([]byte, error) {
	rel = path.Clean(rel)
	if !fs.ValidPath(rel) {
		return nil, fmt.Errorf("%s is outside the repository", rel)
	}
	f, err := r.FS.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", rel)
	}
	if st.Size() > r.MaxBytes {
		return nil, &TooLargeError{Size: st.Size(), Limit: r.MaxBytes}
	}
	// Read one byte past the limit: a file that grew since Stat is still bounded.
	data, err := io.ReadAll(io.LimitReader(f, r.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > r.MaxBytes {
		return nil, &TooLargeError{Size: int64(len(data)), Limit: r.MaxBytes}
	}
	return data, nil
}

// TooLargeError is a file over the size limit.
type TooLargeError struct{ Size, Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("is %d bytes, over the %d-byte limit (max_file_bytes)", e.Size, e.Limit)
}

// UnwrapPathError drops the path fs adds to an error, for messages that
// name the file themselves.
func UnwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
