package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/repo"
	"github.com/readiness-dev/readiness/internal/scaffold"
)

type initOptions struct {
	Dir    string
	DirSet bool // --dir was given: inspect exactly it
	Output string
	DryRun bool
	Force  bool
}

func newInitCmd(app *App) *cobra.Command {
	opts := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter readiness.yaml for this repository",
		Long: `init looks at the repository (SECURITY.md and its key, release workflows,
the test runner it uses, a Dockerfile) and writes a commented readiness.yaml
with the gates that fit, ready for ` + "`readiness check`" + `. An existing file is
never replaced unless --force is given.`,
		Example: `  readiness init --dry-run
  readiness init && readiness check`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.DirSet = c.Flags().Changed("dir")
			return app.initRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", ".", "the repository `DIR` to inspect")
	f.StringVarP(&opts.Output, "output", "o", "", "write to `FILE` (default: readiness.yaml in --dir)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the file instead of writing it")
	f.BoolVar(&opts.Force, "force", false, "replace an existing file")
	return cmd
}

func (a *App) initRun(opts *initOptions) error {
	if !opts.DirSet {
		// Run from a subdirectory, init inspects (and writes at) the
		// repository's root, where SECURITY.md and .github/ live.
		if root, ok := repo.FindRoot(opts.Dir); ok {
			opts.Dir = root
		}
	}
	plan, err := scaffold.Inspect(os.DirFS(opts.Dir))
	if err != nil {
		return fmt.Errorf("inspect %s: %w", opts.Dir, err)
	}
	data := scaffold.Render(plan, a.Now())
	if opts.DryRun {
		_, err := a.IO.Out.Write(data)
		return err
	}
	out := opts.Output
	if out == "" {
		out = filepath.Join(opts.Dir, "readiness.yaml")
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opts.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(out, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return Usagef("%s already exists; not replacing it (use --force to replace it, or --dry-run to see the proposal)", out)
	}
	if err != nil {
		return Usagef("init: %v", err)
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(a.IO.ErrOut, "readiness: wrote %s (%s); next: readiness check\n", out, scaffold.Describe(plan))
	return nil
}
