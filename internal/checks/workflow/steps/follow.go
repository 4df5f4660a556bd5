package steps

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks/workflow/buildtool"
	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// This file follows what a command runs indirectly — a script in the
// repository, eval and bash -c strings, here-documents fed to a shell,
// build-tool targets — and fails closed where that cannot be seen: in a
// job that can sign, a command whose effect is not visible counts as
// signing.

// followScript parses a script in the repository that a step runs; argv
// become its positional parameters, and env (the command's own prefix,
// `CONTROLLER_GEN=… ./hack/gen.sh`) its environment beside the job's.
func (a *Interpreter) followScript(w *jobWalk, s *graph.Step, sc graph.Scope, p string, argv []string, env map[string]string, line int, chain []shPos, depth int, mk func(Kind, string) *Event) {
	why := ""
	rel := path.Clean(path.Join(cwd(s, sc), p))
	switch {
	case depth >= maxScriptDepth:
		why = fmt.Sprintf("scripts nest deeper than %d", maxScriptDepth)
	case strings.ContainsAny(p, "$`") || strings.Contains(p, "${{"):
		why = "its path is not visible"
	case path.IsAbs(p) || strings.HasPrefix(rel, ".."):
		why = "it is outside the repository"
	}
	if why != "" {
		a.mayBeSigning(w, s, mk, p, "the script "+p+", which was not read: "+why)
		return
	}
	l, ok := a.scripts[rel]
	if !ok {
		l = &scriptLoad{}
		src, err := a.readFile(rel)
		if err != nil {
			l.err = err
		} else {
			// A script is its own process: errexit only if its #! line
			// or a set -e says so.
			errexit, pipefail := shebangOptions(string(src))
			l.sc = shell.Parse(string(src), errexit, pipefail)
		}
		a.scripts[rel] = l
	}
	if l.err != nil {
		a.mayBeSigning(w, s, mk, p, "the script "+rel+", which cannot be read ("+UnwrapPathError(l.err).Error()+")")
		return
	}
	if l.sc.Err != nil {
		a.mayBeSigning(w, s, mk, p, "the script "+rel+", which does not parse as a shell script ("+l.sc.Err.Error()+")")
	}
	inner := sc
	inner.Local = maps.Clone(env)
	if inner.Local == nil {
		inner.Local = map[string]string{}
	}
	for i, v := range argv {
		inner.Local[fmt.Sprint(i+1)] = v
	}
	for ci := range l.sc.Cmds {
		a.command(w, s, inner, &l.sc, ci, line, fmt.Sprintf("%s:%d", rel, l.sc.Cmds[ci].Line+1), chain, depth+1)
	}
}

// shebangOptions reads errexit/pipefail from a script's #! line.
func shebangOptions(src string) (bool, bool) {
	first, _, _ := strings.Cut(src, "\n")
	rest, ok := strings.CutPrefix(first, "#!")
	if !ok {
		return false, false
	}
	f := strings.Fields(rest)
	if len(f) > 1 && path.Base(f[0]) == "env" {
		f = f[1:]
	}
	if len(f) < 2 {
		return false, false
	}
	return shell.ApplySet(f[1:], false, false)
}

// subCall is a script handed to a shell as a string.
type subCall struct {
	text              string
	errexit, pipefail bool
	line              int
	script            string
	chain             []shPos
	depth             int
	what              string
	mk                func(Kind, string) *Event
}

// subScript parses an eval / bash -c / here-document string and
// classifies its commands.
func (a *Interpreter) subScript(w *jobWalk, s *graph.Step, sc graph.Scope, x subCall) {
	if x.depth >= maxScriptDepth {
		a.mayBeSigning(w, s, x.mk, x.what, x.what+" nested deeper than "+fmt.Sprint(maxScriptDepth))
		return
	}
	sub := shell.Parse(x.text, x.errexit, x.pipefail)
	if sub.Err != nil {
		a.mayBeSigning(w, s, x.mk, x.what, x.what+" of a string that does not parse ("+sub.Err.Error()+")")
	}
	for k := range sub.Cmds {
		a.command(w, s, sc, &sub, k, x.line, x.script, x.chain, x.depth+1)
	}
}

// stdinScript reads what a shell without a script argument runs: a
// here-document, a here-string, or the output of echo/printf piped in.
func (a *Interpreter) stdinScript(w *jobWalk, s *graph.Step, sh *shell.Script, ci int, sub func(text, what string), mk func(Kind, string) *Event) {
	c := sh.Cmds[ci]
	for _, r := range c.Redirs {
		switch r.Op {
		case "<<", "<<-":
			sub(r.Heredoc, "a here-document fed to "+c.Words[0])
			return
		case "<<<":
			sub(r.Target, "a here-string fed to "+c.Words[0])
			return
		case "<":
			a.mayBeSigning(w, s, mk, c.Words[0]+" < "+r.Target, "a shell reading its script from "+r.Target)
			return
		}
	}
	if c.Pipe > 0 && ci > 0 {
		prev := sh.Cmds[ci-1]
		if len(prev.Words) > 1 && (prev.Words[0] == "echo" || prev.Words[0] == "printf") {
			sub(strings.Join(prev.Words[1:], " "), "a script piped into "+c.Words[0])
			return
		}
		if installerPipe(prev.Words, c.Words[1:]) {
			return
		}
		a.mayBeSigning(w, s, mk, strings.Join(firstN(prev.Words, 3), " ")+" | "+c.Words[0],
			"a script piped into "+c.Words[0]+" from a command whose output is not visible")
	}
}

func firstN(ws []string, n int) []string { return ws[:min(n, len(ws))] }

// signCapable says why the job can sign, or "" when nothing shows it
// can: cosign installed earlier, id-token: write (keyless signing), or
// signing keys in the step's environment.
func (a *Interpreter) signCapable(w *jobWalk, s *graph.Step) string {
	for _, e := range w.events {
		if e.Kind == Hint {
			return fmt.Sprintf("the job installs cosign (%s at %s:%d)", e.Tool, e.Path, e.Line)
		}
	}
	if c := idTokenCapability(w.Job); c != "" {
		return c
	}
	envs := append([]model.Env{}, s.Envs...)
	envs = append(envs, w.Dyn, w.Job.Def.Env, w.Job.File.Env)
	for _, e := range envs {
		for _, k := range slices.Sorted(maps.Keys(e)) {
			lk, lv := strings.ToLower(k), strings.ToLower(e[k])
			if strings.HasPrefix(lk, "cosign_") || strings.Contains(lv, "cosign") || strings.Contains(lk, "signing_key") ||
				strings.Contains(lv, "signing_key") || strings.HasPrefix(lk, "sigstore_") {
				return fmt.Sprintf("the step has signing credentials in its environment (%s)", k)
			}
		}
	}
	return ""
}

// idTokenCapability says why a job can sign keyless where signing is
// plausible. id-token: write is mostly cloud logins (AWS, GCP, Azure) in
// test and deploy jobs: it counts only where the job builds, pushes or
// publishes an image or artifact.
func idTokenCapability(job *graph.Job) string {
	pub := jobPublishes(job)
	if pub == "" {
		return ""
	}
	for j := job; j != nil; j = j.Parent {
		if j.Def.IDToken != nil {
			if *j.Def.IDToken {
				return "the job has id-token: write, so it can sign keyless, and signing is plausible there (" + pub + ")"
			}
			return ""
		}
		if j.File.IDToken {
			return "the workflow grants id-token: write, so the job can sign keyless, and signing is plausible there (" + pub + ")"
		}
	}
	return ""
}

var (
	releaseNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)release|publish|sign|attest`) })
	publishUsesRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)^(docker/(build-push|login)-action|goreleaser/goreleaser-action|ko-build/setup-ko|sigstore/cosign-installer|notaryproject/|anchore/sbom-action|actions/attest|softprops/action-gh-release|pypa/gh-action-pypi-publish|redhat-actions/(push-to-registry|buildah-build))`)
	})
	publishRunRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\b((docker|podman|nerdctl)\s+(buildx\s+)?(build|push|bake)|buildah\s+(bud|push)|ko\s+(build|publish|resolve|apply)|goreleaser|cosign|notation|skopeo|crane\s+(push|copy|append|mutate)|npm\s+publish|twine\s+upload|gh\s+release|jib)\b`)
	})
)

// resolvedWords splits a resolved word into the words it holds; one that
// still holds an unresolved ${{ }} expression stays whole.
func resolvedWords(r string) []string {
	if strings.Contains(r, "${{") {
		return []string{r}
	}
	return strings.Fields(r)
}

// jobPublishes names what makes signing plausible in a job: it builds,
// pushes or publishes something a signature could be for (an action or a
// command among its steps), it is named for releasing, or its workflow
// runs on release; "" when nothing does.
func jobPublishes(j *graph.Job) string {
	if releaseNameRE().MatchString(j.Def.ID) || releaseNameRE().MatchString(j.Def.Name) {
		return "the job is named for releasing"
	}
	if slices.Contains(j.File.Triggers, "release") {
		return "the workflow runs on release"
	}
	for _, st := range j.Def.Steps {
		if st.Uses != "" && publishUsesRE().MatchString(model.ActionName(st.Uses)) {
			return "it uses " + model.ActionName(st.Uses)
		}
		if m := publishRunRE().FindString(st.Run); m != "" {
			return "it runs " + m
		}
	}
	return ""
}

// mayBeSigning fails closed on a command whose effect is not visible:
// in a job that can sign, it counts as a signing step of an unknown
// target.
func (a *Interpreter) mayBeSigning(w *jobWalk, s *graph.Step, mk func(Kind, string) *Event, tool, why string) {
	capable := a.signCapable(w, s)
	if capable == "" {
		return
	}
	e := mk(Sign, tool)
	e.TKind = "unknown"
	e.MaySign = why + "; it counts as signing because " + capable
	w.emit(e)
}

// toolCall is where a build-tool command sits.
type toolCall struct {
	line    int
	script  string
	chain   []shPos
	depth   int
	errexit bool
	mk      func(Kind, string) *Event
}

// buildTool follows make, task, just and npm/yarn/pnpm run into the
// repository's build files and classifies the lines the target runs.
func (a *Interpreter) buildTool(w *jobWalk, s *graph.Step, sc graph.Scope, name string, args []string, res func(string) string, x toolCall) {
	dir := cwd(s, sc)
	var (
		lines  []buildtool.Line
		found  bool
		target string
		err    error
		ignore bool
	)
	switch name {
	case "make", "gmake":
		lines, found, target, ignore, err = a.makeLines(&dir, args, res)
	case "task", "go-task":
		lines, found, target, err = a.taskLines(&dir, args, res)
	case "just":
		lines, found, target, err = a.justLines(dir, args, res)
	default:
		var ok bool
		target, ok = runScriptName(name, args)
		if !ok {
			return // npm ci, yarn install, …: not a script of the repository
		}
		file := path.Join(dir, "package.json")
		var src []byte
		if src, err = a.readFile(file); err == nil {
			lines, found, err = buildtool.PackageScripts(file, src, res(target))
		}
	}
	what := strings.TrimSpace(name + " " + target)
	switch {
	case err != nil:
		a.mayBeSigning(w, s, x.mk, what, what+", whose build file cannot be read ("+UnwrapPathError(err).Error()+")")
		return
	case !found:
		a.mayBeSigning(w, s, x.mk, what, what+", a target that is not in the repository's build file")
		return
	case x.depth >= maxScriptDepth:
		a.mayBeSigning(w, s, x.mk, what, what+", nested deeper than "+fmt.Sprint(maxScriptDepth))
		return
	}
	// The lines run where the tool runs them (make -C DIR, task --dir).
	lineScope := sc
	lineScope.Dir = dir
	for _, l := range lines {
		// Each line is its own shell (sh -c LINE); the tool stops on a
		// failing line unless told to ignore it.
		sub := shell.Parse(l.Text, false, false)
		if sub.Err != nil {
			a.mayBeSigning(w, s, x.mk, what, fmt.Sprintf("%s, whose line %s:%d does not parse (%s)", what, l.File, l.Line, sub.Err))
		}
		chain := append([]shPos(nil), x.chain...)
		if l.IgnoreErr || ignore {
			chain = append(chain, shPos{why: fmt.Sprintf("%s ignores the failure of %s:%d (- prefix, -i/-k or ignore_error)", name, l.File, l.Line)})
		}
		for k := range sub.Cmds {
			a.command(w, s, lineScope, &sub, k, x.line, fmt.Sprintf("%s:%d", l.File, l.Line), chain, x.depth+1)
		}
	}
}

// runScriptName recognises `npm run X`, `npm run-script X`, `yarn X`,
// `yarn run X`, `pnpm X`, `bun run X`, and npm's own lifecycle scripts.
func runScriptName(tool string, args []string) (string, bool) {
	var pos []string
	for _, x := range args {
		if !strings.HasPrefix(x, "-") {
			pos = append(pos, x)
		}
	}
	if len(pos) == 0 {
		return "", false
	}
	switch pos[0] {
	case "run", "run-script":
		if len(pos) > 1 {
			return pos[1], true
		}
		return "", false
	case "publish", "test", "start", "stop", "restart":
		return pos[0], tool == "npm" || tool == "yarn" || tool == "pnpm"
	case "install", "ci", "add", "i", "exec", "x", "dlx", "init", "create", "config", "set", "version", "audit", "why", "link":
		return "", false
	}
	if tool == "yarn" || tool == "pnpm" {
		return pos[0], true
	}
	return "", false
}

// makeLines reads `make [-C dir] [-f file] [VAR=x] [targets]`.
func (a *Interpreter) makeLines(dirp *string, args []string, res func(string) string) ([]buildtool.Line, bool, string, bool, error) {
	dir := *dirp
	defer func() { *dirp = dir }()
	file := ""
	var targets []string
	vars := map[string]string{}
	ignore := false
	for i := 0; i < len(args); i++ {
		x := args[i]
		val := func() string {
			if i+1 < len(args) {
				i++
				return res(args[i])
			}
			return ""
		}
		switch {
		case x == "-C" || x == "--directory":
			dir = path.Join(dir, val())
		case strings.HasPrefix(x, "--directory="):
			dir = path.Join(dir, res(strings.TrimPrefix(x, "--directory=")))
		case strings.HasPrefix(x, "-C") && len(x) > 2:
			dir = path.Join(dir, res(x[2:]))
		case x == "-f" || x == "--file" || x == "--makefile":
			file = val()
		case strings.HasPrefix(x, "--file=") || strings.HasPrefix(x, "--makefile="):
			_, file, _ = strings.Cut(x, "=")
			file = res(file)
		case x == "-j" || x == "-l" || x == "-o" || x == "-W" || x == "-I":
			val()
		case x == "-i" || x == "-k" || x == "--ignore-errors" || x == "--keep-going":
			ignore = true
		case strings.HasPrefix(x, "-"):
		case strings.Contains(x, "="):
			k, v, _ := strings.Cut(x, "=")
			vars[k] = res(v)
		default:
			// make test ${{ matrix.args }} with "RACE=0 V=1": variables.
			for _, t := range resolvedWords(res(x)) {
				if k, v, ok := strings.Cut(t, "="); ok {
					vars[k] = v
				} else {
					targets = append(targets, t)
				}
			}
		}
	}
	var m *buildtool.Makefile
	var err error
	if file != "" {
		m, err = buildtool.ParseMakefile(path.Join(dir, file), a.readFile)
	} else {
		for _, n := range []string{"GNUmakefile", "makefile", "Makefile"} {
			m, err = buildtool.ParseMakefile(path.Join(dir, n), a.readFile)
			if err == nil || !isNotExist(err) {
				break
			}
		}
	}
	if err != nil {
		return nil, false, strings.Join(targets, " "), ignore, err
	}
	if len(targets) == 0 {
		targets = []string{m.Default()}
	}
	var out []buildtool.Line
	for _, t := range targets {
		if strings.ContainsAny(t, "$`") {
			return nil, false, t, ignore, nil
		}
		lines, ok := m.Recipe(t, vars)
		if !ok {
			return nil, false, t, ignore, nil
		}
		out = append(out, lines...)
	}
	return out, true, strings.Join(targets, " "), ignore, nil
}

func (a *Interpreter) taskLines(dirp *string, args []string, res func(string) string) ([]buildtool.Line, bool, string, error) {
	dir := *dirp
	defer func() { *dirp = dir }()
	var targets []string
	file := ""
	for i := 0; i < len(args); i++ {
		switch x := args[i]; {
		case (x == "-t" || x == "--taskfile" || x == "-d" || x == "--dir") && i+1 < len(args):
			i++
			if x == "-d" || x == "--dir" {
				dir = path.Join(dir, res(args[i]))
			} else {
				file = res(args[i])
			}
		case x == "--":
			i = len(args)
		case strings.HasPrefix(x, "-") || strings.Contains(x, "="):
		default:
			// A word may resolve to several, variables among them:
			// task test ${{ matrix.test-args }} with "RACE=false COVER=false".
			for _, t := range resolvedWords(res(x)) {
				if !strings.Contains(t, "=") {
					targets = append(targets, t)
				}
			}
		}
	}
	var src []byte
	var err error
	cands := []string{file}
	if file == "" {
		cands = []string{"Taskfile.yml", "taskfile.yml", "Taskfile.yaml", "taskfile.yaml", "Taskfile.dist.yml"}
	}
	for _, c := range cands {
		file = path.Join(dir, c)
		if src, err = a.readFile(file); err == nil || !isNotExist(err) {
			break
		}
	}
	if len(targets) == 0 {
		targets = []string{"default"}
	}
	if err != nil {
		return nil, false, strings.Join(targets, " "), err
	}
	tf, err := buildtool.ParseTaskfile(file, src)
	if err != nil {
		return nil, false, strings.Join(targets, " "), err
	}
	var out []buildtool.Line
	for _, t := range targets {
		lines, ok := tf.Commands(t)
		if !ok {
			return nil, false, t, nil
		}
		out = append(out, lines...)
	}
	return out, true, strings.Join(targets, " "), nil
}

func (a *Interpreter) justLines(dir string, args []string, res func(string) string) ([]buildtool.Line, bool, string, error) {
	var pos []string
	file := ""
	for i := 0; i < len(args); i++ {
		switch x := args[i]; {
		case (x == "-f" || x == "--justfile") && i+1 < len(args):
			i++
			file = res(args[i])
		case strings.HasPrefix(x, "-"):
		default:
			pos = append(pos, res(x))
		}
	}
	var src []byte
	var err error
	cands := []string{file}
	if file == "" {
		cands = []string{"justfile", "Justfile", ".justfile"}
	}
	for _, c := range cands {
		file = path.Join(dir, c)
		if src, err = a.readFile(file); err == nil || !isNotExist(err) {
			break
		}
	}
	if err != nil {
		return nil, false, strings.Join(pos, " "), err
	}
	jf := buildtool.ParseJustfile(file, src)
	target := jf.Default()
	if len(pos) > 0 {
		target = pos[0] // the rest are the recipe's arguments
	}
	lines, ok := jf.Commands(target)
	return lines, ok, target, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// installerPipe recognises `curl …/install.sh | sh`, the way trivy,
// grype and cosign are commonly installed: read as installing a tool,
// not as a release script. (A hole, named in docs/gates/workflow.md: an
// "install" script could sign.)
func installerPipe(prev, shellArgs []string) bool {
	if len(prev) == 0 || (prev[0] != "curl" && prev[0] != "wget") {
		return false
	}
	// A script handed an image (curl …/install-and-sign.sh | bash -s --
	// IMAGE) does more than install.
	for _, x := range shellArgs {
		if strings.Contains(x, "@sha256:") || strings.Contains(x, "/") && strings.Contains(x, ":") && !strings.Contains(x, "://") {
			return false
		}
	}
	for _, x := range prev[1:] {
		base := strings.ToLower(path.Base(x))
		if strings.HasPrefix(x, "http") && strings.Contains(base, "install") && !fetchedDoesMore().MatchString(base) {
			return true
		}
	}
	return false
}

// fetchedDoesMore matches a fetched script's name that says it does more
// than install a tool.
var fetchedDoesMore = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`sign|attest|release|publish|deploy|push`)
})
