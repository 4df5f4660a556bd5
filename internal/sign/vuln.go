package sign

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/imagescan"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// Scan is one trivy scan of t (or of one platform image of t) as the
// image-scan gate recorded it, with the DB and trivy that ran it.
type Scan struct {
	Check        string
	Fact         imagescan.ScanFact
	DB           imagescan.DBFact
	TrivyVersion string
}

// ScansFromEvidence picks from the evidence every image-scan scan of t's
// digest, or for an index of each of its platform images. It is an error
// when there is none, or when one lacks its raw report: the vulnerability
// attestation is part of the set, and a GO without it is not signed.
func ScansFromEvidence(doc *evidence.Document, t *Target) ([]Scan, error) {
	want := map[string]bool{t.Digest: true}
	for _, p := range t.Platforms {
		want[p.Digest] = true
	}
	var out []Scan
	for _, r := range doc.Checks {
		if r.Type != imagescan.Type || r.Status == checks.StatusError || r.Status == checks.StatusSkipped {
			continue
		}
		facts, err := imagescan.Scans(r)
		if err != nil {
			return nil, err
		}
		db, err := imagescan.DB(r)
		if err != nil {
			return nil, err
		}
		var trivy imagescan.TrivyFact
		if raw, err := json.Marshal(r.Facts[imagescan.FactTrivy]); err == nil {
			_ = json.Unmarshal(raw, &trivy)
		}
		for _, f := range facts {
			if !want[f.Digest] || f.DigestKind != imagescan.DigestManifest {
				continue
			}
			if f.ReportPath == "" {
				return nil, fmt.Errorf("check %s scanned %s but kept no trivy report for the vulnerability attestation", r.Check, f.Digest)
			}
			out = append(out, Scan{Check: r.Check, Fact: f, DB: db, TrivyVersion: trivy.Version})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the evidence holds no image-scan of %s", t.Digest)
	}
	return out, nil
}

// trivyDBURI is where trivy fetches its DB from by default.
const trivyDBURI = "oci://mirror.gcr.io/aquasec/trivy-db:2"

// VulnStatement builds the cosign vulnerability attestation for one scan
// from trivy's raw JSON report. It fills in what trivy's own cosign-vuln
// output leaves empty: the DB's version, URI and update times, and the
// real start and finish of the scan.
func VulnStatement(sc Scan, t *Target, inv Invocation, tool buildinfo.Info) (Statement, error) {
	f := sc.Fact
	raw, err := os.ReadFile(f.ReportPath)
	if err != nil {
		return Statement{}, fmt.Errorf("read trivy's report of %s: %w (the vulnerability attestation needs it; re-run the scan)", f.Digest, err)
	}
	var probe struct {
		SchemaVersion int    `json:"SchemaVersion"`
		ArtifactName  string `json:"ArtifactName"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil || probe.SchemaVersion == 0 {
		return Statement{}, fmt.Errorf("trivy report %s is not a trivy JSON report", f.ReportPath)
	}
	version := strings.TrimPrefix(sc.TrivyVersion, "v")
	db := VulnDB{URI: trivyDBURI, Version: fmt.Sprint(sc.DB.SchemaVersion)}
	if len(sc.DB.Repository) > 0 {
		db.URI = "oci://" + sc.DB.Repository[0]
	}
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
