package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// BundleSchema identifies this version of the bundle format.
const BundleSchema = "readiness.dev/bundle/v1"

// ErrBundleIntegrity marks a bundle whose reports do not match what its
// evidence names: a report missing, altered, or one nothing names.
var ErrBundleIntegrity = errors.New("the bundle's reports do not match its evidence")

// Bundle is an evidence document with the raw scanner reports (and SBOMs,
// and the VEX documents the scans applied) its scans name, each addressed by the hex sha256 of its bytes. It is what a CI job
// hands to the signing step: one file, valid in any directory, and any
// report missing or altered is detected when it is read.
type Bundle struct {
	Doc *Document
	// Reports maps hex sha256 → raw report bytes; a scan's SBOM and a
	// VEX document are more reports, addressed the same way.
	Reports map[string][]byte
}

// bundleFile is the on-disk form: JSON, reports base64-encoded (their
// bytes, not their JSON, are what is hashed).
type bundleFile struct {
	Schema   string          `json:"schema"`
	Evidence json.RawMessage `json:"evidence"`
	Reports  []bundleReport  `json:"reports"`
}

type bundleReport struct {
	SHA256 string `json:"sha256"`
	Data   []byte `json:"data"`
}

// maxBundle bounds what ReadBundle reads.
const maxBundle = 512 << 20

// Report returns the report whose sha256 is sum.
func (b *Bundle) Report(sum string) ([]byte, bool) {
	data, ok := b.Reports[sum]
	return data, ok
}

// CollectReports builds a bundle from a document just produced on this
// machine, reading each scan's report from its ReportPath and insisting it
// is still the very report the scan recorded.
func CollectReports(doc *Document) (*Bundle, error) {
	b := &Bundle{Doc: doc, Reports: map[string][]byte{}}
	for _, r := range doc.Checks {
		rec, err := ImageScans(r)
		if err != nil {
			return nil, err
		}
		for _, s := range rec.Scans {
			if s.ReportSHA256 == "" {
				return nil, fmt.Errorf("check %s: the scan of %s records no report sha256", r.Check, s.Digest)
			}
			data, err := os.ReadFile(s.ReportPath)
			if err != nil {
				return nil, fmt.Errorf("check %s: read the report of %s: %w", r.Check, s.Digest, err)
			}
			if got := SHA256(data); got != s.ReportSHA256 {
				return nil, fmt.Errorf("check %s: the report of %s at %s changed since the scan (sha256 %s, recorded %s): %w", r.Check, s.Digest, s.ReportPath, got, s.ReportSHA256, ErrBundleIntegrity)
			}
			b.Reports[s.ReportSHA256] = data
			if s.SBOM == nil {
				continue
			}
			sbom, err := os.ReadFile(s.SBOM.Path)
			if err != nil {
				return nil, fmt.Errorf("check %s: read the SBOM of %s: %w", r.Check, s.Digest, err)
			}
			if got := SHA256(sbom); got != s.SBOM.SHA256 {
				return nil, fmt.Errorf("check %s: the SBOM of %s at %s changed since the scan (sha256 %s, recorded %s): %w", r.Check, s.Digest, s.SBOM.Path, got, s.SBOM.SHA256, ErrBundleIntegrity)
			}
			b.Reports[s.SBOM.SHA256] = sbom
		}
		for _, v := range rec.VEX {
			if v.Path == "" {
				continue
			}
			data, err := os.ReadFile(v.Path)
			if err != nil {
				return nil, fmt.Errorf("check %s: read the VEX document %s: %w", r.Check, v.Source, err)
			}
			if got := SHA256(data); got != v.SHA256 {
				return nil, fmt.Errorf("check %s: the VEX document %s saved at %s changed since the scan (sha256 %s, recorded %s): %w", r.Check, v.Source, v.Path, got, v.SHA256, ErrBundleIntegrity)
			}
			b.Reports[v.SHA256] = data
		}
	}
	return b, nil
}

// SHA256 is the hex sha256 of data.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Encode writes the bundle.
func (b *Bundle) Encode(w io.Writer) error {
	var doc bytes.Buffer
	if err := b.Doc.Encode(&doc); err != nil {
		return err
	}
	f := bundleFile{Schema: BundleSchema, Evidence: bytes.TrimSpace(doc.Bytes()), Reports: []bundleReport{}}
	sums := make([]string, 0, len(b.Reports))
	for s := range b.Reports {
		sums = append(sums, s)
	}
	slices.Sort(sums)
	for _, s := range sums {
		f.Reports = append(f.Reports, bundleReport{SHA256: s, Data: b.Reports[s]})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(f)
}

// ReadBundle reads a bundle and checks it whole: every report hashes to its
// address, every scan the evidence records has its report in the bundle,
// and the bundle holds nothing else. A failure of those is wrapped in
// ErrBundleIntegrity; anything that is not a bundle at all is a plain
// error.
func ReadBundle(r io.Reader) (*Bundle, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBundle+1))
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if len(data) > maxBundle {
		return nil, fmt.Errorf("the bundle is larger than %d MiB", maxBundle>>20)
	}
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a bundle: %s", jsonErr(data, err))
	}
	switch {
	case probe.Schema == nil:
		return nil, fmt.Errorf("not a bundle: no \"schema\" field (want %q)", BundleSchema)
	case *probe.Schema == Schema || *probe.Schema == SchemaV1:
		return nil, fmt.Errorf("this is an evidence document, not a bundle: signing needs the raw scanner reports too; write the bundle with `readiness image scan --bundle FILE`")
	case *probe.Schema != BundleSchema:
		return nil, fmt.Errorf("bundle schema %q is not supported; this build reads %q", *probe.Schema, BundleSchema)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f bundleFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("bundle does not match %s: %s", BundleSchema, jsonErr(data, err))
	}
	if len(f.Evidence) == 0 || string(f.Evidence) == "null" {
		return nil, errors.New("the bundle holds no evidence document")
	}
	doc, err := Decode(bytes.NewReader(f.Evidence))
	if err != nil {
		return nil, fmt.Errorf("the bundle's evidence: %w", err)
	}
	b := &Bundle{Doc: doc, Reports: map[string][]byte{}}
	for i, rep := range f.Reports {
		if !validSum(rep.SHA256) {
			return nil, fmt.Errorf("reports[%d]: sha256 %q is not 64 lowercase hex digits", i, rep.SHA256)
		}
		if _, dup := b.Reports[rep.SHA256]; dup {
			return nil, fmt.Errorf("reports[%d]: sha256 %s appears twice", i, rep.SHA256)
		}
		if got := SHA256(rep.Data); got != rep.SHA256 {
			return nil, fmt.Errorf("report sha256:%s was altered: its content hashes to sha256:%s: %w", rep.SHA256, got, ErrBundleIntegrity)
		}
		b.Reports[rep.SHA256] = rep.Data
	}
	named := map[string]bool{}
	for _, r := range doc.Checks {
		rec, err := ImageScans(r)
		if err != nil {
			return nil, fmt.Errorf("the bundle's evidence: %w", err)
		}
		for _, s := range rec.Scans {
			if _, ok := b.Reports[s.ReportSHA256]; !ok {
				return nil, fmt.Errorf("the report of check %s's scan of %s (sha256 %q) is missing from the bundle: %w", r.Check, s.Digest, s.ReportSHA256, ErrBundleIntegrity)
			}
			named[s.ReportSHA256] = true
			if s.SBOM != nil {
				if _, ok := b.Reports[s.SBOM.SHA256]; !ok {
					return nil, fmt.Errorf("the SBOM of check %s's scan of %s (sha256 %q) is missing from the bundle: %w", r.Check, s.Digest, s.SBOM.SHA256, ErrBundleIntegrity)
				}
				named[s.SBOM.SHA256] = true
			}
		}
		// A VEX document need not be carried (the signer refuses a
		// suppression none of its own pinned documents, carried, makes).
		for _, v := range rec.VEX {
			named[v.SHA256] = true
		}
	}
	for sum := range b.Reports {
		if !named[sum] {
			return nil, fmt.Errorf("report sha256:%s is in the bundle but no scan in its evidence names it: %w", sum, ErrBundleIntegrity)
		}
	}
	return b, nil
}

func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') }) < 0
}
