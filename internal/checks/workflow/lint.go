package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// lint runs actionlint's own rules on every workflow that could be read,
// in-process, with shellcheck and pyflakes off (they would be external
// processes started outside procexec). Its findings are WF-ACTIONLINT's.
func (a *analysis) lint(paths []string) error {
	proj, err := actionlint.NewProject(a.root)
	if err != nil {
		// A broken .github/actionlint.yaml: say so, and lint without it.
		a.add(book.Finding("WF-ACTIONLINT", "config", "actionlint's configuration could not be read: "+oneLine(err.Error()),
			&checks.Location{Path: ".github/actionlint.yaml"}))
		a.report.ActionlintFindings++
		proj = nil
	}
	// Color auto with a non-file writer: ColorOptionKindNever would set
	// fatih/color's package-global NoColor, racing with other checks.
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{WorkingDir: a.root, Color: actionlint.ColorOptionKindAuto})
	if err != nil {
		return fmt.Errorf("start actionlint: %w", err)
	}
	for _, p := range paths {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		f := a.files[p]
		if f == nil || f.Src == nil || strings.HasPrefix(f.Invalid, "is not valid YAML") || f.Invalid == "is empty" {
			continue // already WF-INVALID-WORKFLOW
		}
		name := p
		if proj == nil {
			name = "<stdin>" // keeps actionlint from looking for a project itself
		}
		errs, err := l.Lint(name, f.Src, proj)
		if err != nil {
			a.add(book.Finding("WF-ACTIONLINT", p+"/error", "actionlint could not check this file: "+oneLine(err.Error()),
				&checks.Location{Path: p}))
			a.report.ActionlintFindings++
			continue
		}
		sort.SliceStable(errs, func(i, j int) bool {
			if errs[i].Line != errs[j].Line {
				return errs[i].Line < errs[j].Line
			}
			return errs[i].Column < errs[j].Column
		})
		dup := map[string]bool{}
		for _, e := range errs {
			if f.Invalid != "" && e.Kind == "syntax-check" {
				continue
			}
			if k := fmt.Sprintf("%s\x00%d:%d\x00%s", e.Kind, e.Line, e.Column, e.Message); dup[k] {
				continue
			} else {
				dup[k] = true
			}
			// A waiverable ID names no line:col (an edit above the line
			// would change it and the waiver stop matching): the message's
			// digest, numbered when it repeats.
			sum := sha256.Sum256([]byte(e.Message))
			base := fmt.Sprintf("%s/%s/%s", p, e.Kind, hex.EncodeToString(sum[:4]))
			subject := base
			for n := 2; a.seen["WF-ACTIONLINT/"+subject]; n++ {
				subject = fmt.Sprintf("%s/%d", base, n)
			}
			a.add(book.Finding("WF-ACTIONLINT", subject, fmt.Sprintf("actionlint [%s]: %s", e.Kind, e.Message),
				&checks.Location{Path: p, Line: e.Line, Column: e.Column}).With(map[string]any{"kind": e.Kind}))
			a.report.ActionlintFindings++
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// invalidFinding reports a workflow file that cannot be analysed.
func invalidFinding(f *model.Workflow) checks.Finding {
	return book.Finding("WF-INVALID-WORKFLOW", f.Path, fmt.Sprintf("%s %s.", f.Path, f.Invalid),
		&checks.Location{Path: f.Path, Line: f.InvalidLine})
}

// summarise fills the report's per-workflow summary.
func (a *analysis) summarise(paths []string, called map[string][]string) {
	byPath := map[string]*WorkflowInfo{}
	var order []string
	info := func(p string) *WorkflowInfo {
		if w, ok := byPath[p]; ok {
			return w
		}
		w := &WorkflowInfo{Path: p}
		if f := a.files[p]; f != nil {
			w.Name, w.Triggers, w.Error = f.Name, f.Triggers, f.Invalid
			if f.Invalid != "" {
				w.Error = f.Path + " " + f.Invalid
			}
			for _, j := range f.Jobs {
				if lp, ok := graph.LocalWorkflowPath(j.Uses); ok && !slices.Contains(w.Calls, lp) {
					w.Calls = append(w.Calls, lp)
				} else if j.Uses != "" && !ok && !slices.Contains(w.Calls, j.Uses) {
					w.Calls = append(w.Calls, j.Uses)
				}
			}
		}
		w.CalledBy = called[p]
		byPath[p] = w
		order = append(order, p)
		return w
	}
	for _, p := range paths {
		info(p)
	}
	for _, g := range a.units {
		w := info(g.File.Path)
		w.Jobs = map[string][]string{}
		for _, j := range g.Jobs {
			if j.Leaf() {
				w.Jobs[j.Key] = append([]string{}, j.Needs...)
			}
		}
	}
	for _, s := range a.report.Signings {
		info(s.Workflow).Signing++
	}
	for _, s := range a.report.Scans {
		info(s.Workflow).Scanning++
	}
	// Reusable workflows outside the listed paths that were followed.
	for p, f := range a.files {
		if f != nil && !slices.Contains(order, p) && len(called[p]) > 0 {
			info(p)
		}
	}
	sort.Strings(order)
	for _, p := range order {
		a.report.Workflows = append(a.report.Workflows, *byPath[p])
	}
}
