package steps

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// Kind is what an event does.
type Kind int

// The kinds of event.
const (
	Sign   Kind = iota // signs or attests
	Scan               // vulnerability scan
	Push               // pushes an image to a registry
	Build              // builds an image locally (load, tarball)
	Upload             // uploads SARIF or an artifact
	Hint               // installs cosign
	Opaque             // a remote reusable workflow or missing local action: may scan, cannot be seen
)

// Event is one thing a step does that the judgement cares about.
type Event struct {
	Kind Kind
	Tool string
	// In are the events of the graph the event is in.
	In   *Events
	Job  *graph.Job
	Step *graph.Step
	// Seq orders events within a job: the step's sequence, then the
	// command's index in the script.
	Seq, Sub int
	Path     string
	Line     int
	Script   string
	// Written is the target as written; Target resolved. TKind is image,
	// fs, tar, blob, sbom, gates (readiness check) or unknown.
	Written, Target, TKind string

	// Scans: ToolBlocking and ToolReasons judge the tool's own settings;
	// Severities are those that fail it (nil: all); SevGap explains a gap.
	ToolBlocking bool
	ToolReasons  []string
	Severities   []string
	SevGap       string
	Output       string
	// ScanPlatforms are the platforms a scan of a multi-platform image
	// covers; AllPlatforms is set when it covers every one (readiness).
	// Neither: one platform, the runner's (what trivy and grype do).
	ScanPlatforms []string
	AllPlatforms  bool

	// SelfGated is set for readiness image release / sign, which refuse to
	// sign without a passing scan of the digest.
	SelfGated bool
	Blob      bool
	// MaySign is set for a command whose effect is not visible, counted
	// as signing because the job can sign (fail closed); it says why.
	MaySign string
	// Capability is set on a Hint that a job can sign (id-token: write
	// where signing is plausible) rather than that it installs cosign.
	Capability string

	// Pushes and builds.
	Tags      []string
	Release   bool
	Platforms string
	Inputs    string // build inputs (context, file, target, build-args) for comparing builds
	// DigestOf is the qualified steps output expression that names this
	// build's digest.
	DigestOf string

	// Shell context of a run: command, and the commands of the scripts
	// that called it (a step's run: calling ./scripts/scan.sh).
	sh    *shell.Script
	ci    int
	chain []shPos
}

// Before reports whether e happens before o in the same job.
func (e *Event) Before(o *Event) bool {
	if e.Seq != o.Seq {
		return e.Seq < o.Seq
	}
	return e.Sub < o.Sub
}

// Events are what the steps of one graph do, job by job in the graph's
// order, each job's in the order they happen.
type Events struct {
	*graph.Graph
	All   []*Event
	byJob map[*graph.Job][]*Event
}

// Of returns the events of job j, in order.
func (es *Events) Of(j *graph.Job) []*Event { return es.byJob[j] }

func (es *Events) add(e *Event) {
	e.In = es
	es.All = append(es.All, e)
	es.byJob[e.Job] = append(es.byJob[e.Job], e)
}

// jobWalk carries the state of walking one job's steps in order.
type jobWalk struct {
	g   *Events
	Job *graph.Job
	seq int
	// sub numbers the events of the job in the order they happen, across
	// the scripts, recipes and eval strings a step leads to.
	sub int
	Dyn model.Env
	// pending are the $GITHUB_ENV writes of the step being walked; they
	// reach Dyn when it ends. pendingAll: a write whose names are not visible.
	pending    model.Env
	pendingAll bool
	// metas are docker/metadata-action steps by qualified id.
	metas map[string]*graph.Step
	// events are the job's events so far.
	events []*Event
	// files are the files the job's commands wrote so far (relative to
	// the repository), each with where: see writes.go.
	files map[string]string
	// aliases are the names the job installed a signer under (fetched.go).
	aliases map[string]string
}

// Walk walks every job of a graph and returns the events of its steps.
func (a *Interpreter) Walk(g *graph.Graph) *Events {
	es := &Events{Graph: g, byJob: map[*graph.Job][]*Event{}}
	for _, j := range g.Jobs {
		if !j.Leaf() {
			continue
		}
		if j.Remote != "" {
			a.remoteJob(es, j)
			continue
		}
		w := &jobWalk{g: es, Job: j, Dyn: model.Env{}, metas: map[string]*graph.Step{}}
		for i, d := range j.Def.Steps {
			s := &graph.Step{Def: d, Job: j, Key: model.StepKey(d, i), Envs: []model.Env{d.Env}}
			if d.If != "" {
				s.Ifs = []string{d.If}
			}
			if d.ContinueOnError != "" {
				s.COEs = []string{d.ContinueOnError}
			}
			a.walkStep(w, s, 0)
		}
		w.capabilityHint()
		for _, e := range w.events {
			es.add(e)
		}
	}
	return es
}

func (a *Interpreter) walkStep(w *jobWalk, s *graph.Step, depth int) {
	w.seq++
	s.Seq = w.seq
	w.Job.Steps = append(w.Job.Steps, s)
	if s.Def.ID != "" {
		w.Job.StepsByID[s.Prefix+s.Def.ID] = s
	}
	sc := graph.Scope{Graph: w.g.Graph, Job: w.Job, Step: s, Dyn: w.Dyn}
	switch {
	case s.Def.Uses != "":
		if strings.HasPrefix(s.Def.Uses, "./") && !strings.HasSuffix(s.Def.Uses, ".yml") && !strings.HasSuffix(s.Def.Uses, ".yaml") {
			a.composite(w, s, sc, depth)
			return
		}
		a.actionStep(w, s, sc)
	case s.Def.Run != "":
		a.runStep(w, s, sc)
	}
	w.flushEnv()
}

// composite inlines a local composite action's steps.
func (a *Interpreter) composite(w *jobWalk, s *graph.Step, sc graph.Scope, depth int) {
	dir := path.Clean(strings.TrimPrefix(s.Def.Uses, "./"))
	var c *model.Action
	var err error
	if depth >= maxCompDepth || slices.Contains(s.Via, dir) {
		err = fmt.Errorf("it is nested deeper than %d or includes itself", maxCompDepth)
	} else {
		c, err = a.loadAction(dir)
	}
	if err != nil {
		a.note(graph.Finding("WF-UNRESOLVED-ACTION", graph.StepSubject(w.g.File.Path, w.Job.Key, s.Key),
			fmt.Sprintf("Step %s uses the local action %s, but %v; what it does is not visible.", model.DisplayStep(s.Def), s.Def.Uses, err),
			&checks.Location{Path: s.Def.Path, Line: s.Def.Line}).
			With(map[string]any{"uses": s.Def.Uses}))

		w.emit(w.newEvent(Opaque, s.Def.Uses, s, s.Def.Line))
		return
	}
	if c.Kind != "composite" {
		return // a JavaScript or Docker action: its code is not analysed
	}
	inputs := map[string]string{}
	for k, v := range c.Inputs {
		inputs[k] = v
	}
	for k, v := range s.Def.With {
		inputs[k] = sc.Resolve(v.V)
	}
	prefix := s.Prefix + s.Key + "/"
	s.Comp = c
	s.CompScope = &graph.Step{Job: w.Job, Inputs: inputs, Prefix: prefix, Envs: s.Envs}
	for i, d := range c.Steps {
		in := &graph.Step{Def: d, Job: w.Job, Key: prefix + model.StepKey(d, i), Inputs: inputs, Prefix: prefix,
			Via: append(slices.Clone(s.Via), dir), Envs: append([]model.Env{d.Env}, s.Envs...),
			Ifs: slices.Clone(s.Ifs), COEs: slices.Clone(s.COEs)}
		if d.If != "" {
			in.Ifs = append(in.Ifs, d.If)
		}
		if d.ContinueOnError != "" {
			in.COEs = append(in.COEs, d.ContinueOnError)
		}
		a.walkStep(w, in, depth+1)
	}
}

func (a *Interpreter) loadAction(dir string) (*model.Action, error) {
	if l, ok := a.actions[dir]; ok {
		return l.c, l.err
	}
	var l actionLoad
	for _, name := range []string{"action.yml", "action.yaml"} {
		p := path.Join(dir, name)
		if dir == "." {
			p = name
		}
		src, err := a.readFile(p)
		if err != nil {
			var tl *TooLargeError
			if errors.As(err, &tl) {
				l.err = fmt.Errorf("%s %v", p, err)
				break
			}
			continue
		}
		l.c, l.err = model.ParseAction(p, src)
		break
	}
	if l.c == nil && l.err == nil {
		l.err = fmt.Errorf("%s has no action.yml", dir)
	}
	a.actions[dir] = &l
	return l.c, l.err
}

func (w *jobWalk) newEvent(kind Kind, tool string, s *graph.Step, line int) *Event {
	w.sub++
	return &Event{Kind: kind, Tool: tool, Job: w.Job, Step: s, Seq: s.Seq, Sub: w.sub, Path: s.Def.Path, Line: line}
}

func (w *jobWalk) emit(e *Event) { w.events = append(w.events, e) }

// capabilityHint: a job that can sign keyless where signing is plausible,
// and where no step was seen to sign, gets a Hint naming that capability,
// so that the judge says once that signing hidden from the reader (an
// alias, a renamed or fetched binary, a key from a vault) cannot be ruled
// out, instead of saying nothing.
func (w *jobWalk) capabilityHint() {
	if len(w.Job.Steps) == 0 {
		return
	}
	for _, e := range w.events {
		if e.Kind == Hint || e.Kind == Sign {
			return
		}
	}
	c := idTokenCapability(w.Job)
	if c == "" {
		return
	}
	e := w.newEvent(Hint, "", w.Job.Steps[0], w.Job.Def.Line)
	e.Path, e.Capability = w.Job.File.Path, c
	w.emit(e)
}

// with returns a step input resolved in its scope.
func (a *Interpreter) with(s *graph.Step, sc graph.Scope, key string) (string, bool) {
	v, ok := s.Def.With[key]
	if !ok {
		return "", false
	}
	return strings.TrimSpace(sc.Resolve(v.V)), true
}

// remoteJob handles a job that calls a reusable workflow in another
// repository: the SLSA container generator attests; anything else is
// reported as not visible.
func (a *Interpreter) remoteJob(g *Events, j *graph.Job) {
	name := model.ActionName(j.Remote)
	short := path.Base(name)
	if _, ref, ok := strings.Cut(j.Remote, "@"); ok {
		short += "@" + ref
	}
	s := &graph.Step{Def: &model.Step{Path: j.File.Path, Line: j.Def.UsesLine, Uses: j.Remote, Name: "uses " + short}, Job: j, Key: "call", Seq: 1}
	if strings.HasPrefix(name, "slsa-framework/slsa-github-generator/.github/workflows/") {
		e := &Event{Kind: Sign, Tool: path.Base(name), Job: j, Step: s, Seq: 1, Path: j.File.Path, Line: j.Def.UsesLine}
		sc := graph.Scope{Graph: g.Graph, Job: j}
		if img, ok := j.Def.With["image"]; ok {
			e.Written = img
			e.Target = sc.Resolve(img)
			e.TKind = "image"
			if d, ok := j.Def.With["digest"]; ok {
				e.Written += "@" + d
				e.Target += "@" + sc.Resolve(d)
			}
		} else {
			e.TKind, e.Blob = "blob", true
		}
		g.add(e)
		return
	}
	op := &Event{Kind: Opaque, Tool: j.Remote, Job: j, Step: s, Seq: 1, Path: j.File.Path, Line: j.Def.UsesLine}
	g.add(op)
	if why := remoteSigningCapability(j); why != "" {
		// It cannot be read, and it is handed what signing needs: it
		// counts as signing an unknown target (fail closed).
		// Its own opaque event cannot count as a scan before it: within
		// one unread workflow nothing says the scan comes first.
		op.Sub = 1
		e := &Event{Kind: Sign, Tool: j.Remote, Job: j, Step: s, Seq: 1, Path: j.File.Path, Line: j.Def.UsesLine, TKind: "unknown",
			MaySign: "the reusable workflow " + j.Remote + " from another repository, which cannot be read here and " + why}
		g.add(e)
	}
	a.note(graph.Finding("WF-UNRESOLVED-REUSABLE", j.File.Path+"/"+j.Def.ID,
		fmt.Sprintf("Job %s calls %s, a reusable workflow in another repository%s; whether it signs or scans is not visible here and was not assumed.",
			j.Display(), j.Remote, because(j.RemoteWhy)),
		&checks.Location{Path: j.File.Path, Line: j.Def.UsesLine}).
		With(map[string]any{"uses": j.Remote, "workflow": g.File.Path, "job": j.Key}))
}

// because renders why a remote workflow was not read, when known.
func because(why string) string {
	if why == "" {
		return ""
	}
	return " that could not be read (" + why + ")"
}

// remoteSigningCapability says what a call to a remote reusable workflow
// hands it that signing needs: id-token: write (keyless), all of the
// caller's secrets, or secrets named like signing keys; "" when nothing.
func remoteSigningCapability(j *graph.Job) string {
	if j.Def.IDToken != nil && *j.Def.IDToken || j.Def.IDToken == nil && j.File.IDToken {
		return "is given id-token: write, so it can sign keyless"
	}
	if j.Def.InheritSecrets {
		return "is given every secret (secrets: inherit), signing keys included"
	}
	for _, k := range j.Def.Secrets {
		if signingSecret(k) {
			return "is given the secret " + k
		}
		// The callee's name need not say what it is: key: ${{
		// secrets.COSIGN_PRIVATE_KEY }} hands over a signing key.
		for _, m := range secretRefRE().FindAllStringSubmatch(j.Def.SecretValues[k], -1) {
			if name := m[1] + m[2]; signingSecret(name) {
				return fmt.Sprintf("is given the secret %s as %s", name, k)
			}
		}
	}
	return ""
}

// secretRefRE finds the secrets an expression reads (secrets.NAME,
// secrets['NAME']).
var secretRefRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\bsecrets\s*(?:\.\s*([a-z0-9_-]+)|\[\s*'([^']+)'\s*\])`)
})

// signingSecret reports whether a secret's name says it is for signing.
func signingSecret(name string) bool {
	lk := strings.ToLower(name)
	return strings.Contains(lk, "cosign") || strings.Contains(lk, "sign") || strings.Contains(lk, "gpg") || strings.Contains(lk, "pgp") ||
		strings.Contains(lk, "notation") || strings.Contains(lk, "sigstore")
}
