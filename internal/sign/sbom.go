package sign

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/trivyreport"
)

// SBOMPredicateType is the in-toto predicate type of a CycloneDX SBOM, the
// one `cosign attest --type cyclonedx` writes and `cosign
// verify-attestation --type cyclonedx` asks for.
const SBOMPredicateType = "https://cyclonedx.org/bom"

// scanSBOM takes the SBOM a scan records out of the bundle and ties it to
// the image the scan (and the registry) names: the bundle is input from
// disk, and an SBOM of another image must not be attested as this one's.
func scanSBOM(b *evidence.Bundle, check string, s evidence.ImageScan, imageID string) ([]byte, error) {
	if s.SBOM == nil {
		return nil, nil
	}
	if s.SBOM.Format != evidence.SBOMFormatCycloneDX {
		return nil, fmt.Errorf("check %s: the SBOM of %s has format %q, not %s", check, s.Digest, s.SBOM.Format, evidence.SBOMFormatCycloneDX)
	}
	data, ok := b.Report(s.SBOM.SHA256)
	if !ok || evidence.SHA256(data) != s.SBOM.SHA256 {
		return nil, fmt.Errorf("check %s: the SBOM of %s (sha256 %q) is not in the bundle", check, s.Digest, s.SBOM.SHA256)
	}
	id, err := trivyreport.ReadCycloneDXIdentity(data)
	if err == nil {
		err = id.Check(trivyreport.Want{Digest: s.Digest, ImageID: imageID, Registry: s.Source == "registry"})
	}
	if err != nil {
		return nil, fmt.Errorf("check %s: the SBOM sha256:%s is not an SBOM of %s: %v", check, s.SBOM.SHA256, s.Digest, err)
	}
	// Its bytes are the predicate as the statement will embed it, so the
	// sha256 the evidence records is the attested predicate's.
	if canon, err := json.Marshal(json.RawMessage(data)); err != nil || string(canon) != string(data) {
		return nil, fmt.Errorf("check %s: the SBOM sha256:%s of %s is not compact JSON, so its attestation would not hash to the sha256 the evidence records", check, s.SBOM.SHA256, s.Digest)
	}
	return data, nil
}

// SBOMStatement is the CycloneDX attestation of one scan's SBOM. For a
// platform image of an index, that image's digest is a second subject, as
// for the vulnerability attestation.
func SBOMStatement(sc Scan, t *Target) (Statement, error) {
	if len(sc.SBOM) == 0 {
		return Statement{}, fmt.Errorf("the scan of %s produced no SBOM", sc.Record.Digest)
	}
	st := Statement{PredicateType: SBOMPredicateType, Predicate: json.RawMessage(sc.SBOM)}
	if sc.Record.Digest != t.Digest {
		st.Subjects = []checks.Subject{{Name: t.Repository, Digest: sc.Record.Digest, Platform: sc.Record.Platform}}
	}
	return st, nil
}

// VerifiedSBOM summarises the SBOM attestations that were checked.
type VerifiedSBOM struct {
	// Images maps each image digest (each platform's, for an index) to the
	// sha256 of its attested SBOM.
	Images map[string]string `json:"images"`
	Count  int               `json:"count"`
}

// checkSBOM demands, for every image of t, a verified CycloneDX
// attestation naming that image whose predicate is byte for byte the SBOM
// the GO evidence recorded (by sha256) for that image's scan. doc is the
// verified evidence; nil when there is none (already a failure).
func (v *Verification) checkSBOM(t *Target, stmts []*rawStatement, doc *evidence.Document) {
	if doc == nil {
		v.fail("--sbom: no verified evidence records which SBOM was produced with the scan")
		return
	}
	recorded := map[string][]string{}
	for _, r := range doc.Checks {
		rec, err := evidence.ImageScans(r)
		if err != nil {
			continue
		}
		for _, s := range rec.Scans {
			if s.SBOM != nil && s.DigestKind == evidence.DigestManifest {
				recorded[s.Digest] = append(recorded[s.Digest], s.SBOM.SHA256)
			}
		}
	}
	got := &VerifiedSBOM{Images: map[string]string{}, Count: len(stmts)}
	digests := make([]string, 0)
	for d := range t.images() {
		digests = append(digests, d)
	}
	slices.Sort(digests)
	for _, d := range digests {
		sums := recorded[d]
		if len(sums) == 0 {
			v.fail("--sbom: the evidence records no SBOM of %s", d)
			continue
		}
		for _, st := range stmts {
			sum := evidence.SHA256(st.Predicate)
			if slices.Contains(sums, sum) && namesDigest(st, d) {
				got.Images[d] = sum
				break
			}
		}
		if _, ok := got.Images[d]; !ok {
			v.fail("--sbom: no verified CycloneDX attestation (%s) of %s holds the SBOM the evidence records (sha256 %s)", SBOMPredicateType, d, strings.Join(sums, ", "))
		}
	}
	v.SBOM = got
}

// namesDigest reports whether a statement's subjects include digest d.
func namesDigest(st *rawStatement, d string) bool {
	for _, s := range st.Subject {
		if "sha256:"+s.Digest["sha256"] == d {
			return true
		}
	}
	return false
}
