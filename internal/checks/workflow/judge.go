package workflow

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/imageref"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// judge decides, for every signing step of a graph, whether a blocking
// scan of the same image runs before it, and raises the findings.
func (a *analysis) judge(g *graph) {
	var scans, signs []*event
	for _, e := range g.events {
		switch e.Kind {
		case evScan:
			scans = append(scans, e)
			a.report.Scans = append(a.report.Scans, a.scanStep(g, e, nil))
		case evSign:
			signs = append(signs, e)
		}
	}
	perStep := map[*stepInst]int{}
	for _, s := range signs {
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
func (a *analysis) scanStep(g *graph, e *event, sign *event) ScanStep {
	ss := ScanStep{StepRef: e.ref(g), Severities: e.Severities}
	ss.Reasons = a.blockingReasons(g, e, sign)
	ss.Blocking = len(ss.Reasons) == 0
	if ss.Reasons == nil {
		ss.Reasons = nil
	}
	return ss
}

// assessment is how well one scan guards one signing step.
type assessment struct {
	scan     *event
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

func (a *analysis) judgeSign(g *graph, s *event, key string, scans []*event) {
	sig := Signing{StepRef: s.ref(g)}
	sig.Step = key
	var pre, after, unordered []*event
	for _, sc := range scans {
		switch {
		case sc.Job == s.Job && sc.before(s):
			pre = append(pre, sc)
		case sc.Job == s.Job:
			after = append(after, sc)
		case g.before(sc.Job, s.Job):
			pre = append(pre, sc)
		case g.before(s.Job, sc.Job):
			after = append(after, sc)
		default:
			unordered = append(unordered, sc)
		}
	}
	upstreamNote := ""
	if len(pre) == 0 {
		var up []*event
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
		a.add(book.Case(rule, cas, stepSubject(g.file.Path, s.Job.Key, key), msg, loc).With(p))
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
		for _, e := range g.events {
			if e.Kind != evOpaque || !(e.Job == s.Job && e.before(s) || g.before(e.Job, s.Job)) {
				continue
			}
			sig.Decision = "unverified"
			rule := "WF-UNRESOLVED-REUSABLE"
			what2 := fmt.Sprintf("job %s calls %s, a reusable workflow in another repository", e.Job.display(), e.Tool)
			if e.Job == s.Job || !strings.Contains(e.Tool, ".github/workflows/") {
				rule = "WF-UNRESOLVED-ACTION"
				what2 = fmt.Sprintf("step %s uses %s, which is not in the repository", model.DisplayStep(e.Step.Def), e.Tool)
			}
			raise(rule, fmt.Sprintf("%s; no visible scan runs before it, and %s (%s): whether that scans the image, and blocks, cannot be established.",
				what, what2, e.ref(g).Location()), map[string]any{"not_visible": e.ref(g).Location()})
			return
		}
		sig.Decision = "not-gated"
		switch {
		case len(after) > 0:
			x := after[0]
			raise("WF-SCAN-AFTER-SIGN", fmt.Sprintf("%s, but the only scan (%s at %s) runs after the signature is made.",
				what, x.Tool, where(g, x)), map[string]any{"scan": x.ref(g).Location()})
		case len(unordered) > 0:
			x := unordered[0]
			raise("WF-SCAN-NOT-NEEDED", fmt.Sprintf("%s; the scan (%s at %s) runs in job %s, which job %s does not need, so a failing scan cannot stop the signature.",
				what, x.Tool, where(g, x), x.Job.display(), s.Job.display()), map[string]any{"scan": x.ref(g).Location()})
		default:
			var other *event
			for _, e := range a.all {
				if e.Kind == evScan && e.Job.File != s.Job.File && !slices.Contains(g.events, e) {
					other = e
					break
				}
			}
			if other != nil {
				raise("WF-SCAN-NOT-NEEDED", fmt.Sprintf("%s; a scan exists only in another workflow (%s at %s), which cannot stop this one from signing%s.",
					what, other.Tool, other.Path+fmt.Sprintf(":%d", other.Line), upstreamNote), map[string]any{"scan": fmt.Sprintf("%s:%d", other.Path, other.Line)})
			} else {
				raise("WF-SIGN-BEFORE-SCAN", fmt.Sprintf("%s, and no vulnerability scan runs before it: not earlier in job %s, not in a job it needs.",
					what, s.Job.display()), nil)
			}
		}
		return
	}

	var best assessment
	for i, p := range pre {
		x := assessment{scan: p, reasons: a.blockingReasons(g, p, s), sevGap: p.SevGap, cmp: a.compareRefs(g, p, s)}
		x.blocking = len(x.reasons) == 0
		sig.Preceding = append(sig.Preceding, a.scanStep(g, p, s))
		if i == 0 || x.score() > best.score() || x.score() == best.score() && best.scan.before(p) && p.Job == s.Job {
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
			what, p.Tool, p.ref(g).Location(), scanLoc), merge(scanProps, map[string]any{"push": p.ref(g).Location(), "tags": p.Tags}))
	}
	a.uploads(g, best.scan)
}

// outcomeGated reports whether signing step s, in the scan's job, runs
// only if the scan's outcome was success: if: steps.scan.outcome ==
// 'success' in a condition that is not an || of alternatives.
func outcomeGated(p, s *event) bool {
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

// where renders an event's location, with the script line when the
// command is in a script the step runs.
func where(g *graph, e *event) string {
	l := e.ref(g).Location()
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
func (a *analysis) signWhat(s *event) string {
	target := s.Written
	if target == "" {
		target = "(target not visible)"
	}
	where := ""
	if s.Script != "" {
		where = " (in " + s.Script + ")"
	}
	if s.MaySign != "" {
		return fmt.Sprintf("Step %s in job %s may sign: it runs %s%s", model.DisplayStep(s.Step.Def), s.Job.display(), s.MaySign, where)
	}
	verb := "signs"
	if strings.Contains(s.Tool, "attest") || strings.Contains(s.Tool, "provenance") || strings.Contains(s.Tool, "slsa") {
		verb = "attests"
	}
	return fmt.Sprintf("Step %s in job %s %s %s with %s%s", model.DisplayStep(s.Step.Def), s.Job.display(), verb, target, s.Tool, where)
}

func (a *analysis) signProps(g *graph, s *event) map[string]any {
	p := map[string]any{"workflow": g.file.Path, "job": s.Job.Key, "step": s.Step.Key, "tool": s.Tool}
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

// stepSubject is what a finding about a step is about: its ID is
// RULE/workflow/job/step, stable across edits that move lines.
func stepSubject(workflow, job, step string) string { return workflow + "/" + job + "/" + step }

var conclusionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`github\.event\.workflow_run\.conclusion\s*==\s*'success'`)
})

// upstreamScans returns the scans of the workflows that a workflow_run
// trigger waits for, when that is the workflow's only trigger and the
// signing job (or a job it needs) requires the run to have succeeded. The
// note explains, otherwise, why those scans do not gate.
func (a *analysis) upstreamScans(g *graph, s *event) ([]*event, string) {
	f := g.file
	if len(f.RunAfter) == 0 {
		return nil, ""
	}
	if len(f.Triggers) != 1 || f.Triggers[0] != "workflow_run" {
		return nil, fmt.Sprintf(" (it also runs on %s, not only after %s)", strings.Join(f.Triggers, ", "), strings.Join(f.RunAfter, ", "))
	}
	checked := false
	jobs := []*jobInst{s.Job}
	for k := range g.closure[s.Job.Key] {
		jobs = append(jobs, g.byKey[k])
	}
	for _, j := range jobs {
		for _, c := range j.ifs() {
			if conclusionRE().MatchString(model.CondText(c)) {
				checked = true
			}
		}
	}
	if !checked {
		return nil, fmt.Sprintf(" (it runs after %s, but no job checks github.event.workflow_run.conclusion == 'success')", strings.Join(f.RunAfter, ", "))
	}
	var out []*event
	for _, og := range a.graphs {
		name := og.file.Name
		if name == "" {
			name = og.file.Path
		}
		if og == g || !slices.Contains(f.RunAfter, name) {
			continue
		}
		for _, e := range og.events {
			if e.Kind == evScan {
				out = append(out, e)
			}
		}
	}
	return out, ""
}

// blockingReasons says why a scan's failure would not stop the signing
// step (nil when it would). With sign nil, it judges the scan alone.
func (a *analysis) blockingReasons(g *graph, p, s *event) []string {
	reasons := slices.Clone(p.ToolReasons)
	if p.sh != nil && !(s != nil && sameChain(p, s)) {
		for _, lvl := range append(slices.Clone(p.chain), shPos{sh: p.sh, ci: p.ci}) {
			if lvl.why != "" {
				reasons = append(reasons, lvl.why)
				continue
			}
			if ok, why := lvl.sh.Stops(lvl.ci); !ok {
				reasons = append(reasons, why)
			}
		}
	}
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
	if p.g != nil && s.g != nil && p.g != s.g {
		// A scan in the workflow that a workflow_run trigger waits for: its
		// failure must fail that run, which the signing workflow checks.
		if c := strings.TrimSpace(p.Job.Def.ContinueOnError); c != "" && c != "false" {
			reasons = append(reasons, fmt.Sprintf("the scan job %s has continue-on-error: %s, so the run can succeed with a failed scan", p.Job.display(), c))
		}
		if part := skippable(p.Step.Ifs, nil); part != "" {
			reasons = append(reasons, fmt.Sprintf("the scan step runs only if %s", part))
		}
		return reasons
	}
	if part := skippable(p.Step.Ifs, append(slices.Clone(s.Step.Ifs), s.Job.ifs()...)); part != "" {
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
		reasons = append(reasons, fmt.Sprintf("the scan job %s has continue-on-error: true", p.Job.display()))
	} else if c != "" && c != "false" {
		reasons = append(reasons, fmt.Sprintf("the scan job %s has continue-on-error: %s, which may be true", p.Job.display(), c))
	}
	if over := g.overrides(p.Job, s.Job); len(over) > 0 {
		var parts []string
		for _, j := range over {
			parts = append(parts, fmt.Sprintf("job %s has if: %s", j.display(), strings.Join(j.ifs(), " && ")))
		}
		reasons = append(reasons, strings.Join(parts, ", ")+", so it runs even when the scan job fails")
	}
	return reasons
}

// overrides returns the jobs whose if: lets them run after a failure and
// through which a failed scan job no longer skips the signing job; nil
// when the failure does reach it.
func (g *graph) overrides(scan, sign *jobInst) []*jobInst {
	memo := map[string]bool{}
	var over []*jobInst
	var skipped func(k *jobInst) bool
	skipped = func(k *jobInst) bool {
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
			nj := g.byKey[n]
			if nj == nil || (nj != scan && !g.closure[n][scan.Key]) {
				continue
			}
			if skipped(nj) {
				res = true
				via = append(via, "needs."+needID(k, n)+".result")
			}
		}
		if res {
			for _, c := range k.ifs() {
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
func needID(k *jobInst, n string) string {
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

// sameChain reports whether the signing command runs only if the scan
// succeeded because they are joined by && in one script.
func sameChain(p, s *event) bool {
	return p.sh != nil && p.sh == s.sh && p.sh.AndChain(p.ci, s.ci)
}

// refCmp is the comparison of a scanned and a signed reference.
type refCmp struct {
	Mismatch bool
	Why      string
	Compared string
}

var matrixRefRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`matrix\.([a-z0-9_-]+)`) })

// compareRefs compares the scanned and the signed reference as written,
// resolved as far as the repository shows. Only a visible difference is a
// mismatch; what cannot be compared is not.
func (a *analysis) compareRefs(g *graph, scan, sign *event) refCmp {
	c := a.compareRefsAsWritten(g, scan, sign)
	if c.Mismatch || sign.Blob || scan.AllPlatforms || (scan.TKind != "image" && scan.TKind != "tar") {
		return c
	}
	// The same image, but does the scan cover every platform signed?
	gt := sign.Target
	orig := a.origin(g, sign, gt, imageref.Parse(gt))
	if orig == nil {
		return c
	}
	built := model.SplitList(orig.Platforms)
	if len(built) < 2 {
		return c
	}
	var missing []string
	for _, p := range built {
		if !slices.Contains(scan.ScanPlatforms, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return c
	}
	if len(scan.ScanPlatforms) == 0 {
		return refCmp{Mismatch: true,
			Compared: fmt.Sprintf("platforms built at %s: %s; platforms scanned: one, the runner's", orig.ref(g).Location(), orig.Platforms),
			Why: fmt.Sprintf("the signed image is a multi-platform index (%s) and the scan covers one platform only: trivy and grype scan one platform of an index unless given --platform, so the others are signed without being scanned",
				orig.Platforms)}
	}
	return refCmp{Mismatch: true,
		Compared: fmt.Sprintf("platforms built at %s: %s; platforms scanned: %s", orig.ref(g).Location(), orig.Platforms, strings.Join(scan.ScanPlatforms, ",")),
		Why:      fmt.Sprintf("the signed image is a multi-platform index, and %s %s signed without being scanned", strings.Join(missing, ", "), plural(len(missing), "is", "are"))}
}

// compareRefsAsWritten compares the references themselves.
func (a *analysis) compareRefsAsWritten(g *graph, scan, sign *event) refCmp {
	if sign.Blob || sign.TKind == "blob" || scan.TKind == "gates" || scan.TKind == "sbom" || scan.TKind == "unknown" {
		return refCmp{}
	}
	compared := fmt.Sprintf("scanned %s, signed %s", show(scan), show(sign))
	if scan.TKind == "fs" {
		if sign.TKind == "image" || sign.TKind == "" {
			return refCmp{Mismatch: true, Compared: compared,
				Why: "it scans the filesystem " + quote(scan.Target) + ", not the image, so the base image's packages are never scanned"}
		}
		return refCmp{}
	}
	st, gt := scan.Target, sign.Target
	if st == "" || gt == "" {
		return refCmp{}
	}
	var so *event
	if scan.TKind == "tar" {
		so = a.tarOrigin(g, scan)
		if so == nil {
			return refCmp{}
		}
	}
	if st == gt {
		return refCmp{} // matrix coverage is judged by matrixGap
	}
	sr, gr := imageref.Parse(st), imageref.Parse(gt)
	if so == nil {
		if known(sr.Repo) && known(gr.Repo) && sr.Repo != gr.Repo {
			return refCmp{Mismatch: true, Compared: compared, Why: fmt.Sprintf("the repositories differ (%s and %s)", unqualify(sr.Repo), unqualify(gr.Repo))}
		}
		if sr.Digest != "" && gr.Digest != "" {
			if sr.Digest != gr.Digest && !model.Opaque(sr.Digest) && !model.Opaque(gr.Digest) {
				return refCmp{Mismatch: true, Compared: compared, Why: fmt.Sprintf("the digests differ (%s and %s)", unqualify(sr.Digest), unqualify(gr.Digest))}
			}
			return refCmp{}
		}
		so = a.origin(g, scan, st, sr)
	}
	gorig := a.origin(g, sign, gt, gr)
	if c, ok := a.mutableTagScan(g, scan, sign, sr, gr, so, gorig, compared); ok {
		return c
	}
	if so != nil && gorig != nil && so != gorig {
		switch {
		case so.Platforms != gorig.Platforms:
			return refCmp{Mismatch: true, Compared: compared,
				Why: fmt.Sprintf("the scanned image comes from the build at %s for platforms %s, the signed one from the build at %s for %s",
					so.ref(g).Location(), platforms(so.Platforms), gorig.ref(g).Location(), platforms(gorig.Platforms))}
		case so.Inputs != gorig.Inputs:
			return refCmp{Mismatch: true, Compared: compared,
				Why: fmt.Sprintf("the scanned image comes from the build at %s, the signed one from a different build at %s (%s vs %s)",
					so.ref(g).Location(), gorig.ref(g).Location(), so.Inputs, gorig.Inputs)}
		}
		return refCmp{} // rebuilt from the same inputs (cache): not visibly different
	}
	if so == nil && gorig == nil && sr.Digest == "" && gr.Digest == "" && sr.Tag != "" && gr.Tag != "" &&
		sr.Tag != gr.Tag && !model.Opaque(sr.Tag) && !model.Opaque(gr.Tag) {
		return refCmp{Mismatch: true, Compared: compared, Why: fmt.Sprintf("the tags differ (%s and %s)", unqualify(sr.Tag), unqualify(gr.Tag))}
	}
	return refCmp{}
}

// mutableTagScan recognises a scan of a mutable tag (:latest, the
// previous release's tag) of the repository whose freshly built digest is
// signed, where no build before the scan produced that tag: the tag names
// whatever was pushed last, not the digest signed.
func (a *analysis) mutableTagScan(g *graph, scan, sign *event, sr, gr imageref.Ref, so, gorig *event, compared string) (refCmp, bool) {
	if so != nil || gorig == nil || gorig.DigestOf == "" || !strings.Contains(gr.Digest, gorig.DigestOf) ||
		scan.TKind != "image" || sr.Digest != "" || !known(sr.Repo) || model.Opaque(sr.Tag) || sr.Repo != gr.Repo {
		return refCmp{}, false
	}
	tag := sr.Tag
	if tag == "" {
		tag = "latest"
	}
	if g2 := scan.g; g2 != nil {
		g = g2
	}
	for _, e := range g.events {
		if e.Kind != evBuild && e.Kind != evPush || !(e.Job == scan.Job && e.before(scan) || g.before(e.Job, scan.Job)) {
			continue
		}
		for _, t := range append(slices.Clone(e.Tags), e.Written) {
			tr := imageref.Parse(t)
			if strings.Contains(t, ".outputs.tags") || model.WholeExpr(t) || tr.Repo == sr.Repo && (tr.Tag == tag || mayBeTag(tr.Tag)) {
				return refCmp{}, false // this build may have pushed the tag scanned
			}
		}
	}
	return refCmp{Mismatch: true, Compared: compared,
		Why: fmt.Sprintf("it scans the mutable tag %s, which no build before the scan produced, so it names whatever was pushed last (an earlier release), while the digest signed is the one built at %s",
			quote(sr.Repo+":"+tag), gorig.ref(g).Location())}, true
}

// mayBeTag reports whether a pushed tag that is not literal could be a
// fixed tag such as latest: a value from env, inputs, vars or a list of
// tags could; github.sha, github.ref_name or a step's version output is
// this run's own.
func mayBeTag(tag string) bool {
	if !strings.Contains(tag, "${{") {
		return strings.ContainsAny(tag, "$`")
	}
	for _, sp := range model.ExprSpans(tag) {
		e := model.NormExpr(tag[sp.Start+3 : sp.End-2])
		if !strings.HasPrefix(e, "github.") && !strings.HasPrefix(e, "steps.") && !strings.HasPrefix(e, "jobs.") && !strings.HasPrefix(e, "needs.") {
			return true
		}
	}
	return false
}

func known(repo string) bool { return repo != "" && !model.WholeExpr(repo) && !model.Opaque(repo) }

// show quotes a reference as the file writes it, and what it resolves to
// only when that says more than the same expression spelled out in full.
func show(e *event) string {
	if e.Written == "" {
		return quote(unqualify(e.Target))
	}
	if r := unqualify(e.Target); e.Target != "" && !sameText(r, e.Written) {
		return fmt.Sprintf("%s (resolved: %s)", quote(e.Written), quote(r))
	}
	return quote(e.Written)
}

// qualifiedStepRE matches the job-qualified step references the resolver
// writes (${{ jobs.JOB.steps.ID… }}) for the ${{ steps.ID… }} a file says.
var qualifiedStepRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{\{ jobs\.[a-z0-9_/-]+\.steps\.`) })

// unqualify spells a resolved reference's step expressions as a workflow
// would write them.
func unqualify(s string) string { return qualifiedStepRE().ReplaceAllString(s, "${{ steps.") }

// sameText: a and b differ at most in spacing and letter case (expressions
// are case-insensitive, and the resolver normalises both).
func sameText(a, b string) bool {
	strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
	return strings.EqualFold(strip(a), strip(b))
}

func quote(s string) string { return "`" + s + "`" }

func platforms(p string) string {
	if p == "" {
		return "(the runner's own)"
	}
	return p
}

// origin finds the build or push that produced a reference: the build
// whose digest output it names, or the latest earlier build tagging it.
func (a *analysis) origin(g *graph, at *event, ref string, r imageref.Ref) *event {
	if at.g != nil {
		g = at.g
	}
	var found *event
	for _, e := range g.events {
		if e.Kind != evBuild && e.Kind != evPush || e == at {
			continue
		}
		if !(e.Job == at.Job && e.before(at) || g.before(e.Job, at.Job)) {
			continue
		}
		if e.DigestOf != "" && strings.Contains(r.Digest, e.DigestOf) {
			return e
		}
		if r.Digest != "" {
			continue
		}
		for _, t := range e.Tags {
			if t == ref || (strings.Contains(t, ".outputs.tags") && sameMeta(t, ref)) {
				found = e
			}
		}
	}
	return found
}

// sameMeta reports whether a tag expression and a reference name outputs
// of the same docker/metadata-action step.
func sameMeta(tags, ref string) bool {
	i := strings.Index(tags, ".outputs.tags")
	j := strings.LastIndex(tags[:i], "${{ ")
	if j < 0 {
		return false
	}
	return strings.Contains(ref, tags[j+4:i]+".outputs.")
}

// tarOrigin finds the build or docker save that wrote a scanned tarball.
func (a *analysis) tarOrigin(g *graph, scan *event) *event {
	if scan.g != nil {
		g = scan.g
	}
	var found *event
	for _, e := range g.events {
		if (e.Kind == evBuild || e.Kind == evPush) && e.TKind == "tar" && e.Target != "" &&
			path.Clean(e.Target) == path.Clean(scan.Target) &&
			(e.Job == scan.Job && e.before(scan) || g.before(e.Job, scan.Job)) {
			found = e
		}
	}
	if found != nil && found.Tool == "docker save" && len(found.Tags) > 0 {
		if o := a.origin(g, found, found.Tags[0], imageref.Parse(found.Tags[0])); o != nil {
			return o
		}
	}
	return found
}

// pushBefore finds a push with release tags of the signed repository that
// happens before the scan gate.
func (a *analysis) pushBefore(g *graph, gate, sign *event) *event {
	if sign.Blob {
		return nil
	}
	if gate.g != nil {
		g = gate.g // the scan may be in the workflow a workflow_run waits for
	}
	signRepo := imageref.Parse(sign.Target).Repo
	for _, e := range g.events {
		if e.Kind != evPush || !e.Release {
			continue
		}
		if !(e.Job == gate.Job && e.before(gate) || g.before(e.Job, gate.Job)) {
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
func (a *analysis) uploads(g *graph, gate *event) {
	if gate.Kind != evScan {
		return
	}
	if gate.g != nil {
		g = gate.g
	}
	var after []*event
	for _, e := range gate.Job.events {
		if e.Kind != evUpload {
			continue
		}
		if e.Tool == "actions/upload-artifact" && (gate.Output == "" || !strings.Contains(e.Target, path.Base(gate.Output))) {
			continue
		}
		if gate.before(e) {
			after = append(after, e)
			continue
		}
		// Uploaded before the gate: a first, non-blocking pass of the same
		// target whose results were uploaded already (scan twice pattern).
		for _, sc := range gate.Job.events {
			if sc.Kind == evScan && sc != gate && sc.before(e) && sc.Target == gate.Target {
				return
			}
		}
	}
	loc := &checks.Location{Path: gate.Path, Line: gate.Line}
	props := map[string]any{"workflow": g.file.Path, "job": gate.Job.Key, "step": gate.Step.Key, "tool": gate.Tool}
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
			model.DisplayStep(gate.Step.Def), gate.Job.display(), gate.Tool, u.Tool, u.ref(g).Location())
		props["upload"] = u.ref(g).Location()
	default:
		msg = fmt.Sprintf("The results of the scan gate %s in job %s (%s) are not uploaded to code scanning or as an artifact; when it fails, they are only in the job log.",
			model.DisplayStep(gate.Step.Def), gate.Job.display(), gate.Tool)
	}
	a.add(book.Finding("WF-SCAN-RESULTS-NOT-UPLOADED", stepSubject(g.file.Path, gate.Job.Key, gate.Step.Key), msg, loc).With(props))
}

// hints reports cosign installed in a job where no signing is visible.
func (a *analysis) hints(g *graph) {
	for _, j := range g.jobs {
		var hint *event
		signs := false
		for _, e := range j.events {
			switch {
			case e.Kind == evHint && hint == nil:
				hint = e
			case e.Kind == evSign:
				signs = true
			}
		}
		if hint == nil || signs {
			continue
		}
		a.add(book.Finding("WF-SIGNING-NOT-VISIBLE", stepSubject(g.file.Path, j.Key, hint.Step.Key),
			fmt.Sprintf("Job %s installs cosign (%s) but none of its steps signs, as far as they were followed (scripts, build-tool targets, eval strings); signing inside a JavaScript or Docker action, a remote action or a non-shell program cannot be checked for a scan before it.",
				j.display(), hint.Tool),
			&checks.Location{Path: hint.Path, Line: hint.Line}).With(map[string]any{"workflow": g.file.Path, "job": j.Key}))
	}
}
