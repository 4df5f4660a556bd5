// Package release owns "the evidence for this digest", the one thing a
// signer needs: live (the configured gates run with the image-scan check
// pinned to the digest) or carried (a bundle gathered on another machine,
// re-derived from its raw reports and re-judged with this machine's own
// settings and policy). Both are judged by the pipeline's own code; the
// command only parses flags and renders, and sign.Release does the
// registry work.
package release

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/imagescan"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/pipeline"
	"github.com/readiness-dev/readiness/internal/sign"
)

// ScanType is the type of the gate that scans the image to be signed.
const ScanType = imagescan.Type

// placeholderDigest stands in for the digest when the checks are built
// before it is known, so that a typo is a usage error before anything runs.
const placeholderDigest = "example.invalid/placeholder@sha256:0000000000000000000000000000000000000000000000000000000000000000"

// Live is evidence gathered on the spot.
type Live struct {
	Pipeline *pipeline.Pipeline
	Config   *config.Config
	// ScanCheck names the image-scan check to pin (--scan-check).
	ScanCheck string
	Policy    pipeline.PolicyOptions
	Timeout   time.Duration
	// Insecure lets trivy read a plain-HTTP or unverified-TLS registry.
	Insecure bool
	// SBOM has the pinned check write a CycloneDX SBOM with each scan
	// (image release --sbom), as its sbom: cyclonedx would.
	SBOM bool
	// Judge runs a selection (the command's, with its progress display);
	// Pipeline.Run when nil.
	Judge func(context.Context, pipeline.Selection) (*evidence.Document, error)
}

// Selection is the pipeline selection that gathers the evidence for ref;
// it fails (a usage error) when a check cannot be built.
func (l *Live) Selection(ref string) (pipeline.Selection, error) {
	pin, err := pipeline.SpecOrDefault(l.Config, imagescan.Type, "--scan-check", l.ScanCheck)
	if err != nil {
		return pipeline.Selection{}, err
	}
	set := map[string]any{"images": []string{ref}, "inputs": []string{}, "oci_layouts": []string{}}
	if l.Insecure {
		set["insecure"] = true
	}
	if l.SBOM {
		set["sbom"] = evidence.SBOMFormatCycloneDX
	}
	sel := pipeline.Selection{
		Config: l.Config, Specs: []config.CheckSpec{pin}, Policy: l.Policy, Timeout: l.Timeout,
		Overrides: map[string]config.Overrides{pin.Name: {Set: set}},
	}
	if _, err := l.Pipeline.Jobs(sel); err != nil {
		return pipeline.Selection{}, err
	}
	return sel, nil
}

// Inputs lists the files the live run reads (no report may overwrite them).
func (l *Live) Inputs() ([]string, error) {
	sel, err := l.Selection(placeholderDigest)
	if err != nil {
		return nil, err
	}
	return sel.Inputs(), nil
}

// Gates runs the gates on t's digest.
func (l *Live) Gates(ctx context.Context, t *sign.Target) (*evidence.Bundle, error) {
	sel, err := l.Selection(t.String())
	if err != nil {
		return nil, err
	}
	judge := l.Judge
	if judge == nil {
		judge = l.Pipeline.Run
	}
	doc, err := judge(ctx, sel)
	if err != nil || doc == nil || !doc.GO() {
		return &evidence.Bundle{Doc: doc}, err
	}
	// The signer works from the reports by content address, on this
	// machine as from a carried bundle.
	b, err := evidence.CollectReports(doc)
	if err != nil {
		return &evidence.Bundle{Doc: doc}, &sign.RefusedError{Reason: err.Error()}
	}
	return b, nil
}

// Carried is evidence gathered elsewhere and carried in a bundle. Nothing
// in it is believed: the image-scan results are rebuilt from the raw
// reports it carries (by sha256) and must agree with them; a scan that ran
// under looser settings than this machine's image-scan check is refused,
// naming the difference; its VEX suppressions must be ones this machine's
// own vex: documents make, carried byte-identical in the bundle; the result is then judged by the pipeline with
// this machine's readiness.yaml (block_on, waivers, required checks) and
// policy set only. Only then is it accepted, and only for the digests its
// image-scan checks scanned.
type Carried struct {
	Pipeline *pipeline.Pipeline
	Config   *config.Config
	// Source names the bundle in messages (its file).
	Source string
	Bundle *evidence.Bundle
	Policy pipeline.PolicyOptions
	// MaxAge is the oldest evidence that may be signed.
	MaxAge time.Duration
	// Signed are the subjects the scanner signed the bundle about (its
	// envelope's in-toto subjects): every image the bundle's scans cover
	// must be one of them.
	Signed []checks.Subject

	spec config.CheckSpec
	opts imagescan.Options
}

// NewCarried prepares the judging of b with this machine's configuration:
// its image-scan check (scanCheck names it when there are several; none:
// the defaults) is decoded now, so that a bad configuration is a usage
// error before anything touches the network.
func NewCarried(p *pipeline.Pipeline, cfg *config.Config, scanCheck string, c Carried) (*Carried, error) {
	spec, err := pipeline.SpecOrDefault(cfg, imagescan.Type, "--scan-check", scanCheck)
	if err != nil {
		return nil, err
	}
	o, err := imagescan.CarriedOptions(p.Env(cfg), spec)
	if err != nil {
		return nil, pipeline.AsUsage(err)
	}
	c.Pipeline, c.Config, c.spec, c.opts = p, cfg, spec, o
	return &c, nil
}

// Gates judges the bundle for t; it implements sign.GatesFunc.
func (c *Carried) Gates(ctx context.Context, t *sign.Target) (*evidence.Bundle, error) {
	b := c.Bundle
	doc := b.Doc
	now := c.Pipeline.Now()
	for i := range doc.Checks {
		r := &doc.Checks[i]
		if err := imagescan.Rederive(r, b.Report); err != nil {
			return nil, c.refuse("the evidence in %s disagrees with its own reports: checks[%d] (%s): %v", c.Source, i, r.Check, err)
		}
		if r.Type != imagescan.Type {
			continue
		}
		if r.Status != checks.StatusError && r.Status != checks.StatusSkipped {
			diffs, err := c.opts.Looser(*r, b.Report, now)
			if err != nil {
				return nil, c.refuse("the evidence in %s: checks[%d] (%s): %v", c.Source, i, r.Check, err)
			}
			if len(diffs) > 0 {
				return nil, c.refuse("the scan in %s (check %s) ran under looser settings than this machine's image-scan check %s, so findings this machine would judge may be missing: %s; scan again with this machine's settings",
					c.Source, r.Check, c.spec.Name, strings.Join(diffs, "; "))
			}
			// VEX: judged with this machine's own documents, carried
			// byte-identical in the bundle; never fetched.
			refusals, err := c.opts.CarriedVEX(r, b.Report)
			if err != nil {
				return nil, c.refuse("the evidence in %s: checks[%d] (%s): %v", c.Source, i, r.Check, err)
			}
			if len(refusals) > 0 {
				return nil, c.refuse("the VEX suppressions in %s (check %s) are not this machine's: %s", c.Source, r.Check, strings.Join(refusals, "; "))
			}
		}
		// Judged as this machine's image-scan check: its block_on,
		// its waivers scoped to it.
		r.Check = c.spec.Name
	}
	doc.NotRun = c.notRun(doc)
	sel := pipeline.Selection{Config: c.Config, Specs: []config.CheckSpec{c.spec}, Policy: c.Policy}
	if err := c.Pipeline.JudgeCarried(ctx, doc, sel); err != nil {
		return nil, err
	}
	if !doc.GO() {
		return b, nil
	}
	age := now.Sub(doc.GeneratedAt)
	if age > c.MaxAge {
		return nil, c.refuse("the evidence in %s is %s old, older than --max-age %s; gather it again", c.Source, age.Round(time.Minute), c.MaxAge)
	}
	if age < -5*time.Minute {
		return nil, c.refuse("the evidence in %s was generated %s in the future; a clock is wrong or the file was edited", c.Source, (-age).Round(time.Minute))
	}
	if err := generatedAfterScans(doc); err != nil {
		return nil, c.refuse("the evidence in %s: %v", c.Source, err)
	}
	if missing := doc.NotRunOfType(imagescan.Type); len(missing) > 0 {
		return nil, c.refuse("the evidence in %s did not run the configured image-scan check %s; nothing it holds proves a scan", c.Source, strings.Join(missing, ", "))
	}
	// Which images were scanned is what the image-scan checks say
	// (rebuilt from their reports above), not the file's summary list
	// and not a subject another check's result claims.
	doc.Subjects = ScannedSubjects(doc)
	if !sign.SubjectsCover(doc.Subjects, t) {
		return nil, c.refuse("the evidence in %s does not cover %s (it scanned %s)", c.Source, t.Digest, subjectList(doc.Subjects))
	}
	for _, s := range doc.Subjects {
		if !slices.ContainsFunc(c.Signed, func(x checks.Subject) bool { return x.Digest == s.Digest }) {
			return nil, c.refuse("the evidence in %s scanned %s, which its signed statement does not name as a subject (it names %s)", c.Source, s.Digest, subjectList(c.Signed))
		}
	}
	return b, nil
}

// notRun lists this machine's configured checks the bundle holds no result
// for: what the scan side left out is judged by this machine's required
// flags, not by the bundle's own list.
func (c *Carried) notRun(doc *evidence.Document) []evidence.CheckRef {
	sel := pipeline.Selection{Config: c.Config, Specs: []config.CheckSpec{c.spec}}
	var out []evidence.CheckRef
	for _, spec := range sel.Configured() {
		if _, ok := doc.Result(spec.Name); !ok {
			out = append(out, evidence.CheckRef{Name: spec.Name, Type: spec.Type})
		}
	}
	return out
}

// generatedAfterScans refuses a document whose generated_at is before a
// scan it holds finished (an edited date), or long after: the document is
// written as its last check ends.
func generatedAfterScans(doc *evidence.Document) error {
	for _, r := range doc.Checks {
		if r.Type != imagescan.Type || r.Status == checks.StatusError || r.Status == checks.StatusSkipped {
			continue
		}
		scans, err := imagescan.Scans(r)
		if err != nil {
			return err
		}
		for _, s := range scans {
			if s.FinishedAt.After(doc.GeneratedAt.Add(time.Second)) {
				return fmt.Errorf("generated_at %s is before its scan of %s finished (%s); the date was edited", doc.GeneratedAt.Format(time.RFC3339), s.Digest, s.FinishedAt.Format(time.RFC3339))
			}
			if gap := doc.GeneratedAt.Sub(s.FinishedAt); gap > MaxScanToDocument {
				return fmt.Errorf("generated_at %s is %s after its scan of %s finished (%s); the date was edited", doc.GeneratedAt.Format(time.RFC3339), gap.Round(time.Minute), s.Digest, s.FinishedAt.Format(time.RFC3339))
			}
		}
	}
	return nil
}

// MaxScanToDocument is how long after its last scan a document may say it
// was generated: the whole run, every check under its own timeout, is far
// shorter.
const MaxScanToDocument = 24 * time.Hour

func (c *Carried) refuse(format string, args ...any) error {
	return &sign.RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// ScannedSubjects lists the images the image-scan checks scanned. Only
// their subjects were re-derived from raw reports; any other check's
// subjects are text from the file.
func ScannedSubjects(doc *evidence.Document) []checks.Subject {
	var out []checks.Subject
	for _, r := range doc.Checks {
		if r.Type == imagescan.Type {
			out = append(out, r.Subjects...)
		}
	}
	return out
}

func subjectList(ss []checks.Subject) string {
	if len(ss) == 0 {
		return "no image"
	}
	var out []string
	for _, s := range ss {
		out = append(out, s.Digest)
	}
	return strings.Join(out, ", ")
}
