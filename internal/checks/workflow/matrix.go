package workflow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/imageref"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/steps"
)

// Matrix coverage: a signing job over a matrix signs one image per
// combination; each must have a blocking scan before it. A scan job over
// fewer values (component: [web] before signing [web, jobs]) leaves the
// others signed and never scanned.

// instances returns the values a target takes over a job's matrix
// combinations, each with its combination; nil when the target does not
// depend on the matrix, ok false when the matrix is not visible.
func instances(target string, j *graph.Job) ([]string, []map[string]string, bool) {
	if !strings.Contains(strings.ToLower(target), "matrix.") {
		return nil, nil, true
	}
	d := j.Def
	if d.MatrixOpaque || len(d.Combos) == 0 {
		return nil, nil, false
	}
	var vals []string
	for _, c := range d.Combos {
		vals = append(vals, substMatrix(target, c))
	}
	return vals, d.Combos, true
}

// substMatrix replaces ${{ matrix.K }} with the combination's value.
func substMatrix(s string, combo map[string]string) string {
	spans := model.ExprSpans(s)
	var b strings.Builder
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.Start])
		e := model.NormExpr(s[sp.Start+3 : sp.End-2])
		if k, ok := strings.CutPrefix(e, "matrix."); ok {
			if v, found := combo[k]; found {
				b.WriteString(v)
				prev = sp.End
				continue
			}
		}
		b.WriteString(s[sp.Start:sp.End])
		prev = sp.End
	}
	b.WriteString(s[prev:])
	return b.String()
}

// sameImage compares a scanned and a signed value: equal, or the same
// repository when both name one.
func sameImage(scanned, signed string) bool {
	if scanned == signed {
		return true
	}
	sr, gr := imageref.Parse(scanned), imageref.Parse(signed)
	return known(sr.Repo) && sr.Repo == gr.Repo
}

// matrixGap returns the signed values no blocking scan before the
// signing step covers, and a note when the matrix is not visible.
func (a *analysis) matrixGap(g *steps.Events, s *steps.Event, pre []*steps.Event) ([]string, string) {
	if s.Blob || s.TKind == "unknown" || s.Target == "" {
		return nil, ""
	}
	signed, combos, ok := instances(s.Target, s.Job)
	if signed == nil && ok {
		return nil, ""
	}
	var blocking []*steps.Event
	for _, p := range pre {
		if p.TKind == "gates" || len(a.blockingReasons(g, p, s)) == 0 {
			blocking = append(blocking, p)
		}
	}
	if !ok {
		// The signing job's matrix is not visible: only a scan in the same
		// job, of the same reference as written, covers every instance.
		for _, p := range blocking {
			if p.TKind == "gates" || p.Job == s.Job && p.Target == s.Target {
				return nil, ""
			}
		}
		return []string{s.Target}, "the signing job's matrix is an expression, so the values it signs are not visible"
	}
	var missing []string
	for i, v := range signed {
		covered := false
		for _, p := range blocking {
			if p.TKind == "gates" {
				covered = true
				break
			}
			if p.Job == s.Job {
				// The same job instance scans before it signs.
				if sameImage(substMatrix(p.Target, combos[i]), v) {
					covered = true
				}
				continue
			}
			scanned, _, pok := instances(p.Target, p.Job)
			if scanned == nil && pok {
				scanned = []string{p.Target}
			}
			if slices.ContainsFunc(scanned, func(x string) bool { return sameImage(x, v) }) {
				covered = true
			}
		}
		if !covered && !slices.Contains(missing, v) {
			missing = append(missing, v)
		}
	}
	return missing, ""
}

// matrixFinding raises WF-MATRIX-NOT-SCANNED.
func (a *analysis) matrixMessage(what string, missing []string, note string) string {
	if note != "" {
		return fmt.Sprintf("%s; %s, and no blocking scan in the same job scans %s before it.", what, note, quote(missing[0]))
	}
	return fmt.Sprintf("%s over its matrix; no blocking scan before it covers %s, which %s signed and never scanned.",
		what, strings.Join(quoteAll(missing), ", "), plural(len(missing), "is", "are"))
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = quote(x)
	}
	return out
}
