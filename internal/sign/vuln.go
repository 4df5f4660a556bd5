package sign

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/trivyreport"
)

// Scan is one trivy scan of t (or of one platform image of t): the
// neutral record from the evidence, the DB and scanner that ran it, and
// the raw report, taken from the bundle by its sha256.
type Scan struct {
	Check          string
	Record         evidence.ImageScan
	DB             evidence.ScanDB
	ScannerVersion string
	Report         []byte
	// SBOM is the CycloneDX SBOM written with the scan, when it recorded
	// one: the predicate of its SBOM attestation.
	SBOM []byte
}

// ScansFromBundle picks from the bundle every scan of t's digest, or for an
// index of each of its platform images, and ties each raw report to the
// image the registry holds: the report's Metadata.ImageID must be the
// config digest the registry serves for that manifest, and the manifest
// digest it names must be the one signed. It is an error when an image of
// t has no scan, or when any report of one is missing or of another image:
// the evidence is input from disk, not a trusted fact.
func ScansFromBundle(b *evidence.Bundle, t *Target) ([]Scan, error) {
	want := t.images()
	var out []Scan
	seen := map[string]bool{}
	for _, r := range b.Doc.Checks {
		if r.Status != checks.StatusPass && r.Status != checks.StatusFail {
			continue
		}
		rec, err := evidence.ImageScans(r)
		if err != nil {
			return nil, err
		}
		for _, s := range rec.Scans {
			imageID, ok := want[s.Digest]
			if !ok || s.DigestKind != evidence.DigestManifest {
				continue
			}
			if s.ImageID != imageID {
				return nil, fmt.Errorf("check %s: the scan of %s records image_id %s, but the registry's image has config %s", r.Check, s.Digest, s.ImageID, imageID)
			}
			report, ok := b.Report(s.ReportSHA256)
			if !ok {
				return nil, fmt.Errorf("check %s: the trivy report of %s (sha256 %q) is not in the bundle", r.Check, s.Digest, s.ReportSHA256)
			}
			id, err := trivyreport.ReadIdentity(report)
			if err == nil {
				err = id.Check(trivyreport.Want{Digest: s.Digest, ImageID: imageID, Registry: s.Source == "registry"})
			}
			if err != nil {
				return nil, fmt.Errorf("check %s: the trivy report sha256:%s is not a report of %s: %v", r.Check, s.ReportSHA256, s.Digest, err)
			}
			sbom, err := scanSBOM(b, r.Check, s, imageID)
			if err != nil {
				return nil, err
			}
			seen[s.Digest] = true
			out = append(out, Scan{Check: r.Check, Record: s, DB: rec.DB, ScannerVersion: rec.Scanner.Version, Report: report, SBOM: sbom})
		}
	}
	for d := range want {
		if !seen[d] {
			return nil, fmt.Errorf("the evidence holds no passing or failing image-scan of %s with its report", d)
		}
	}
	return out, nil
}

// VulnStatement builds the cosign vulnerability attestation for one scan
// from trivy's raw JSON report. It fills in what trivy's own cosign-vuln
// output leaves empty: the DB's version, URI and update times, and the
// real start and finish of the scan.
func VulnStatement(sc Scan, t *Target, inv Invocation, tool buildinfo.Info) (Statement, error) {
	f := sc.Record
	raw := sc.Report
	if _, err := trivyreport.ReadIdentity(raw); err != nil {
		return Statement{}, fmt.Errorf("trivy report sha256:%s: %v", f.ReportSHA256, err)
	}
	version := strings.TrimPrefix(sc.ScannerVersion, "v")
	// The DB the scan recorded it used (imagescan's recordDBSource):
	// oci://REPO when trivy downloaded it then, file://PATH for a cached
	// one. Evidence from before that was recorded leaves it empty rather
	// than naming a default repository the DB may not have come from.
	db := VulnDB{URI: sc.DB.URI, Version: fmt.Sprint(sc.DB.SchemaVersion)}
	if !sc.DB.UpdatedAt.IsZero() {
		db.UpdatedAt, db.NextUpdate, db.DownloadedAt = &sc.DB.UpdatedAt, &sc.DB.NextUpdate, &sc.DB.DownloadedAt
	}
	builder := inv.BuilderID
	if builder == "" {
		builder = "pkg:golang/github.com/readiness-dev/readiness@" + tool.Version
	}
	p := VulnPredicate{
		Invocation: VulnInvocation{
			Parameters: map[string]any{"reference": f.Reference, "digest": f.Digest, "platform": f.Platform, "command": f.Command},
			URI:        inv.URI, EventID: inv.EventID, BuilderID: builder,
		},
		Scanner: VulnScanner{
			URI: "pkg:github/aquasecurity/trivy@" + version, Version: version, DB: db, Result: json.RawMessage(raw),
		},
		Metadata: VulnMetadata{ScanStartedOn: f.StartedAt, ScanFinishedOn: f.FinishedAt},
	}
	st := Statement{PredicateType: VulnPredicateType, Predicate: p}
	if f.Digest != t.Digest {
		// A platform image of an index: name it too, so the statement says
		// which image the report is about.
		st.Subjects = []checks.Subject{{Name: t.Repository, Digest: f.Digest, Platform: f.Platform}}
	}
	return st, nil
}
