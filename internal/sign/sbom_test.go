package sign_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// cdx is a compact CycloneDX SBOM naming the image as trivy does.
func cdx(repo, digest, imageID, extra string) []byte {
	return []byte(fmt.Sprintf(`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"container","name":%q,"properties":[{"name":"aquasecurity:trivy:ImageID","value":%q},{"name":"aquasecurity:trivy:RepoDigest","value":%q}]}},"components":[%s]}`,
		repo+"@"+digest, imageID, repo+"@"+digest, extra))
}

// withSBOMs records an SBOM for every scan of b (edit may replace one) and
// carries it in the bundle.
func withSBOMs(b *evidence.Bundle, edit func(s evidence.ImageScan, sbom []byte) []byte) {
	scans := b.Doc.Checks[0].Facts[evidence.FactScans].([]evidence.ImageScan)
	for i, s := range scans {
		sbom := cdx(s.Name, s.Digest, s.ImageID, `{"type":"library","name":"musl","version":"1.2.4-r2"}`)
		if edit != nil {
			sbom = edit(s, sbom)
		}
		if sbom == nil {
			continue
		}
		sum := evidence.SHA256(sbom)
		scans[i].SBOM = &evidence.SBOMRecord{Format: evidence.SBOMFormatCycloneDX, Command: []string{"trivy", "image", "--format", "cyclonedx"}, SHA256: sum}
		b.Reports[sum] = sbom
	}
}

func sbomGates(t *testing.T, edit func(evidence.ImageScan, []byte) []byte) sign.GatesFunc {
	gates := cannedGates(t, evidence.GO, now)
	return func(ctx context.Context, tg *sign.Target) (*evidence.Bundle, error) {
		b, err := gates(ctx, tg)
		if err == nil {
			withSBOMs(b, edit)
		}
		return b, err
	}
}

// TestReleaseAttestsTheSBOM_CannedVerdict: the SBOM each scan recorded is
// attested in the same manifest write as the other attestations, one per
// platform image with its digest as a second subject, byte for byte the
// SBOM the evidence records, and image verify --sbom holds them to it.
func TestReleaseAttestsTheSBOM_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	d := reg.PushIndex(t, "multi:1", trivytest.MultiPlatform())
	rel := &sign.Release{Signer: newSigner(t, keys), Gates: sbomGates(t, nil), RequireSBOM: true, Now: clock}
	res, err := rel.Run(context.Background(), reg.Host+"/multi:1")
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	want := []string{sign.VulnPredicateType, sign.VulnPredicateType, sign.SBOMPredicateType, sign.SBOMPredicateType, sign.EvidencePredicateType}
	if diff := cmp.Diff(want, res.Attestations.PredicateTypes); diff != "" {
		t.Errorf("one write's predicate types (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, reg.PredicateTypes(t, "multi", d.DigestStr())); diff != "" {
		t.Errorf("attestations (-want +got):\n%s", diff)
	}
	recorded := map[string]string{}
	scans, _ := evidence.ImageScans(res.Evidence.Checks[0])
	for _, s := range scans.Scans {
		recorded[s.Digest] = s.SBOM.SHA256
	}
	for _, st := range reg.Statements(t, "multi", d.DigestStr()) {
		if st.PredicateType != sign.SBOMPredicateType {
			continue
		}
		if len(st.Subject) != 2 || "sha256:"+st.Subject[0].Digest["sha256"] != d.DigestStr() {
			t.Fatalf("subjects = %+v, want the index and one platform image", st.Subject)
		}
		platform := "sha256:" + st.Subject[1].Digest["sha256"]
		if got := evidence.SHA256(st.Predicate); got != recorded[platform] {
			t.Errorf("the SBOM attested for %s hashes to %s; the evidence records %s", platform, got, recorded[platform])
		}
	}
	if res.Verification.SBOM == nil || len(res.Verification.SBOM.Images) != 2 {
		t.Errorf("the self-check did not verify both SBOMs: %+v", res.Verification.SBOM)
	}
	o := verifyOpts(keys)
	o.RequireSBOM = true
	v, err := sign.Verify(context.Background(), resolve(t, reg.Host+"/multi:1"), o)
	if err != nil || !v.OK() {
		t.Fatalf("verify --sbom: %v %+v", err, v)
	}
	if diff := cmp.Diff(recorded, v.SBOM.Images); diff != "" {
		t.Errorf("verified SBOMs (-want +got):\n%s", diff)
	}
}

// TestReleaseRefusesAForeignSBOM_CannedVerdict: the smallest edits of a
// bundle's SBOM that would put an SBOM on the signed digest other than the
// one produced with its scan are refused before anything is written.
func TestReleaseRefusesAForeignSBOM_CannedVerdict(t *testing.T) {
	keys := signtest.KeyPair(t, password)
	other := "sha256:" + strings.Repeat("e", 64)
	for _, tc := range []struct {
		name    string
		edit    func(evidence.ImageScan, []byte) []byte
		require bool
		want    string
	}{
		{"an SBOM of another image", func(s evidence.ImageScan, _ []byte) []byte {
			return cdx(s.Name, other, s.ImageID, "")
		}, false, "is not an SBOM of"},
		{"an SBOM of another config", func(s evidence.ImageScan, _ []byte) []byte {
			return cdx(s.Name, s.Digest, other, "")
		}, false, "is not an SBOM of"},
		{"the vulnerability report in the SBOM's place", func(s evidence.ImageScan, _ []byte) []byte {
			return []byte(fmt.Sprintf(`{"SchemaVersion":2,"ArtifactName":%q,"Metadata":{"ImageID":%q}}`, s.Name+"@"+s.Digest, s.ImageID))
		}, false, "not CycloneDX"},
		{"the SBOM re-indented, so the attestation would not hash to its record", func(_ evidence.ImageScan, sbom []byte) []byte {
			return append([]byte("{\n  "), sbom[1:]...)
		}, false, "not compact JSON"},
		{"no SBOM when --sbom asks for one", func(evidence.ImageScan, []byte) []byte { return nil }, true, "recorded no SBOM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := signtest.StartRegistry(t)
			reg.Push(t, "app:1", trivytest.Clean("amd64"))
			rel := &sign.Release{Signer: newSigner(t, keys), Gates: sbomGates(t, tc.edit), RequireSBOM: tc.require, Now: clock}
			_, err := rel.Run(context.Background(), reg.Host+"/app:1")
			var refused *sign.RefusedError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
			}
			if diff := cmp.Diff([]string{"1"}, reg.Tags(t, "app")); diff != "" {
				t.Errorf("written despite the refusal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerifySBOMRejects_CannedVerdict: verify --sbom refuses an image
// without an SBOM attestation, and one whose attested SBOM is not the one
// the GO evidence records (replaced afterwards by the same key).
func TestVerifySBOMRejects_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	reg.Push(t, "plain:1", trivytest.Clean("amd64"))
	reg.Push(t, "swapped:1", trivytest.Clean("arm64"))
	s := newSigner(t, keys)
	if _, err := (&sign.Release{Signer: s, Gates: cannedGates(t, evidence.GO, now), Now: clock}).Run(context.Background(), reg.Host+"/plain:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := (&sign.Release{Signer: s, Gates: sbomGates(t, nil), Now: clock}).Run(context.Background(), reg.Host+"/swapped:1"); err != nil {
		t.Fatal(err)
	}
	// The same key later attaches another SBOM in place of the scanned one.
	tg := resolve(t, reg.Host+"/swapped:1")
	forged := cdx(tg.Repository, tg.Digest, tg.ImageID, "")
	if _, err := s.Attest(context.Background(), tg, []sign.Statement{{PredicateType: sign.SBOMPredicateType, Predicate: jsonRaw(forged)}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, want string }{
		{reg.Host + "/plain:1", "the evidence records no SBOM"},
		{reg.Host + "/swapped:1", "holds the SBOM the evidence records"},
	} {
		o := verifyOpts(keys)
		o.RequireSBOM = true
		v, err := sign.Verify(context.Background(), resolve(t, tc.ref), o)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(v.Failures, "; "); v.OK() || !strings.Contains(got, tc.want) {
			t.Errorf("%s: failures %q, want %q", tc.ref, got, tc.want)
		}
		o.RequireSBOM = false
		if v, _ := sign.Verify(context.Background(), resolve(t, tc.ref), o); !v.OK() {
			t.Errorf("%s without --sbom: %v", tc.ref, v.Failures)
		}
	}
}

func jsonRaw(b []byte) json.RawMessage { return json.RawMessage(b) }
