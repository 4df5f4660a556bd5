package imagescan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// VEX rules.
const (
	RuleVEXDigest       = "SCAN-VEX-DIGEST"
	RuleVEXOtherProduct = "SCAN-VEX-OTHER-PRODUCT"
)

// VEXSource is one entry of the check's vex: list: a repository file, or
// a URL pinned by the sha256 of its bytes.
type VEXSource struct {
	Path string `yaml:"path"`
	URL  string `yaml:"url"`
	// SHA256 pins the document (hex); required for a URL, optional for a
	// path.
	SHA256 string `yaml:"sha256"`
}

// name is how the source is shown and recorded.
func (s VEXSource) name() string {
	if s.URL != "" {
		return s.URL
	}
	return s.Path
}

func (s VEXSource) validate() error {
	switch {
	case (s.Path == "") == (s.URL == ""):
		return errors.New("vex: each entry names a repository file (path:) or a URL pinned by sha256 (url: and sha256:), one of them")
	case s.URL != "" && s.SHA256 == "":
		return fmt.Errorf("vex: %s: a URL needs its sha256: the document it serves can change", s.URL)
	case s.SHA256 != "" && !validHex64(s.SHA256):
		return fmt.Errorf("vex: %s: sha256 %q is not 64 lowercase hex digits", s.name(), s.SHA256)
	}
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("vex: url %q is not an http(s) URL", s.URL)
		}
	}
	return nil
}

func validHex64(s string) bool {
	return len(s) == 64 && strings.IndexFunc(s, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') }) < 0
}

// VEXFact records one configured VEX document: its sha256, whether it was
// used, and what it was not used for.
type VEXFact struct {
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
	// Pinned is the sha256 readiness.yaml pins, when it pins one.
	Pinned string `json:"pinned,omitempty"`
	// Format is openvex or cyclonedx (a CycloneDX VEX, which readiness
	// translates into OpenVEX for trivy).
	Format string `json:"format,omitempty"`
	// Path is where its bytes were saved on the scanning machine, beside
	// the reports: a bundle carries them (nothing trusts the path).
	Path string `json:"path,omitempty"`
	// Used is false when the document suppressed nothing because it could
	// not be trusted (Problem says why).
	Used    bool   `json:"used"`
	Problem string `json:"problem,omitempty"`
	// Ignored are the products of its statements that are not a scanned
	// image by digest: not passed to trivy (a statement left with none
	// is left out).
	Ignored []VEXIgnored `json:"ignored,omitempty"`
	// Suppressed are the findings its statements suppressed, in every
	// scan (also listed per scan).
	Suppressed []Suppressed `json:"suppressed"`
}

// VEXIgnored is a statement left out, per scanned image.
type VEXIgnored struct {
	Vulnerability string   `json:"vulnerability"`
	Products      []string `json:"products"`
	Image         string   `json:"image"`
}

// vexDoc is a loaded document.
type vexDoc struct {
	fact VEXFact
	// doc is the document as OpenVEX (a CycloneDX VEX translated), nil
	// when it is not used.
	doc map[string]any
	// data are its bytes, as read.
	data []byte
}

// maxVEX bounds a VEX document's size.
const maxVEX = 16 << 20

// VEX document formats (VEXFact.Format).
const (
	VEXFormatOpenVEX   = "openvex"
	VEXFormatCycloneDX = "cyclonedx"
)

// loadVEX reads every configured document. One that cannot be read is an
// error; one whose bytes are not the pinned sha256, or that is not an
// OpenVEX or CycloneDX VEX document, is recorded unused and reported by a
// finding.
func (c *Check) loadVEX(ctx context.Context) ([]vexDoc, []checks.Finding, error) {
	var docs []vexDoc
	var fs []checks.Finding
	for _, src := range c.opts.VEX {
		data, err := c.fetchVEX(ctx, src)
		if err != nil {
			return nil, nil, err
		}
		d, f := parseVEX(src, data)
		if f != nil {
			fs = append(fs, *f)
		}
		docs = append(docs, d)
	}
	return docs, fs, nil
}

// parseVEX judges a document's bytes against its source's pin and reads
// it as OpenVEX or CycloneDX VEX; the finding reports one it cannot use.
// The live run and the signer (judging a carried bundle) both call it.
func parseVEX(src VEXSource, data []byte) (vexDoc, *checks.Finding) {
	d := vexDoc{fact: VEXFact{Source: src.name(), SHA256: evidence.SHA256(data), Pinned: src.SHA256}, data: data}
	if src.SHA256 != "" && d.fact.SHA256 != src.SHA256 {
		d.fact.Problem = fmt.Sprintf("its sha256 is %s, not the pinned %s", d.fact.SHA256, src.SHA256)
	} else {
		var doc map[string]any
		err := json.Unmarshal(data, &doc)
		switch {
		case err == nil && isOpenVEX(doc):
			d.doc, d.fact.Format = doc, VEXFormatOpenVEX
		case err == nil && isCycloneDXVEX(doc):
			d.doc, d.fact.Format = cycloneDXToOpenVEX(doc, d.fact.SHA256), VEXFormatCycloneDX
		default:
			d.fact.Problem = "it is neither an OpenVEX JSON document (@context https://openvex.dev/ns/…, statements) nor a CycloneDX JSON VEX (bomFormat CycloneDX, vulnerabilities)"
		}
	}
	if d.fact.Problem != "" {
		d.doc = nil
		f := book.Finding(RuleVEXDigest, src.name(), fmt.Sprintf("VEX document %s suppresses nothing: %s", src.name(), d.fact.Problem), nil)
		return d, &f
	}
	d.fact.Used = true
	return d, nil
}

// saveVEX writes each document's bytes beside the reports, so that a
// bundle carries them (by sha256) to the signer, which judges the scan's
// suppressions with them.
func saveVEX(docs []vexDoc, reportDir string) error {
	for i := range docs {
		d := &docs[i]
		d.fact.Path = filepath.Join(reportDir, fmt.Sprintf("vex-%02d-%s.json", i+1, d.fact.SHA256[:12]))
		if err := os.WriteFile(d.fact.Path, d.data, 0o644); err != nil {
			return fmt.Errorf("save VEX document %s: %w", d.fact.Source, err)
		}
	}
	return nil
}

func isOpenVEX(doc map[string]any) bool {
	ctx, _ := doc["@context"].(string)
	_, ok := doc["statements"].([]any)
	return ok && strings.HasPrefix(ctx, "https://openvex.dev/ns")
}

// fetchVEX reads a document from the repository or its pinned URL.
func (c *Check) fetchVEX(ctx context.Context, src VEXSource) ([]byte, error) {
	if src.Path != "" {
		f, err := os.Open(src.Path)
		if err != nil {
			return nil, fmt.Errorf("vex: %s cannot be read: %v", src.Path, unwrapPath(err))
		}
		defer f.Close()
		return readLimited(f, src.Path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("vex: %s: %v", src.URL, err)
	}
	client := c.deps.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("vex: fetch %s: %v", src.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("vex: fetch %s: %s", src.URL, resp.Status)
	}
	return readLimited(resp.Body, src.URL)
}

func readLimited(r io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxVEX+1))
	if err != nil {
		return nil, fmt.Errorf("vex: read %s: %v", what, err)
	}
	if len(data) > maxVEX {
		return nil, fmt.Errorf("vex: %s is larger than %d MiB", what, maxVEX>>20)
	}
	return data, nil
}

// vexFor writes, for target t, each usable document holding only the
// statements whose product is t itself (an OCI package URL with t's
// manifest digest), so that a statement about a package alone, or about
// another image, cannot suppress a finding in t. It returns the files to
// pass to trivy and records what was left out in docs.
func vexFor(docs []vexDoc, t target, work string, scan int) ([]string, map[string]string, error) {
	var files []string
	sources := map[string]string{}
	for i := range docs {
		d := &docs[i]
		out := filterFor(d, t)
		if out == nil {
			continue
		}
		data, err := json.Marshal(out)
		if err != nil {
			return nil, nil, err
		}
		path := filepath.Join(work, fmt.Sprintf("vex-%02d-%02d.openvex.json", scan+1, i+1))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, nil, fmt.Errorf("write VEX for trivy: %w", err)
		}
		files = append(files, path)
		sources[path] = d.fact.Source
	}
	return files, sources, nil
}

// filterFor is d (as OpenVEX) with only its statements about t, their
// products cut to t; nil when none is. What was left out is recorded in
// d.fact.Ignored.
func filterFor(d *vexDoc, t target) map[string]any {
	if d.doc == nil {
		return nil
	}
	stmts, _ := d.doc["statements"].([]any)
	var keep []any
	for _, s := range stmts {
		st, _ := s.(map[string]any)
		mine, others := imageProducts(st, t)
		if len(others) > 0 {
			d.fact.Ignored = append(d.fact.Ignored, VEXIgnored{Vulnerability: vulnName(st), Products: others, Image: t.display()})
		}
		if len(mine) == 0 {
			continue
		}
		// The statement whole (status, timestamp, justification), its
		// products cut to this image: an "affected" that overrides an
		// earlier "not_affected" stays, so nothing is suppressed that
		// trivy would not suppress reading the whole document.
		cut := make(map[string]any, len(st))
		for k, v := range st {
			cut[k] = v
		}
		cut["products"] = mine
		keep = append(keep, cut)
	}
	if len(keep) == 0 {
		return nil
	}
	out := make(map[string]any, len(d.doc))
	for k, v := range d.doc {
		out[k] = v
	}
	out["statements"] = keep
	return out
}

// imageProducts splits a statement's products into those that are t by
// digest (kept as written, subcomponents and all) and the IDs of the rest.
// A docker tarball has no manifest digest, so no product is it.
func imageProducts(st map[string]any, t target) (mine []any, others []string) {
	ps, _ := st["products"].([]any)
	if len(ps) == 0 {
		return nil, []string{"(no product)"}
	}
	for _, p := range ps {
		pm, _ := p.(map[string]any)
		id, _ := pm["@id"].(string)
		if t.DigestKind == DigestManifest && ociPURLOf(id, t.Digest) {
			mine = append(mine, pm)
			continue
		}
		others = append(others, id)
	}
	return mine, others
}

// ociPURLOf reports whether purl is pkg:oci/NAME@DIGEST for digest.
func ociPURLOf(purl, digest string) bool {
	rest, ok := strings.CutPrefix(purl, "pkg:oci/")
	if !ok {
		return false
	}
	rest, _, _ = strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	_, version, ok := strings.Cut(rest, "@")
	if !ok {
		return false
	}
	v, err := url.PathUnescape(version)
	return err == nil && v == digest
}

func vulnName(st map[string]any) string {
	v, _ := st["vulnerability"].(map[string]any)
	n, _ := v["name"].(string)
	return n
}

// otherProductFindings reports, once per document, the statements that
// named no scanned image.
func otherProductFindings(docs []vexDoc) []checks.Finding {
	var fs []checks.Finding
	for _, d := range docs {
		if len(d.fact.Ignored) == 0 {
			continue
		}
		var vulns []string
		for _, ig := range d.fact.Ignored {
			vulns = append(vulns, ig.Vulnerability+" for "+strings.Join(ig.Products, ", ")+" (scanning "+ig.Image+")")
		}
		fs = append(fs, book.Finding(RuleVEXOtherProduct, d.fact.Source, fmt.Sprintf("VEX document %s has %d statement(s) whose product is not the scanned image by digest; they suppress nothing: %s",
			d.fact.Source, len(d.fact.Ignored), shorten(strings.Join(vulns, "; "), 600)), nil))
	}
	return fs
}
