package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// trackedChanges reports whether a tracked file differs from HEAD, in the
// index or in the working tree (untracked files do not count, as with
// `git status --untracked-files=no`).
//
// It does what git does rather than what go-git's Worktree.Status does:
// Status diffs whole merkle tries, reads every .gitignore and hashes files,
// about 100 ms of CPU for this repository and seconds for a big one, on
// every run, beside the checks. Here the index is compared with HEAD's tree
// (through git's cache-tree when it is current, else by hash and mode of
// every path), and each index entry with its file by size and
// modification time, hashing a file only when those differ or the entry
// is racy (the file changed in the second the index was written).
// Submodules are compared by the commit the index records, not entered.
func trackedChanges(ctx context.Context, g *git.Repository, head plumbing.Hash) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	idx, err := g.Storer.Index()
	if err != nil {
		return false, fmt.Errorf("read the index: %w", err)
	}
	if changed, err := indexDiffers(ctx, g, head, idx); changed || err != nil {
		return changed, err
	}
	wt, err := g.Worktree()
	if err != nil {
		return false, err
	}
	return worktreeDiffers(ctx, wt.Filesystem.Root(), idx, indexTime(g), fileModeMatters(g))
}

// indexDiffers compares the index with HEAD's tree: any path added,
// removed, or staged with other content or mode, or any merge conflict.
func indexDiffers(ctx context.Context, g *git.Repository, head plumbing.Hash, idx *index.Index) (bool, error) {
	commit, err := g.CommitObject(head)
	if err != nil {
		return false, fmt.Errorf("read HEAD's commit: %w", err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return false, fmt.Errorf("read HEAD's tree: %w", err)
	}
	for _, e := range idx.Entries {
		// Stage 0 is a merged entry (go-git's index.Merged is 1, the
		// ancestor's stage); others are sides of a conflict.
		if e.Stage != 0 || e.IntentToAdd {
			return true, nil // a conflict, or `git add -N`
		}
	}
	// git's cache-tree: the tree the whole index would be written as,
	// kept by commit and invalidated by every later change to the index.
	// When it is HEAD's tree, the index is HEAD, and no tree need be read.
	if c := idx.Cache; c != nil && len(c.Entries) > 0 {
		if root := c.Entries[0]; root.Path == "" && root.Entries == len(idx.Entries) && root.Hash == tree.Hash {
			return false, nil
		}
	}
	type blob struct {
		hash plumbing.Hash
		mode filemode.FileMode
	}
	inHead := map[string]blob{}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("walk HEAD's tree: %w", err)
		}
		if e.Mode != filemode.Dir {
			inHead[name] = blob{e.Hash, e.Mode}
		}
	}
	for _, e := range idx.Entries {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("reading it took longer than %s", statusTimeout)
		}
		h, ok := inHead[e.Name]
		if !ok || h.hash != e.Hash || h.mode != e.Mode {
			return true, nil
		}
		delete(inHead, e.Name)
	}
	return len(inHead) > 0, nil
}

// worktreeDiffers compares every index entry with its file under root.
func worktreeDiffers(ctx context.Context, root string, idx *index.Index, written time.Time, fileMode bool) (bool, error) {
	for _, e := range idx.Entries {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("reading it took longer than %s", statusTimeout)
		}
		if e.SkipWorktree || e.Mode == filemode.Submodule {
			continue
		}
		changed, err := entryDiffers(filepath.Join(root, filepath.FromSlash(e.Name)), e, written, fileMode)
		if changed || err != nil {
			return changed, err
		}
	}
	return false, nil
}

func entryDiffers(path string, e *index.Entry, written time.Time, fileMode bool) (bool, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		// deleted, or a parent directory became a file
		return true, nil
	case err != nil:
		return false, err
	}
	symlink := fi.Mode()&fs.ModeSymlink != 0
	switch {
	case symlink != (e.Mode == filemode.Symlink), !symlink && !fi.Mode().IsRegular():
		return true, nil // became another kind of file
	case !symlink && fileMode && (fi.Mode()&0o111 != 0) != (e.Mode == filemode.Executable):
		return true, nil
	}
	// Same size and time as when it was staged, and staged after it was
	// last written: unchanged, without reading it (git's stat check).
	if uint32(fi.Size()) == e.Size && fi.ModTime().Equal(e.ModifiedAt) && fi.ModTime().Before(written) {
		return false, nil
	}
	if symlink {
		target, err := os.Readlink(path)
		if err != nil {
			return false, err
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(filepath.ToSlash(target))) != e.Hash, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := plumbing.NewHasher(plumbing.BlobObject, fi.Size())
	n, err := io.Copy(h, f)
	switch {
	case err != nil:
		return false, fmt.Errorf("hash %s: %w", path, err)
	case n != fi.Size():
		return true, nil // it is being written to
	}
	return h.Sum() != e.Hash, nil
}

// indexTime is when the index was written; the zero time (every entry
// racy, so every file hashed) when it cannot be told.
func indexTime(g *git.Repository) time.Time {
	s, ok := g.Storer.(*filesystem.Storage)
	if !ok {
		return time.Time{}
	}
	fi, err := s.Filesystem().Stat("index")
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// fileModeMatters is git's core.filemode: whether a changed executable
// bit is a change. Off on Windows, which has no such bit.
func fileModeMatters(g *git.Repository) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	cfg, err := g.Config()
	if err != nil {
		return true
	}
	return cfg.Raw.Section("core").Option("filemode") != "false"
}
