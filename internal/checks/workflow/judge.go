package workflow

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/imageref"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/steps"
)

// judge decides, for every signing step of a graph, whether a blocking
// scan of the same image runs before it, and raises the findings.
func (a *analysis) judge(g *steps.Events) {
	var scans, signs []*steps.Event
	for _, e := range g.All {
		switch e.Kind {
		case steps.Scan:
			scans = append(scans, e)
			a.report.Scans = append(a.report.Scans, a.scanStep(g, e, nil))
		case steps.Sign:
			signs = append(signs, e)
		}
	}
	perStep := map[*graph.Step]int{}
	type guess struct {
		step      *graph.Step
		tool, why string
	}
	guessed := map[guess]bool{}
	for _, s := range signs {
		if s.MaySign != "" {
			// One cause, one finding: the same unreadable command in the
			// same step (a script that calls "${TOOL}" twice) is judged
			// once, at its first, earliest place.
			g := guess{s.Step, s.Tool, s.MaySign}
			if guessed[g] {
				continue
			}
			guessed[g] = true
		}
		perStep[s.Step]++
		key := s.Step.Key
		if n := perStep[s.Step]; n > 1 {
			key = fmt.Sprintf("%s#%d", key, n)
		}
		a.judgeSign(g, s, key, scans)
	}
	a.hints(g)
}

// scanStep describes a scan, judged against a signing step when sign is set.
func (a *analysis) scanStep(g *steps.Events, e *steps.Event, sign *steps.Event) ScanStep {
	ss := ScanStep{StepRef: ref(g, e), Severities: e.Severities}
	ss.Reasons = a.blockingReasons(g, e, sign)
	ss.Blocking = len(ss.Reasons) == 0
	if ss.Reasons == nil {
		ss.Reasons = nil
	}
	return ss
}

// assessment is how well one scan guards one signing step.
type assessment struct {
	scan     *steps.Event
	reasons  []string
	sevGap   string
	cmp      refCmp
	blocking bool
}

// score ranks the scans before a signing step: blocking first, then a
// scan configured to fail (exit code set), covering HIGH and CRITICAL, of
// the same image, with the fewest problems.
func (x assessment) score() int {
	s := 0
	if x.blocking {
		s += 1000
	}
	if x.scan.ToolBlocking {
		s += 100
	}
	if x.sevGap == "" {
		s += 20
	}
	if !x.cmp.Mismatch {
		s += 10
	}
	return s - min(len(x.reasons), 9)
}

func (a *analysis) judgeSign(g *steps.Events, s *steps.Event, key string, scans []*steps.Event) {
	sig := Signing{StepRef: ref(g, s)}
	sig.Step = key
	var pre, after, unordered []*steps.Event
	for _, sc := range scans {
		switch {
		case sc.Job == s.Job && sc.Before(s):
			pre = append(pre, sc)
		case sc.Job == s.Job:
			after = append(after, sc)
		case g.Before(sc.Job, s.Job):
			pre = append(pre, sc)
		case g.Before(s.Job, sc.Job):
			after = append(after, sc)
		default:
			unordered = append(unordered, sc)
		}
	}
	upstreamNote := ""
	if len(pre) == 0 {
		var up []*steps.Event
		up, upstreamNote = a.upstreamScans(g, s)
		pre = append(pre, up...)
	}
	loc := &checks.Location{Path: s.Path, Line: s.Line}
	what := a.signWhat(s)
	props := a.signProps(g, s)
	raise := func(rule, msg string, extra map[string]any) {
		p := map[string]any{}
		for k, v := range props {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		cas := ""
		if s.Blob && rule == "WF-SIGN-BEFORE-SCAN" {
			cas = "file" // the rule's remedy scans an image
		}
		a.add(book.Case(rule, cas, graph.StepSubject(g.File.Path, s.Job.Key, key), msg, loc).With(p))
		sig.Rules = append(sig.Rules, rule)
	}
	defer func() { a.report.Signings = append(a.report.Signings, sig) }()

	if len(pre) == 0 {
		if s.SelfGated {
			sig.Decision = "self-gated"
			return
		}
		// Something before the signing step may scan but cannot be seen:
		// say so instead of claiming there is no scan.
		for _, e := range g.All {
			if e.Kind != steps.Opaque || !(e.Job == s.Job && e.Before(s) || g.Before(e.Job, s.Job)) {
				continue
			}
			sig.Decision = "unverified"
			rule := "WF-UNRESOLVED-REUSABLE"
			what2 := fmt.Sprintf("job %s calls %s, a reusable workflow in another repository", e.Job.Display(), e.Tool)
			if e.Job == s.Job || !strings.Contains(e.Tool, ".github/workflows/") {
				rule = "WF-UNRESOLVED-ACTION"
				what2 = fmt.Sprintf("step %s uses %s, which is not in the repository", model.DisplayStep(e.Step.Def), e.Tool)
			}
			raise(rule, fmt.Sprintf("%s; no visible scan runs before it, and %s (%s): whether that scans the image, and blocks, cannot be established.",
				what, what2, ref(g, e).Location()), map[string]any{"not_visible": ref(g, e).Location()})
			return
		}
		sig.Decision = "not-gated"
		switch {
		case len(after) > 0:
			x := after[0]
			raise("WF-SCAN-AFTER-SIGN", fmt.Sprintf("%s, but the only scan (%s at %s) runs after the signature is made.",
				what, x.Tool, where(g, x)), map[string]any{"scan": ref(g, x).Location()})
		case len(unordered) > 0:
			x := unordered[0]
			raise("WF-SCAN-NOT-NEEDED", fmt.Sprintf("%s; the scan (%s at %s) runs in job %s, which job %s does not need, so a failing scan cannot stop the signature.",
				what, x.Tool, where(g, x), x.Job.Display(), s.Job.Display()), map[string]any{"scan": ref(g, x).Location()})
		default:
			var other *steps.Event
		find:
			for _, u := range a.units {
				for _, e := range u.All {
					if e.Kind == steps.Scan && e.Job.File != s.Job.File && !slices.Contains(g.All, e) {
						other = e
						break find
					}
				}
			}
			if other != nil {
				raise("WF-SCAN-NOT-NEEDED", fmt.Sprintf("%s; a scan exists only in another workflow (%s at %s), which cannot stop this one from signing%s.",
					what, other.Tool, other.Path+fmt.Sprintf(":%d", other.Line), upstreamNote), map[string]any{"scan": fmt.Sprintf("%s:%d", other.Path, other.Line)})
			} else {
				raise("WF-SIGN-BEFORE-SCAN", fmt.Sprintf("%s, and no vulnerability scan runs before it: not earlier in job %s, not in a job it needs.",
					what, s.Job.Display()), nil)
			}
		}
		return
	}

	var best assessment
	for i, p := range pre {
		x := assessment{scan: p, reasons: a.blockingReasons(g, p, s), sevGap: p.SevGap, cmp: a.compareRefs(g, p, s)}
		x.blocking = len(x.reasons) == 0
		sig.Preceding = append(sig.Preceding, a.scanStep(g, p, s))
		if i == 0 || x.score() > best.score() || x.score() == best.score() && best.scan.Before(p) && p.Job == s.Job {
			best = x
		}
	}
	gate := a.scanStep(g, best.scan, s)
	sig.Gate = &gate
	if s.SelfGated && !(best.blocking && best.sevGap == "" && !best.cmp.Mismatch) {
		sig.Decision = "self-gated"
		return
	}
	scanLoc := where(g, best.scan)
	scanProps := map[string]any{"scan": scanLoc, "scan_tool": best.scan.Tool}
	sig.Decision = "gated"
	if !best.blocking {
		sig.Decision = "not-gated"
		others := ""
		if len(pre) > 1 {
			others = fmt.Sprintf(" (nor can the %d other %s before it)", len(pre)-1, plural(len(pre)-1, "scan", "scans"))
		}
		raise("WF-SCAN-NOT-BLOCKING", fmt.Sprintf("%s; the scan before it (%s at %s) cannot stop it%s: %s.",
			what, best.scan.Tool, scanLoc, others, strings.Join(best.reasons, "; ")),
			merge(scanProps, map[string]any{"reasons": best.reasons}))
	}
	if best.sevGap != "" {
		sig.Decision = "not-gated"
		raise("WF-SCAN-SEVERITY-GAP", fmt.Sprintf("%s; the scan before it (%s at %s) does not fail on every HIGH and CRITICAL vulnerability: %s.",
			what, best.scan.Tool, scanLoc, best.sevGap), merge(scanProps, map[string]any{"severities": best.scan.Severities}))
	}
	if best.cmp.Mismatch {
		sig.Decision = "not-gated"
		raise("WF-SCAN-REF-MISMATCH", fmt.Sprintf("%s; the scan before it (%s at %s) looks at something else: %s (compared: %s).",
			what, best.scan.Tool, scanLoc, best.cmp.Why, best.cmp.Compared),
			merge(scanProps, map[string]any{"compared": best.cmp.Compared, "scanned": best.scan.Target, "signed": s.Target}))
	}
	if missing, note := a.matrixGap(g, s, pre); len(missing) > 0 {
		sig.Decision = "not-gated"
		raise("WF-MATRIX-NOT-SCANNED", a.matrixMessage(what, missing, note), map[string]any{"not_scanned": missing})
	}
	if p := a.pushBefore(g, best.scan, s); p != nil {
		raise("WF-PUSH-BEFORE-SCAN", fmt.Sprintf("%s; the image is pushed with release tags (%s at %s) before the scan gate at %s has passed, so a vulnerable image is public before the gate fails.",
			what, p.Tool, ref(g, p).Location(), scanLoc), merge(scanProps, map[string]any{"push": ref(g, p).Location(), "tags": p.Tags}))
	}
	a.uploads(g, best.scan)
}

// outcomeGated reports whether signing step s, in the scan's job, runs
// only if the scan's outcome was success: if: steps.scan.outcome ==
// 'success' in a condition that is not an || of alternatives.
func outcomeGated(p, s *steps.Event) bool {
	if s == nil || p.Step.Def.ID == "" || p.Job != s.Job {
		return false
	}
	want := regexp.MustCompile(`steps\.` + regexp.QuoteMeta(strings.ToLower(p.Step.Def.ID)) + `\.outcome\s*==\s*'success'`)
	for _, c := range s.Step.Ifs {
		c = model.CondText(c)
		if want.MatchString(strings.ToLower(c)) && !strings.Contains(c, "||") {
			return true
		}
	}
	return false
}

// ref returns the StepRef of an event in the workflow of g.
func ref(g *steps.Events, e *steps.Event) StepRef {
	return StepRef{Workflow: g.File.Path, Job: e.Job.Key, Step: e.Step.Key, Path: e.Path, Line: e.Line,
		Script: e.Script, Tool: e.Tool, Target: e.Target}
}

// where renders an event's location, with the script line when the
// command is in a script the step runs.
func where(g *steps.Events, e *steps.Event) string {
	l := ref(g, e).Location()
	if e.Script != "" {
		l += " (" + e.Script + ")"
	}
	return l
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// signWhat starts every signing message: which step signs what, where.
func (a *analysis) signWhat(s *steps.Event) string {
	target := s.Written
	if target == "" {
		target = "(target not visible)"
	}
	where := ""
	if s.Script != "" {
		where = " (in " + s.Script + ")"
	}
	if s.MaySign != "" {
		return fmt.Sprintf("Step %s in job %s may sign: it runs %s%s", model.DisplayStep(s.Step.Def), s.Job.Display(), s.MaySign, where)
	}
	verb := "signs"
	if strings.Contains(s.Tool, "attest") || strings.Contains(s.Tool, "provenance") || strings.Contains(s.Tool, "slsa") {
		verb = "attests"
	}
	return fmt.Sprintf("Step %s in job %s %s %s with %s%s", model.DisplayStep(s.Step.Def), s.Job.Display(), verb, target, s.Tool, where)
}

func (a *analysis) signProps(g *steps.Events, s *steps.Event) map[string]any {
	p := map[string]any{"workflow": g.File.Path, "job": s.Job.Key, "step": s.Step.Key, "tool": s.Tool}
	if s.Written != "" {
		p["target"] = s.Written
	}
	if s.Target != "" && s.Target != s.Written {
		p["resolved"] = s.Target
	}
	if s.Script != "" {
		p["script"] = s.Script
	}
	if len(s.Step.Via) > 0 {
		p["via"] = s.Step.Via
	}
	return p
}

var conclusionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`github\.event\.workflow_run\.conclusion\s*==\s*'success'`)
})

// upstreamScans returns the scans of the workflows that a workflow_run
// trigger waits for, when that is the workflow's only trigger and the
// signing job (or a job it needs) requires the run to have succeeded. The
// note explains, otherwise, why those scans do not gate.
func (a *analysis) upstreamScans(g *steps.Events, s *steps.Event) ([]*steps.Event, string) {
	f := g.File
	if len(f.RunAfter) == 0 {
		return nil, ""
	}
	if len(f.Triggers) != 1 || f.Triggers[0] != "workflow_run" {
		return nil, fmt.Sprintf(" (it also runs on %s, not only after %s)", strings.Join(f.Triggers, ", "), strings.Join(f.RunAfter, ", "))
	}
	checked := false
	jobs := []*graph.Job{s.Job}
	for k := range g.Closure[s.Job.Key] {
		jobs = append(jobs, g.ByKey[k])
	}
	for _, j := range jobs {
		for _, c := range j.Ifs() {
			if conclusionRE().MatchString(model.CondText(c)) {
				checked = true
			}
		}
	}
	if !checked {
		return nil, fmt.Sprintf(" (it runs after %s, but no job checks github.event.workflow_run.conclusion == 'success')", strings.Join(f.RunAfter, ", "))
	}
	var out []*steps.Event
	for _, og := range a.units {
		name := og.File.Name
		if name == "" {
			name = og.File.Path
		}
		if og == g || !slices.Contains(f.RunAfter, name) {
			continue
		}
		for _, e := range og.All {
			if e.Kind == steps.Scan {
				out = append(out, e)
			}
		}
	}
	return out, ""
}

// blockingReasons says why a scan's failure would not stop the signing
// step (nil when it would). With sign nil, it judges the scan alone.
func (a *analysis) blockingReasons(g *steps.Events, p, s *steps.Event) []string {
	reasons := slices.Clone(p.ToolReasons)
	reasons = append(reasons, p.ShellReasons(s)...)
	for _, coe := range p.Step.COEs {
		if outcomeGated(p, s) {
			// continue-on-error, but the signing step requires the scan's
			// outcome (not its conclusion, which COE makes success).
			break
		}
		switch c := strings.TrimSpace(coe); {
		case c == "true":
			reasons = append(reasons, "the scan step has continue-on-error: true")
		case c != "false" && c != "":
			reasons = append(reasons, fmt.Sprintf("the scan step has continue-on-error: %s, which may be true", c))
		}
	}
	if s == nil || p.Step == s.Step {
		return reasons
	}
	if p.In != nil && s.In != nil && p.In != s.In {
		// A scan in the workflow that a workflow_run trigger waits for: its
		// failure must fail that run, which the signing workflow checks.
		if c := strings.TrimSpace(p.Job.Def.ContinueOnError); c != "" && c != "false" {
			reasons = append(reasons, fmt.Sprintf("the scan job %s has continue-on-error: %s, so the run can succeed with a failed scan", p.Job.Display(), c))
		}
		if part := skippable(p.Step.Ifs, nil); part != "" {
			reasons = append(reasons, fmt.Sprintf("the scan step runs only if %s", part))
		}
		return reasons
	}
	if part := skippable(p.Step.Ifs, append(slices.Clone(s.Step.Ifs), s.Job.Ifs()...)); part != "" {
		reasons = append(reasons, fmt.Sprintf("the scan step runs only if %s, which the signing step does not require", part))
	}
	if p.Job == s.Job {
		var gates []string
		if p.Step.Def.ID != "" {
			gates = append(gates, "steps."+strings.ToLower(p.Step.Def.ID)+".outcome")
		}
		for _, c := range s.Step.Ifs {
			if model.RunsAfterFailure(c, gates...) {
				reasons = append(reasons, fmt.Sprintf("the signing step has if: %s, so it runs after a failed scan", strings.TrimSpace(c)))
			}
		}
		return reasons
	}
	if c := strings.TrimSpace(p.Job.Def.ContinueOnError); c == "true" {
		reasons = append(reasons, fmt.Sprintf("the scan job %s has continue-on-error: true", p.Job.Display()))
	} else if c != "" && c != "false" {
		reasons = append(reasons, fmt.Sprintf("the scan job %s has continue-on-error: %s, which may be true", p.Job.Display(), c))
	}
	if over := overrides(g, p.Job, s.Job); len(over) > 0 {
		var parts []string
		for _, j := range over {
			parts = append(parts, fmt.Sprintf("job %s has if: %s", j.Display(), strings.Join(j.Ifs(), " && ")))
		}
		reasons = append(reasons, strings.Join(parts, ", ")+", so it runs even when the scan job fails")
	}
	return reasons
}

// overrides returns the jobs whose if: lets them run after a failure and
// through which a failed scan job no longer skips the signing job; nil
// when the failure does reach it.
func overrides(g *steps.Events, scan, sign *graph.Job) []*graph.Job {
	memo := map[string]bool{}
	var over []*graph.Job
	var skipped func(k *graph.Job) bool
	skipped = func(k *graph.Job) bool {
		if k == scan {
			return true
		}
		if v, ok := memo[k.Key]; ok {
			return v
		}
		memo[k.Key] = false
		res := false
		var via []string
		for _, n := range k.Needs {
			nj := g.ByKey[n]
			if nj == nil || (nj != scan && !g.Closure[n][scan.Key]) {
				continue
			}
			if skipped(nj) {
				res = true
				via = append(via, "needs."+needID(k, n)+".result")
			}
		}
		if res {
			for _, c := range k.Ifs() {
				if model.RunsAfterFailure(c, via...) {
					res = false
					if !slices.Contains(over, k) {
						over = append(over, k)
					}
				}
			}
		}
		memo[k.Key] = res
		return res
	}
	if skipped(sign) {
		return nil
	}
	if len(over) == 0 {
		over = append(over, sign)
	}
	return over
}

// needID is how job k's needs: names the leaf job key n: its sibling's
// id (a reusable-workflow call stands for all its jobs).
func needID(k *graph.Job, n string) string {
	rest := strings.TrimPrefix(n, k.Prefix)
	id, _, _ := strings.Cut(rest, "/")
	return strings.ToLower(id)
}

// skippable returns a condition part of the scan step that the signing
// step does not share, so that the scan can be skipped while signing runs.
func skippable(scanIfs, signIfs []string) string {
	var have []string
	for _, c := range signIfs {
		have = append(have, model.SplitAnd(model.CondText(c))...)
	}
	for _, c := range scanIfs {
		for _, part := range model.SplitAnd(model.CondText(c)) {
			if !model.IsUnconditional(part) && !slices.Contains(have, part) {
				return part
			}
		}
	}
	return ""
}

// pushBefore finds a push with release tags of the signed repository that
// happens before the scan gate.
func (a *analysis) pushBefore(g *steps.Events, gate, sign *steps.Event) *steps.Event {
	if sign.Blob {
		return nil
	}
	if gate.In != nil {
		g = gate.In // the scan may be in the workflow a workflow_run waits for
	}
	signRepo := imageref.Parse(sign.Target).Repo
	for _, e := range g.All {
		if e.Kind != steps.Push || !e.Release {
			continue
		}
		if !(e.Job == gate.Job && e.Before(gate) || g.Before(e.Job, gate.Job)) {
			continue
		}
		if known(signRepo) && len(e.Tags) > 0 {
			match, unknown := false, false
			for _, t := range e.Tags {
				r := imageref.Parse(t).Repo
				if !known(r) {
					unknown = true
				} else if r == signRepo {
					match = true
				}
			}
			if !match && !unknown {
				continue
			}
		}
		return e
	}
	return nil
}

// uploads reports a scan gate whose results do not reach code scanning
// or an artifact when the scan fails.
func (a *analysis) uploads(g *steps.Events, gate *steps.Event) {
	if gate.Kind != steps.Scan {
		return
	}
	if gate.In != nil {
		g = gate.In
	}
	var after []*steps.Event
	for _, e := range g.Of(gate.Job) {
		if e.Kind != steps.Upload {
			continue
		}
		if e.Tool == "actions/upload-artifact" && (gate.Output == "" || !strings.Contains(e.Target, path.Base(gate.Output))) {
			continue
		}
		if gate.Before(e) {
			after = append(after, e)
			continue
		}
		// Uploaded before the gate: a first, non-blocking pass of the same
		// target whose results were uploaded already (scan twice pattern).
		for _, sc := range g.Of(gate.Job) {
			if sc.Kind == steps.Scan && sc != gate && sc.Before(e) && sc.Target == gate.Target {
				return
			}
		}
	}
	loc := &checks.Location{Path: gate.Path, Line: gate.Line}
	props := map[string]any{"workflow": g.File.Path, "job": gate.Job.Key, "step": gate.Step.Key, "tool": gate.Tool}
	for _, u := range after {
		ok := false
		for _, c := range u.Step.Ifs {
			if model.CallsStatusFunction(model.CondText(c)) {
				ok = true
			}
		}
		if ok {
			return
		}
	}
	var msg string
	switch {
	case len(after) > 0:
		u := after[0]
		msg = fmt.Sprintf("The scan gate %s in job %s (%s) is uploaded by %s at %s only when the scan passes (no if: always()), so a failing scan's results are lost.",
			model.DisplayStep(gate.Step.Def), gate.Job.Display(), gate.Tool, u.Tool, ref(g, u).Location())
		props["upload"] = ref(g, u).Location()
	default:
		msg = fmt.Sprintf("The results of the scan gate %s in job %s (%s) are not uploaded to code scanning or as an artifact; when it fails, they are only in the job log.",
			model.DisplayStep(gate.Step.Def), gate.Job.Display(), gate.Tool)
	}
	a.add(book.Finding("WF-SCAN-RESULTS-NOT-UPLOADED", graph.StepSubject(g.File.Path, gate.Job.Key, gate.Step.Key), msg, loc).With(props))
}

// hints reports cosign installed in a job where no signing is visible.
func (a *analysis) hints(g *steps.Events) {
	for _, j := range g.Jobs {
		var hint *steps.Event
		signs := false
		for _, e := range g.Of(j) {
			switch {
			case e.Kind == steps.Hint && hint == nil:
				hint = e
			case e.Kind == steps.Sign:
				signs = true
			}
		}
		if hint == nil || signs {
			continue
		}
		msg := fmt.Sprintf("Job %s installs cosign (%s) but none of its steps signs, as far as they were followed (scripts, build-tool targets, eval strings); signing inside a JavaScript or Docker action, a remote action or a non-shell program cannot be checked for a scan before it.",
			j.Display(), hint.Tool)
		if hint.Capability != "" {
			msg = fmt.Sprintf("In job %s %s, but none of its steps signs, as far as they were followed (scripts, build-tool targets, eval strings); signing hidden from this reading (an alias, a binary under another name, a key fetched at run time, a JavaScript or Docker action) cannot be ruled out, nor checked for a scan before it.",
				j.Display(), hint.Capability)
		}
		a.add(book.Finding("WF-SIGNING-NOT-VISIBLE", graph.StepSubject(g.File.Path, j.Key, hint.Step.Key), msg,
			&checks.Location{Path: hint.Path, Line: hint.Line}).With(map[string]any{"workflow": g.File.Path, "job": j.Key}))
	}
}
