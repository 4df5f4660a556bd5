package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/report"
)

// RenderOptions is the flag group every verdict-printing command shares:
// -o FORMAT[=FILE], repeatable, as grype's; --format names the format of a
// bare -o FILE and of standard output when no -o is given.
type RenderOptions struct {
	Format  string
	Outputs []string
	// Seal (set by the command, not a flag), when set, signs every json output (the evidence document) as
	// a DSSE envelope (check --sign-evidence).
	Seal func(doc *evidence.Document, data []byte) ([]byte, error)
	// Previous (set by the command: check --compare) is an earlier run's
	// evidence the human formats compare blockers with.
	Previous *evidence.Document
}

// output is one rendering of the judged document; Path "" is stdout.
type output struct {
	Format string
	Path   string
}

// AddFlags registers --format and --output.
func (o *RenderOptions) AddFlags(cmd *cobra.Command) {
	formats := strings.Join(report.Formats, ", ")
	cmd.Flags().StringVarP(&o.Format, "format", "f", "text", "format of standard output and of a bare -o FILE: "+formats)
	cmd.Flags().StringArrayVarP(&o.Outputs, "output", "o", nil, "write a report: `FORMAT[=FILE]` ("+formats+"; FILE - is stdout), repeatable; a bare FILE takes --format")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(report.Formats, cobra.ShellCompDirectiveNoFileComp))
}

// Validate parses the outputs and rejects an unknown format, two reports on
// stdout or in one file, and a file that cannot be written, before any
// check runs: nothing is lost at the end of a long run.
func (o *RenderOptions) Validate() error {
	outs, err := o.outputs()
	if err != nil {
		return err
	}
	for _, out := range outs {
		if out.Path != "" {
			if err := writable(out.Path); err != nil {
				return err
			}
		}
	}
	return nil
}

// outputs parses the -o values; with none, --format goes to stdout.
func (o *RenderOptions) outputs() ([]output, error) {
	if !slices.Contains(report.Formats, o.Format) {
		return nil, Usagef("unknown --format %q; use one of %s", o.Format, strings.Join(report.Formats, ", "))
	}
	var outs []output
	for _, v := range o.Outputs {
		out, err := parseOutput(v, o.Format)
		if err != nil {
			return nil, err
		}
		for _, prev := range outs {
			if prev.Path == out.Path {
				where := "standard output"
				if out.Path != "" {
					where = out.Path
				}
				return nil, Usagef("-o %s: %s already receives the %s report; give each report its own file", v, where, prev.Format)
			}
		}
		outs = append(outs, out)
	}
	if len(outs) == 0 {
		outs = []output{{Format: o.Format}}
	}
	return outs, nil
}

// parseOutput reads FORMAT, FORMAT=FILE, or (as before -o took a format) a
// bare FILE in the --format format. "-" is standard output.
func parseOutput(v, format string) (output, error) {
	name, path, hasPath := strings.Cut(v, "=")
	switch {
	case hasPath && !slices.Contains(report.Formats, name):
		return output{}, Usagef("-o %s: unknown format %q; use one of %s", v, name, strings.Join(report.Formats, ", "))
	case hasPath && path == "":
		return output{}, Usagef("-o %s: name a file after =, or - for standard output", v)
	case hasPath:
		format = name
	case slices.Contains(report.Formats, v):
		return output{Format: v}, nil
	default:
		path = v
	}
	if path == "-" {
		path = ""
	}
	return output{Format: format, Path: path}, nil
}

// writable proves that path can be written, without truncating it and
// without leaving a new file behind.
func writable(path string) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return Usagef("--output %s: directory %s does not exist", path, dir)
	} else if !st.IsDir() {
		return Usagef("--output %s cannot be written: %s is a file, not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return Usagef("--output %s is a directory; name a file", path)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return Usagef("--output %s cannot be written: %v", path, UnwrapFSError(err))
	}
	f.Close()
	if errors.Is(statErr, fs.ErrNotExist) {
		os.Remove(path)
	}
	return nil
}

// RefuseInputs refuses to write a report over a file the run reads (the
// configuration, a policy, the evidence being re-judged): the report would
// destroy its own input.
func (o *RenderOptions) RefuseInputs(inputs []string) error {
	outs, err := o.outputs()
	if err != nil {
		return err
	}
	for _, out := range outs {
		if out.Path == "" {
			continue
		}
		abs, _ := filepath.Abs(out.Path)
		ost, oerr := os.Stat(out.Path)
		for _, in := range inputs {
			inAbs, _ := filepath.Abs(in)
			ist, ierr := os.Stat(in)
			same := abs == inAbs || (oerr == nil && ierr == nil && os.SameFile(ost, ist))
			inside := ierr == nil && ist.IsDir() && strings.HasPrefix(abs, inAbs+string(filepath.Separator))
			if same || inside {
				return Usagef("--output %s would overwrite %s, which this run reads; write the report elsewhere", out.Path, in)
			}
		}
	}
	return nil
}

// StdoutFormat is the format written to stdout, "" when none is.
func (o *RenderOptions) StdoutFormat() string {
	outs, _ := o.outputs()
	for _, out := range outs {
		if out.Path == "" {
			return out.Format
		}
	}
	return ""
}

// Render writes every requested report of doc, and the markdown job
// summary under GitHub Actions.
func (a *App) Render(doc *evidence.Document, ro RenderOptions) error {
	return a.RenderReleased(doc, ro, nil)
}

// RenderReleased is render for `image release`, which also knows what it
// signed and attested (shown in the HTML report's chain).
func (a *App) RenderReleased(doc *evidence.Document, ro RenderOptions, releases map[string]report.Release) error {
	outs, err := ro.outputs()
	if err != nil {
		return err
	}
	rules := a.rules()
	for _, out := range outs {
		opts := report.Options{Color: out.Path == "" && out.Format == "text" && a.IO.ColorOut(), Rules: rules, Releases: releases, Previous: ro.Previous}
		if err := writeReport(a.IO.Out, out, doc, opts, ro.Seal); err != nil {
			return err
		}
	}
	if f := ro.StdoutFormat(); f != "text" && f != "github" {
		// Still tell the person at the terminal what was decided; the
		// text and github formats end with the verdict already (CI logs
		// merge both streams, so it would be printed twice).
		fmt.Fprintln(a.IO.ErrOut, report.VerdictLine(doc))
	}
	if p := a.IO.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		opts := report.Options{Rules: rules, Previous: ro.Previous}
		if err := appendFile(p, func(w io.Writer) error { return report.Write(w, "markdown", doc, opts) }); err != nil {
			fmt.Fprintf(a.IO.ErrOut, "readiness: warning: could not append to GITHUB_STEP_SUMMARY: %v\n", err)
		}
	}
	return nil
}

func writeReport(stdout io.Writer, out output, doc *evidence.Document, opts report.Options, seal func(*evidence.Document, []byte) ([]byte, error)) error {
	w := stdout
	var f *os.File
	if out.Path != "" {
		var err error
		if f, err = os.Create(out.Path); err != nil {
			return Usagef("--output: %v", err)
		}
		w = f
	}
	var err error
	if out.Format == "json" && seal != nil {
		var buf bytes.Buffer
		var env []byte
		if err = report.Write(&buf, out.Format, doc, opts); err == nil {
			if env, err = seal(doc, buf.Bytes()); err == nil {
				_, err = w.Write(env)
			}
		}
	} else {
		err = report.Write(w, out.Format, doc, opts)
	}
	if f != nil {
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		return fmt.Errorf("write %s report: %w", out.Format, err)
	}
	return nil
}
