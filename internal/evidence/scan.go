package evidence

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
)

// Fact keys under which a check records its image scans. The image-scan
// gate writes them; the signer reads them through ImageScans, so neither
// depends on the other.
const (
	// FactScans holds []ImageScan (the gate adds its own fields).
	FactScans = "scans"
	// FactScanDB holds a ScanDB.
	FactScanDB = "db"
	// FactScanner holds a Scanner.
	FactScanner = "trivy"
	// FactVEX holds []VEXRecord: the VEX documents the scans applied (the
	// gate adds its own fields).
	FactVEX = "vex"
)

// VEXRecord is one VEX document a check applied to its scans: its bytes
// travel in a Bundle beside the reports, found by SHA256, so that the
// signer judges the scans' suppressions with the very document.
type VEXRecord struct {
	// Source is the document as configured (a path or URL).
	Source string `json:"source"`
	// SHA256 is the hex sha256 of its bytes.
	SHA256 string `json:"sha256"`
	// Path is where its bytes were saved on the scanning machine (nothing
	// trusts it); empty when they were not.
	Path string `json:"path,omitempty"`
}

// Digest kinds of an ImageScan.
const (
	DigestManifest = "manifest"
	DigestImageID  = "image-id"
)

// ImageScan is the neutral record of one scan of one image, by digest: what
// was scanned, how, and the content address of the scanner's raw report.
// The report itself travels in a Bundle, found by ReportSHA256.
type ImageScan struct {
	// Reference is the image as configured (registry reference, tarball or
	// layout path).
	Reference string `json:"reference"`
	// Source is "registry", "tarball" or "oci-layout".
	Source string `json:"source"`
	// Name is the subject name: the repository, or the path.
	Name string `json:"name"`
	// Digest is the manifest digest ("sha256:…"), or for a docker tarball
	// the image ID (DigestKind says which).
	Digest     string `json:"digest"`
	DigestKind string `json:"digest_kind"`
	// ImageID is the digest of the image config.
	ImageID string `json:"image_id"`
	// Platform is os/arch[/variant].
	Platform string `json:"platform,omitempty"`
	// Command is the scanner's command line.
	Command    []string  `json:"command"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	DurationMS int64     `json:"duration_ms"`
	// ReportPath is where the raw report was saved on the scanning machine
	// (for people; nothing trusts it).
	ReportPath string `json:"report_path"`
	// ReportSHA256 is the hex sha256 of the raw report: its address in a
	// Bundle.
	ReportSHA256 string `json:"report_sha256"`
	// SBOM is the SBOM the scanner wrote of the same image with the same
	// settings, when the check asked for one (sbom: cyclonedx). It travels
	// in a Bundle beside the report, found by its SHA256.
	SBOM *SBOMRecord `json:"sbom,omitempty"`
}

// SBOMFormatCycloneDX is the one SBOM format scans write.
const SBOMFormatCycloneDX = "cyclonedx"

// SBOMRecord is one SBOM of one scanned image.
type SBOMRecord struct {
	// Format is SBOMFormatCycloneDX.
	Format string `json:"format"`
	// Command is the scanner's command line that wrote it.
	Command []string `json:"command"`
	// Path is where it was saved on the scanning machine (nothing trusts
	// it).
	Path string `json:"path"`
	// SHA256 is the hex sha256 of its bytes: its address in a Bundle, and
	// the sha256 of the attested predicate (the bytes are compact JSON,
	// exactly as an in-toto statement embeds them).
	SHA256 string `json:"sha256"`
}

// Subject is the artifact a scan covered.
func (s ImageScan) Subject() checks.Subject {
	return checks.Subject{Name: s.Name, Digest: s.Digest, Platform: s.Platform}
}

// ScanDB is the scanner's vulnerability DB as recorded with the scans.
type ScanDB struct {
	SchemaVersion int       `json:"schema_version"`
	UpdatedAt     time.Time `json:"updated_at"`
	NextUpdate    time.Time `json:"next_update"`
	DownloadedAt  time.Time `json:"downloaded_at"`
	// MaxAgeHours is the oldest DB the check allowed.
	MaxAgeHours float64 `json:"max_age_hours"`
	// Repository lists the repositories the scanner was allowed to
	// download a DB from, in order.
	Repository []string `json:"repository,omitempty"`
	// URI is where the DB the scans used came from, as far as the scanning
	// machine saw it: oci://REPOSITORY when the scanner downloaded it
	// during the scan, else file://PATH, the DB already in the cache
	// (whose origin the scan did not see). Empty in evidence from before
	// it was recorded.
	URI string `json:"uri,omitempty"`
	// Origin is "downloaded" (during this scan) or "cache".
	Origin string `json:"origin,omitempty"`
	// Path is the DB file the scans read.
	Path string `json:"path,omitempty"`
	// SHA256 and MetadataSHA256 are the hex sha256 of the DB file and of
	// its metadata.json, read just after the scans.
	SHA256         string `json:"sha256,omitempty"`
	MetadataSHA256 string `json:"metadata_sha256,omitempty"`
}

// Scanner names the scanner that ran.
type Scanner struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// ScanRecord is everything a result records about its image scans.
type ScanRecord struct {
	Scans   []ImageScan
	DB      ScanDB
	Scanner Scanner
	VEX     []VEXRecord
}

// ImageScans reads a result's scan record back, whether the result came
// straight from a check or was decoded from a document. A result with no
// scans fact has none; a fact of the wrong shape is an error.
func ImageScans(r checks.Result) (ScanRecord, error) {
	var rec ScanRecord
	if _, ok := r.Facts[FactScans]; !ok {
		return rec, nil
	}
	if err := factAs(r, FactScans, &rec.Scans); err != nil {
		return rec, err
	}
	if err := factAs(r, FactScanDB, &rec.DB); err != nil {
		return rec, err
	}
	if err := factAs(r, FactScanner, &rec.Scanner); err != nil {
		return rec, err
	}
	if _, ok := r.Facts[FactVEX]; ok {
		if err := factAs(r, FactVEX, &rec.VEX); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

func factAs(r checks.Result, key string, out any) error {
	v, ok := r.Facts[key]
	if !ok {
		return fmt.Errorf("check %s records scans but no %q fact", r.Check, key)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("fact %q of check %s: %w", key, r.Check, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("fact %q of check %s does not have the scan-record shape: %v", key, r.Check, err)
	}
	return nil
}

// Suppressed is a finding a scan did not report because a declared source
// answered for it: a VEX statement (status not_affected or fixed) or an
// ignorefile entry (status ignored).
type Suppressed struct {
	// Finding is the finding ID it would have had.
	Finding string `json:"finding"`
	// Package is the package it is in, for a vulnerability.
	Package string `json:"package,omitempty"`
	// Source is the VEX document or ignorefile, as configured.
	Source string `json:"source"`
	// Statement is the reason the source gives: a VEX statement's
	// justification, an ignorefile entry's statement.
	Statement string `json:"statement,omitempty"`
	// Status is the suppression's status (a VEX statement's not_affected
	// or fixed; "ignored" for an ignorefile).
	Status string `json:"status,omitempty"`
}

// StatusIgnored is the status trivy gives what an ignorefile suppressed.
const StatusIgnored = "ignored"

// ByVEX reports whether a VEX statement made the suppression.
func (s Suppressed) ByVEX() bool { return s.Status != StatusIgnored && s.Status != "" }

// CheckSuppressed is one suppression of one check's scan.
type CheckSuppressed struct {
	Check string
	// Digest and Platform name the scanned image.
	Digest   string
	Platform string
	Suppressed
}

// VEXSuppressed lists, check by check in the document's order, every
// finding a VEX statement suppressed in the checks' scans (read from
// facts.scans[].suppressed; a fact of another shape lists nothing).
func VEXSuppressed(doc *Document) []CheckSuppressed {
	var out []CheckSuppressed
	for _, r := range doc.Checks {
		var scans []struct {
			Digest     string       `json:"digest"`
			Platform   string       `json:"platform"`
			Suppressed []Suppressed `json:"suppressed"`
		}
		if _, ok := r.Facts[FactScans]; !ok || factAs(r, FactScans, &scans) != nil {
			continue
		}
		for _, s := range scans {
			for _, sp := range s.Suppressed {
				if sp.ByVEX() {
					out = append(out, CheckSuppressed{Check: r.Check, Digest: s.Digest, Platform: s.Platform, Suppressed: sp})
				}
			}
		}
	}
	return out
}
