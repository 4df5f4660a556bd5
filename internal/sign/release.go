package sign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/evidence"
)

// GatesFunc runs the release gates against t's digest and returns the
// judged evidence with the raw reports its scans name. It must not write
// to the registry.
type GatesFunc func(ctx context.Context, t *Target) (*evidence.Bundle, error)

// Release is the order of operations that cannot be skipped: resolve the
// digest, run the gates, and only on GO sign that digest, attach the
// vulnerability and evidence attestations, and verify all three.
type Release struct {
	Signer *Signer
	Gates  GatesFunc
	// Scans picks the vulnerability scans of t out of the bundle; each
	// becomes a vulnerability attestation. Nil uses ScansFromBundle.
	Scans func(b *evidence.Bundle, t *Target) ([]Scan, error)
	// RequireSBOM refuses a release unless every scanned image has its
	// SBOM in the evidence (image release --sbom). An SBOM the scans
	// recorded is attested either way.
	RequireSBOM bool
	// Invocation describes the CI run, for the vulnerability predicate.
	Invocation Invocation
	// Timeout bounds the network work: resolving, and separately the
	// sign → attest → verify sequence. Zero means 5 minutes.
	Timeout time.Duration
	Now     func() time.Time
	// Scanner is who gathered carried evidence (the key its envelope
	// verified with); the evidence attestation names it.
	Scanner *Identity
}

// Phases are the wall times of a release, for people and benchmarks.
type Phases struct {
	// Key is loading the signing key (cosign.key's scrypt decryption, a
	// KMS lookup) or preparing keyless signing; set by the caller that
	// built the Signer.
	Key     time.Duration `json:"key"`
	Resolve time.Duration `json:"resolve"`
	Gates   time.Duration `json:"gates"`
	Sign    time.Duration `json:"sign"`
	Attest  time.Duration `json:"attest"`
	Verify  time.Duration `json:"verify"`
}

// Total is the sum of the phases.
func (p Phases) Total() time.Duration {
	return p.Key + p.Resolve + p.Gates + p.Sign + p.Attest + p.Verify
}

// ReleaseResult is everything a release did, step by step.
type ReleaseResult struct {
	Target       *Target            `json:"target,omitempty"`
	Evidence     *evidence.Document `json:"-"`
	Signer       Identity           `json:"signer"`
	Signature    *SignResult        `json:"signature,omitempty"`
	Attestations *AttestResult      `json:"attestations,omitempty"`
	Verification *Verification      `json:"verification,omitempty"`
	Phases       Phases             `json:"phases"`
}

// Written lists what this run put into the registry, one line each.
func (r *ReleaseResult) Written() []string {
	var out []string
	if s := r.Signature; s != nil {
		switch {
		case s.Written:
			out = append(out, "signature "+s.Tag)
		case s.Existing:
			out = append(out, "signature "+s.Tag+" (already there, reused)")
		}
	}
	if a := r.Attestations; a != nil && a.Written {
		out = append(out, fmt.Sprintf("attestations %s (%s)", a.Tag, strings.Join(a.PredicateTypes, ", ")))
	}
	return out
}

// ErrNoGo means the gates said NO-GO: nothing was signed or pushed.
var ErrNoGo = errors.New("the verdict is NO-GO: nothing was signed, nothing was pushed")

// RefusedError is a GO that cannot be signed (the evidence does not cover
// the digest, a scan report is missing): nothing was written.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string {
	return "refusing to sign: " + e.Reason + "; nothing was written"
}

// IncompleteError means the registry holds part of the set: Result says
// exactly which part. Running the release again completes it; the
// signature already there is reused, never duplicated.
type IncompleteError struct {
	Step   string
	Result *ReleaseResult
	Err    error
}

func (e *IncompleteError) Error() string {
	written := e.Result.Written()
	what := "nothing"
	if len(written) > 0 {
		what = strings.Join(written, "; ")
	}
	return fmt.Sprintf("%s failed: %v; written so far: %s; run the release again to complete the set (an existing signature is reused, not duplicated)", e.Step, e.Err, what)
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// Run releases image. On NO-GO it returns the result (with the evidence)
// and ErrNoGo; on a failure after the first write an *IncompleteError.
func (r *Release) Run(ctx context.Context, image string) (*ReleaseResult, error) {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	res := &ReleaseResult{Signer: r.Signer.Identity()}
	phase := func(d *time.Duration, f func() error) error {
		start := time.Now()
		err := f()
		*d = time.Since(start)
		return err
	}

	err := phase(&res.Phases.Resolve, func() error {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		t, err := Resolve(rctx, image, r.Signer.Registry())
		res.Target = t
		return err
	})
	if err != nil {
		return res, err
	}
	t := res.Target

	var bundle *evidence.Bundle
	err = phase(&res.Phases.Gates, func() error {
		var err error
		bundle, err = r.Gates(ctx, t)
		if bundle != nil {
			res.Evidence = bundle.Doc
		}
		return err
	})
	if err != nil {
		return res, err
	}
	doc := res.Evidence
	if doc == nil {
		return res, &RefusedError{Reason: "the gates returned no evidence"}
	}
	if !doc.GO() {
		return res, ErrNoGo
	}
	if !SubjectsCover(doc.Subjects, t) {
		return res, &RefusedError{Reason: fmt.Sprintf("the GO evidence does not name %s among its scanned subjects (was the image-scan check pinned to it?)", t.Digest)}
	}
	pick := r.Scans
	if pick == nil {
		pick = ScansFromBundle
	}
	scans, err := pick(bundle, t)
	if err != nil {
		return res, &RefusedError{Reason: err.Error()}
	}
	stmts, withSBOM, err := r.statements(scans, t, doc)
	if err != nil {
		return res, &RefusedError{Reason: err.Error()}
	}

	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = phase(&res.Phases.Sign, func() error {
		sr, err := r.Signer.Sign(pctx, t)
		res.Signature = &sr
		return err
	})
	res.Signer = r.Signer.Identity() // keyless: now certified
	if err != nil {
		return res, fmt.Errorf("sign %s: %w (nothing was written)", t, err)
	}

	err = phase(&res.Phases.Attest, func() error {
		ep, err := NewEvidencePredicate(doc, t, res.Signer)
		if err != nil {
			return err
		}
		ep.Scanner = r.Scanner
		stmts = append(stmts, Statement{PredicateType: EvidencePredicateType, Predicate: ep})
		ar, err := r.Signer.Attest(pctx, t, stmts)
		res.Attestations = &ar
		return err
	})
	if err != nil {
		return res, &IncompleteError{Step: "attest", Result: res, Err: err}
	}

	err = phase(&res.Phases.Verify, func() error {
		v, err := r.Signer.SelfVerifier(VerifyOptions{RequireVuln: true, RequireSBOM: withSBOM, Now: now}).Verify(pctx, t)
		res.Verification = v
		if err != nil {
			return err
		}
		if !v.OK() {
			return errors.New(strings.Join(v.Failures, "; "))
		}
		return nil
	})
	if err != nil {
		return res, &IncompleteError{Step: "verify", Result: res, Err: err}
	}
	return res, nil
}

// statements are the vulnerability attestations of the scans and the SBOM
// attestation of each scan that recorded one; withSBOM says there were
// SBOMs. With RequireSBOM, a scan without one refuses the release.
func (r *Release) statements(scans []Scan, t *Target, doc *evidence.Document) (stmts []Statement, withSBOM bool, err error) {
	for _, sc := range scans {
		st, err := VulnStatement(sc, t, r.Invocation, doc.Tool)
		if err != nil {
			return nil, false, err
		}
		stmts = append(stmts, st)
	}
	covered := map[string]bool{}
	for _, sc := range scans {
		if sc.SBOM == nil {
			if r.RequireSBOM {
				return nil, false, fmt.Errorf("--sbom: the scan of %s recorded no SBOM (set sbom: cyclonedx on the image-scan check that scanned it)", sc.Record.Digest)
			}
			continue
		}
		st, err := SBOMStatement(sc, t)
		if err != nil {
			return nil, false, err
		}
		stmts = append(stmts, st)
		covered[sc.Record.Digest] = true
	}
	// The self-check demands an SBOM of every image only when each has one.
	withSBOM = len(covered) > 0
	for d := range t.images() {
		withSBOM = withSBOM && covered[d]
	}
	return stmts, withSBOM, nil
}
