package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// TestImageReleaseSBOM: image release --sbom attaches real trivy's
// CycloneDX SBOM of each platform image, in the one attestation write,
// which real cosign verify-attestation --type cyclonedx and readiness
// image verify --sbom accept; an image released without one fails verify
// --sbom.
func TestImageReleaseSBOM(t *testing.T) {
	e := newRelEnv(t)
	clean := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: trivytest.Clean("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: trivytest.Clean("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	d := e.reg.PushIndex(t, "multi:1", clean)
	plain := e.reg.Push(t, "plain:1", trivytest.Clean("amd64"))

	code, stdout, stderr := e.release(t, e.reg.Host+"/multi:1", "--sbom")
	if code != 0 {
		t.Fatalf("release --sbom: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "2 SBOM attestation(s)") {
		t.Errorf("the release does not say it verified both SBOMs:\n%s", stdout)
	}
	want := []string{sign.VulnPredicateType, sign.VulnPredicateType, sign.SBOMPredicateType, sign.SBOMPredicateType, sign.EvidencePredicateType}
	if diff := cmp.Diff(want, e.reg.PredicateTypes(t, "multi", d.DigestStr())); diff != "" {
		t.Errorf("attestations on the index (-want +got):\n%s", diff)
	}
	for _, st := range e.reg.Statements(t, "multi", d.DigestStr()) {
		if st.PredicateType == sign.SBOMPredicateType && (len(st.Subject) != 2 || !strings.Contains(string(st.Predicate), `"bomFormat":"CycloneDX"`)) {
			t.Errorf("SBOM attestation: subjects %+v, predicate begins %.80s", st.Subject, st.Predicate)
		}
	}
	if code, stdout, _ := e.verify(t, nil, e.reg.Host+"/multi:1", "--sbom"); code != 0 || !strings.Contains(stdout, "2 CycloneDX attestation(s)") {
		t.Errorf("verify --sbom: exit %d\n%s", code, stdout)
	}

	t.Run("cosign verify-attestation --type cyclonedx", func(t *testing.T) {
		cosign := needCosign(t)
		out, err := runCosign(t, cosign, nil, "verify-attestation", "--type", "cyclonedx", "--key", e.keys.Public, "--insecure-ignore-tlog", d.String())
		if err != nil || !strings.Contains(out, d.DigestStr()) {
			t.Fatalf("cosign: %v\n%s", err, out)
		}
		// The image released without an SBOM has none to verify.
		if code, _, stderr := e.release(t, e.reg.Host+"/plain:1"); code != 0 {
			t.Fatalf("release: %s", stderr)
		}
		if out, err := runCosign(t, cosign, nil, "verify-attestation", "--type", "cyclonedx", "--key", e.keys.Public, "--insecure-ignore-tlog", plain.String()); err == nil {
			t.Errorf("cosign verified a CycloneDX attestation on an image released without --sbom:\n%s", out)
		}
	})

	if code, _, stderr := e.release(t, e.reg.Host+"/plain:1"); code != 0 {
		t.Fatalf("release: %s", stderr)
	}
	code, stdout, _ = e.verify(t, nil, e.reg.Host+"/plain:1", "--sbom")
	if code != 1 || !strings.Contains(stdout, "the evidence records no SBOM of "+plain.DigestStr()) {
		t.Errorf("verify --sbom of an image released without one: exit %d\n%s", code, stdout)
	}
}

// TestImageSignCarriesTheSBOM: image scan --bundle --sbom carries the SBOM
// by sha256; image sign --evidence --sbom attaches exactly that one; a
// bundle scanned without an SBOM is refused by sign --sbom, nothing written.
func TestImageSignCarriesTheSBOM(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	scan := func(extra ...string) string {
		out := filepath.Join(t.TempDir(), "bundle.json")
		args := append([]string{"image", "scan", "--bundle", out, "--key", e.scanKeys.Private}, extra...)
		if code, _, stderr := e.run(t, nil, scanEnv, append(args, d.String())...); code != 0 {
			t.Fatalf("scan exit %d: %s", code, stderr)
		}
		return out
	}
	sign_ := func(bundle string) (int, string, string) {
		return e.run(t, nil, nil, "image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--sbom",
			"--evidence", bundle, "--evidence-key", e.scanKeys.Public, d.String())
	}
	code, stdout, stderr := sign_(scan())
	if code != 1 || !strings.Contains(stderr, "recorded no SBOM") {
		t.Errorf("sign --sbom of a bundle without one: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if diff := cmp.Diff([]string{"1"}, e.reg.Tags(t, "api")); diff != "" {
		t.Errorf("written despite the refusal (-want +got):\n%s", diff)
	}

	bundle := scan("--sbom")
	code, stdout, stderr = sign_(bundle)
	if code != 0 {
		t.Fatalf("sign --sbom: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var recorded string
	for _, st := range e.reg.Statements(t, "api", d.DigestStr()) {
		if st.PredicateType == sign.EvidencePredicateType {
			_, doc, err := sign.DecodeEvidencePredicate(st.Predicate)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := evidence.ImageScans(doc.Checks[0])
			recorded = rec.Scans[0].SBOM.SHA256
		}
	}
	var attested string
	for _, st := range e.reg.Statements(t, "api", d.DigestStr()) {
		if st.PredicateType == sign.SBOMPredicateType {
			attested = evidence.SHA256(st.Predicate)
		}
	}
	if recorded == "" || attested != recorded {
		t.Errorf("attested SBOM sha256 %q, the evidence records %q", attested, recorded)
	}
	if code, stdout, _ := e.verify(t, nil, d.String(), "--sbom"); code != 0 {
		t.Errorf("verify --sbom: exit %d\n%s", code, stdout)
	}
}
