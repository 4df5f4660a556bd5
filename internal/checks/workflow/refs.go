package workflow

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks/workflow/imageref"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/steps"
)

// Whether the scan before a signing step looks at what it signs: the
// references as written and resolved, the builds they come from, and the
// platforms of a multi-platform image.

// refCmp is the comparison of a scanned and a signed reference.
type refCmp struct {
	Mismatch bool
	Why      string
	Compared string
}

// compareRefs compares the scanned and the signed reference as written,
// resolved as far as the repository shows. Only a visible difference is a
// mismatch; what cannot be compared is not.
func (a *analysis) compareRefs(g *steps.Events, scan, sign *steps.Event) refCmp {
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
			Compared: fmt.Sprintf("platforms built at %s: %s; platforms scanned: one, the runner's", ref(g, orig).Location(), orig.Platforms),
			Why: fmt.Sprintf("the signed image is a multi-platform index (%s) and the scan covers one platform only: trivy and grype scan one platform of an index unless given --platform, so the others are signed without being scanned",
				orig.Platforms)}
	}
	return refCmp{Mismatch: true,
		Compared: fmt.Sprintf("platforms built at %s: %s; platforms scanned: %s", ref(g, orig).Location(), orig.Platforms, strings.Join(scan.ScanPlatforms, ",")),
		Why:      fmt.Sprintf("the signed image is a multi-platform index, and %s %s signed without being scanned", strings.Join(missing, ", "), plural(len(missing), "is", "are"))}
}

// compareRefsAsWritten compares the references themselves.
func (a *analysis) compareRefsAsWritten(g *steps.Events, scan, sign *steps.Event) refCmp {
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
	var so *steps.Event
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
					ref(g, so).Location(), platforms(so.Platforms), ref(g, gorig).Location(), platforms(gorig.Platforms))}
		case so.Inputs != gorig.Inputs:
			return refCmp{Mismatch: true, Compared: compared,
				Why: fmt.Sprintf("the scanned image comes from the build at %s, the signed one from a different build at %s (%s vs %s)",
					ref(g, so).Location(), ref(g, gorig).Location(), so.Inputs, gorig.Inputs)}
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
func (a *analysis) mutableTagScan(g *steps.Events, scan, sign *steps.Event, sr, gr imageref.Ref, so, gorig *steps.Event, compared string) (refCmp, bool) {
	if so != nil || gorig == nil || gorig.DigestOf == "" || !strings.Contains(gr.Digest, gorig.DigestOf) ||
		scan.TKind != "image" || sr.Digest != "" || !known(sr.Repo) || model.Opaque(sr.Tag) && !chosenOutside(sr.Tag) || sr.Repo != gr.Repo {
		return refCmp{}, false
	}
	tag := sr.Tag
	if tag == "" {
		tag = "latest"
	}
	if g2 := scan.In; g2 != nil {
		g = g2
	}
	for _, e := range g.All {
		if e.Kind != steps.Build && e.Kind != steps.Push || !(e.Job == scan.Job && e.Before(scan) || g.Before(e.Job, scan.Job)) {
			continue
		}
		for _, t := range append(slices.Clone(e.Tags), e.Written) {
			tr := imageref.Parse(t)
			if strings.Contains(t, ".outputs.tags") || model.WholeExpr(t) || tr.Repo == sr.Repo && (tr.Tag == tag || mayBeTag(tr.Tag)) {
				return refCmp{}, false // this build may have pushed the tag scanned
			}
		}
	}
	if model.Opaque(tag) {
		// ${{ inputs.scan-tag }}, ${{ vars.SCAN_TAG || 'latest' }}: chosen
		// outside the run, and not a tag the run's build pushed.
		return refCmp{Mismatch: true, Compared: compared,
			Why: fmt.Sprintf("it scans the tag %s, a value chosen outside this run (an input, vars or env value, such as latest) that no build before the scan pushed, so it names whatever was pushed under it last, while the digest signed is the one built at %s",
				quote(sr.Repo+":"+tag), ref(g, gorig).Location())}, true
	}
	return refCmp{Mismatch: true, Compared: compared,
		Why: fmt.Sprintf("it scans the mutable tag %s, which no build before the scan produced, so it names whatever was pushed last (an earlier release), while the digest signed is the one built at %s",
			quote(sr.Repo+":"+tag), ref(g, gorig).Location())}, true
}

// chosenOutside reports whether an unresolved tag is a value chosen
// outside the run — every expression in it reads inputs., vars. or
// secrets. (${{ inputs.scan-tag }}, ${{ vars.SCAN_TAG || 'latest' }}) —
// and it holds no shell expansion ($TAG, $(cat VERSION)), computed
// expression (format(), fromJSON()) or env. value no step is seen to set
// (an action may export it), any of which may be this run's own tag.
func chosenOutside(tag string) bool {
	spans := model.ExprSpans(tag)
	rest := tag
	for i := len(spans) - 1; i >= 0; i-- {
		e := model.NormExpr(tag[spans[i].Start+3 : spans[i].End-2])
		ok := false
		for _, p := range []string{"inputs.", "vars.", "secrets.", "github.event.inputs."} {
			ok = ok || strings.HasPrefix(e, p)
		}
		if !ok {
			return false
		}
		rest = rest[:spans[i].Start] + rest[spans[i].End:]
	}
	return len(spans) > 0 && !strings.ContainsAny(rest, "$`")
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
func show(e *steps.Event) string {
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
func (a *analysis) origin(g *steps.Events, at *steps.Event, ref string, r imageref.Ref) *steps.Event {
	if at.In != nil {
		g = at.In
	}
	var found *steps.Event
	for _, e := range g.All {
		if e.Kind != steps.Build && e.Kind != steps.Push || e == at {
			continue
		}
		if !(e.Job == at.Job && e.Before(at) || g.Before(e.Job, at.Job)) {
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
func (a *analysis) tarOrigin(g *steps.Events, scan *steps.Event) *steps.Event {
	if scan.In != nil {
		g = scan.In
	}
	var found *steps.Event
	for _, e := range g.All {
		if (e.Kind == steps.Build || e.Kind == steps.Push) && e.TKind == "tar" && e.Target != "" &&
			path.Clean(e.Target) == path.Clean(scan.Target) &&
			(e.Job == scan.Job && e.Before(scan) || g.Before(e.Job, scan.Job)) {
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
