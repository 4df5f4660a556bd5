package steps

import (
	"cmp"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// actionStep classifies a uses: step by the catalog.
func (a *Interpreter) actionStep(w *jobWalk, s *graph.Step, sc graph.Scope) {
	name := model.ActionName(s.Def.Uses)
	for out, prog := range programOutputs[name] {
		if s.Written == nil {
			s.Written = map[string]string{}
		}
		s.Written[out] = prog
	}
	switch {
	case knownActions[name] != nil:
		knownActions[name](a, w, s, sc)
	case wrapperActions[name] != nil:
		// A wrapper's command input is a shell script.
		for _, in := range wrapperActions[name] {
			if cmd, ok := a.with(s, sc, in); ok && cmd != "" {
				a.inlineScript(w, s, sc, cmd)
			}
		}
	case strings.HasPrefix(name, cosignInstaller):
		w.emit(w.newEvent(Hint, name, s, s.Def.Line))
	case strings.HasPrefix(name, "docker://"):
		a.dockerAction(w, s, sc, strings.TrimPrefix(name, "docker://"))
	}
}

// toolImage recognises scanner and signer container images run with
// docker run or docker:// actions.
func toolImage(img string) string {
	base := img
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	base, _, _ = strings.Cut(base, ":")
	base, _, _ = strings.Cut(base, "@")
	if toolImages[base] {
		return base
	}
	return ""
}

// inlineScript reads a step input that is a shell script.
func (a *Interpreter) inlineScript(w *jobWalk, s *graph.Step, sc graph.Scope, text string) {
	sh := shell.Parse(text, true, false)
	sc.Local = map[string]string{}
	for ci := range sh.Cmds {
		a.command(w, s, sc, &sh, ci, s.Def.Line, "", nil, 0)
	}
}

// readinessAction is this project's own action: it runs the gates, which
// block, for every platform of the images given (or the configured gates).
func (a *Interpreter) readinessAction(w *jobWalk, s *graph.Step, sc graph.Scope) {
	e := w.newEvent(Scan, "readiness-dev/readiness", s, s.Def.Line)
	e.ToolBlocking, e.AllPlatforms = true, true
	e.TKind = "gates"
	if v, ok := a.with(s, sc, "images"); ok && v != "" {
		e.Written, e.Target, e.TKind = s.Def.With["images"].V, v, "image"
	}
	w.emit(e)
}

// attestAction reads actions/attest*: an image by subject-name (and
// digest), else a blob by subject-path or subject-checksums.
func (a *Interpreter) attestAction(w *jobWalk, s *graph.Step, sc graph.Scope) {
	e := w.newEvent(Sign, model.ActionName(s.Def.Uses), s, s.Def.Line)
	subj, _ := a.with(s, sc, "subject-name")
	dig, _ := a.with(s, sc, "subject-digest")
	if subj != "" {
		e.Written = s.Def.With["subject-name"].V
		e.Target, e.TKind = subj, "image"
		if dig != "" {
			e.Target += "@" + dig
			e.Written += "@" + s.Def.With["subject-digest"].V
		}
	} else {
		in := "subject-path"
		p, _ := a.with(s, sc, in)
		if p == "" {
			in = "subject-checksums"
			p, _ = a.with(s, sc, in)
		}
		// Messages quote the input as the file writes it.
		e.Target, e.Written, e.TKind, e.Blob = p, cmp.Or(s.Def.With[in].V, p), "blob", true
	}
	w.emit(e)
}

// sigstorePythonAction signs the files named by its inputs.
func (a *Interpreter) sigstorePythonAction(w *jobWalk, s *graph.Step, sc graph.Scope) {
	e := w.newEvent(Sign, model.ActionName(s.Def.Uses), s, s.Def.Line)
	e.Target, _ = a.with(s, sc, "inputs")
	e.Written, e.TKind, e.Blob = cmp.Or(s.Def.With["inputs"].V, e.Target), "blob", true
	w.emit(e)
}

// goreleaserAction runs goreleaser with its args input.
func (a *Interpreter) goreleaserAction(w *jobWalk, s *graph.Step, sc graph.Scope) {
	args, _ := a.with(s, sc, "args")
	a.goreleaser(w, s, s.Def.Line, strings.Fields(args), "")
}

// metadataAction records docker/metadata-action, whose tags a later build
// may push (see releaseTags).
func (a *Interpreter) metadataAction(w *jobWalk, s *graph.Step, _ graph.Scope) {
	w.metas["jobs."+w.Job.Key+".steps."+s.Prefix+s.Def.ID] = s
}

// uploadAction reads an action that uploads the file named by input.
func uploadAction(input string) actionReader {
	return func(a *Interpreter, w *jobWalk, s *graph.Step, sc graph.Scope) {
		e := w.newEvent(Upload, model.ActionName(s.Def.Uses), s, s.Def.Line)
		e.Target, _ = a.with(s, sc, input)
		w.emit(e)
	}
}

// signInput reads an action that signs the image its input names.
func signInput(input string) actionReader {
	return func(a *Interpreter, w *jobWalk, s *graph.Step, sc graph.Scope) {
		e := w.newEvent(Sign, model.ActionName(s.Def.Uses), s, s.Def.Line)
		e.Target, _ = a.with(s, sc, input)
		e.Written, e.TKind = s.Def.With[input].V, "image"
		if e.Target == "" {
			e.TKind = "unknown"
		}
		w.emit(e)
	}
}

// githubScript reads actions/github-script's JavaScript.
func (a *Interpreter) githubScript(w *jobWalk, s *graph.Step, sc graph.Scope) {
	script, _ := a.with(s, sc, "script")
	a.foreignScript(w, s, sc, script, "JavaScript")
}

// dockerAction reads a docker:// step: a known tool image runs its args,
// any other image its entrypoint or args as a host command would.
func (a *Interpreter) dockerAction(w *jobWalk, s *graph.Step, sc graph.Scope, img string) {
	args, _ := a.with(s, sc, "args")
	entry, _ := a.with(s, sc, "entrypoint")
	text := ""
	switch tool := toolImage(img); {
	case entry != "":
		text = entry + " " + args
	case tool != "":
		text = tool + " " + args
	default:
		// Another image's command (args: sh -c '… cosign sign …') runs
		// like a host command.
		text = args
	}
	if strings.TrimSpace(text) != "" {
		a.inlineScript(w, s, sc, text)
	}
}
