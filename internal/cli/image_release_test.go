package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

const relPassword = "release password"

// scanPassword is the scan job's key password (a key of its own).
const scanPassword = "scan job password"

// scanEnv is the scan job's environment.
var scanEnv = map[string]string{"COSIGN_PASSWORD": scanPassword}

// relEnv is a release test's world: a registry, a key pair, the real trivy
// with the offline test DB, and a readiness.yaml whose image-scan check the
// release pins to the digest.
type relEnv struct {
	reg  *signtest.Registry
	keys signtest.Keys
	// scanKeys are the scan job's: it signs the bundles it writes.
	scanKeys signtest.Keys
	sealer   *sign.Signer
	dir      string
}

func newRelEnv(t testing.TB) *relEnv {
	t.Helper()
	bin := trivytest.Binary(t)
	cache := trivytest.CacheDir(t, time.Now())
	e := &relEnv{reg: signtest.StartRegistry(t), keys: signtest.KeyPair(t, relPassword), scanKeys: signtest.KeyPair(t, scanPassword), dir: t.TempDir()}
	cfg := `version: 1
checks:
  - name: release-image
    type: image-scan
    with:
      trivy: ` + bin + `
      skip_db_update: true
      cache_dir: ` + cache + `
      report_dir: ` + t.TempDir() + `
`
	if err := os.WriteFile(filepath.Join(e.dir, "readiness.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the CLI in-process in the env's directory, with COSIGN_PASSWORD
// set (unless env overrides it) and the clock now.
func (e *relEnv) run(t testing.TB, now func() time.Time, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	streams, out, errOut := cli.Test()
	vars := map[string]string{"COSIGN_PASSWORD": relPassword}
	for k, v := range env {
		vars[k] = v
	}
	streams.Getenv = func(k string) string { return vars[k] }
	app := root.NewApp(streams)
	if now != nil {
		app.Now = now
	}
	t.Chdir(e.dir)
	code := cli.Run(context.Background(), app, args)
	return code, out.String(), errOut.String()
}

func (e *relEnv) release(t *testing.T, image string, extra ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"image", "release", "--key", e.keys.Private, "--tlog-upload=false"}, extra...)
	return e.run(t, nil, nil, append(args, image)...)
}

func (e *relEnv) verify(t *testing.T, now func() time.Time, image string, extra ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"image", "verify", "--key", e.keys.Public, "--insecure-ignore-tlog"}, extra...)
	return e.run(t, now, nil, append(args, image)...)
}

func hexTag(digest string) string { return strings.Replace(digest, ":", "-", 1) }

func TestImageReleaseCleanImageIsSignedAttestedAndVerifies(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	image := e.reg.Host + "/api:1"
	result := filepath.Join(t.TempDir(), "result.json")
	page := filepath.Join(t.TempDir(), "release.html")

	code, stdout, stderr := e.release(t, image, "--result", result, "-o", "text", "-o", "html="+page)
	if code != 0 {
		t.Fatalf("release exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// The HTML report's chain shows what this run signed and attested,
	// not "not signed by this run".
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{hexTag(d.DigestStr()) + ".sig by key ", sign.EvidencePredicateType + " in ", sign.VulnPredicateType + " in "} {
		if !strings.Contains(string(html), s) {
			t.Errorf("HTML chain does not say %q", s)
		}
	}
	if strings.Contains(string(html), "not signed by this run") {
		t.Error("HTML chain says the image was not signed by this run")
	}
	for _, s := range []string{"GO", "released " + d.String(), ".sig (written)", sign.EvidencePredicateType, "verified      1 signature(s), evidence GO, 1 vulnerability attestation(s)"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout does not say %q:\n%s", s, stdout)
		}
	}
	if diff := cmp.Diff([]string{"1", hexTag(d.DigestStr()) + ".att", hexTag(d.DigestStr()) + ".sig"}, e.reg.Tags(t, "api")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// The vulnerability attestation carries what trivy's cosign-vuln
	// output leaves empty.
	var vuln, ev *signtest.Statement
	for _, st := range e.reg.Statements(t, "api", d.DigestStr()) {
		switch st.PredicateType {
		case sign.VulnPredicateType:
			vuln = &st
		case sign.EvidencePredicateType:
			ev = &st
		}
	}
	if vuln == nil || ev == nil {
		t.Fatalf("attestations missing: vuln %v, evidence %v", vuln != nil, ev != nil)
	}
	var vp sign.VulnPredicate
	if err := json.Unmarshal(vuln.Predicate, &vp); err != nil {
		t.Fatal(err)
	}
	if vp.Scanner.DB.Version != "2" || vp.Scanner.DB.UpdatedAt == nil || vp.Scanner.DB.UpdatedAt.IsZero() ||
		!strings.HasPrefix(vp.Scanner.URI, "pkg:github/aquasecurity/trivy@0.") ||
		vp.Metadata.ScanStartedOn.IsZero() || !vp.Metadata.ScanFinishedOn.After(vp.Metadata.ScanStartedOn) {
		t.Errorf("vuln predicate scanner %+v, db %+v, metadata %+v", vp.Scanner.URI, vp.Scanner.DB, vp.Metadata)
	}
	var report struct{ ArtifactName string }
	if err := json.Unmarshal(vp.Scanner.Result, &report); err != nil || !strings.Contains(report.ArtifactName, d.DigestStr()) {
		t.Errorf("vuln predicate result is not trivy's report of %s: %s (%v)", d.DigestStr(), report.ArtifactName, err)
	}
	p, doc, err := sign.DecodeEvidencePredicate(ev.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	if p.Verdict != evidence.GO || p.Signer.Mode != sign.ModeKey || p.Tool.Name != "readiness" || p.Tool.Version == "" || !sign.SubjectsCover(doc.Subjects, &sign.Target{Digest: d.DigestStr()}) {
		t.Errorf("evidence predicate: verdict %s, signer %+v, tool %+v, subjects %v", p.Verdict, p.Signer, p.Tool, doc.Subjects)
	}

	var res sign.ReleaseResult
	data, err := os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest != d.DigestStr() || res.Phases.Gates <= 0 || res.Phases.Sign <= 0 || !res.Signature.Written {
		t.Errorf("--result = %s", data)
	}

	code, stdout, stderr = e.verify(t, nil, image, "--require-vuln-attestation", "--max-age", "1d")
	if code != 0 {
		t.Fatalf("verify exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "verified "+d.String()) {
		t.Errorf("verify stdout:\n%s", stdout)
	}
}

func TestImageReleaseVulnerableImageIsNoGoAndPushesNothing(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.AlpineVulnerable("amd64"))

	code, stdout, stderr := e.release(t, e.reg.Host+"/api:1")
	if code != 1 {
		t.Fatalf("release exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, s := range []string{"NO-GO", trivytest.CVECritical, "nothing was signed, nothing was pushed"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout does not say %q:\n%s", s, stdout)
		}
	}
	tags := e.reg.Tags(t, "api")
	if diff := cmp.Diff([]string{"1"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if got := signtest.CosignTags(tags, d.DigestStr()); len(got) != 0 {
		t.Errorf("signature or attestation tags for %s after NO-GO: %v", d.DigestStr(), got)
	}

	code, _, _ = e.verify(t, nil, e.reg.Host+"/api:1")
	if code != 1 {
		t.Errorf("verify of the unreleased image exit %d, want 1", code)
	}
}

// TestImageReleaseFakeRegistryRefusingAttestations: a fake in front of the
// real registry refuses the attestation push. The release fails, says
// exactly what it wrote, and a second run completes the set with exactly
// one signature.
func TestImageReleaseFakeRegistryRefusingAttestations(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	image := e.reg.Host + "/api:1"
	sig := hexTag(d.DigestStr()) + ".sig"

	e.reg.SetFault(signtest.RefuseAttestations)
	code, stdout, stderr := e.release(t, image)
	if code != 1 {
		t.Fatalf("release exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, s := range []string{"not released: attest failed", "DENIED", "written so far: signature " + e.reg.Host + "/api:" + sig, "run the release again"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr does not say %q:\n%s", s, stderr)
		}
	}
	if !strings.Contains(stdout, sig+" (written)") || !strings.Contains(stdout, ".att (not written)") {
		t.Errorf("stdout does not list what was and was not written:\n%s", stdout)
	}
	if code, _, _ := e.verify(t, nil, image); code != 1 {
		t.Errorf("verify after the partial release exit %d, want 1", code)
	}

	e.reg.SetFault(nil)
	code, stdout, stderr = e.release(t, image)
	if code != 0 {
		t.Fatalf("retry exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, sig+" (already there, reused)") {
		t.Errorf("retry stdout:\n%s", stdout)
	}
	if got := len(e.reg.Layers(t, "api", sig)); got != 1 {
		t.Errorf("%d signatures after the retry, want exactly 1", got)
	}
	if code, stdout, _ := e.verify(t, nil, image, "--require-vuln-attestation"); code != 0 {
		t.Errorf("verify after the retry exit %d:\n%s", code, stdout)
	}
}

func TestImageVerifyRejectsTamperingAndOldVerdicts(t *testing.T) {
	e := newRelEnv(t)
	e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	image := e.reg.Host + "/api:1"
	if code, stdout, stderr := e.release(t, image); code != 0 {
		t.Fatalf("release exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	other := signtest.KeyPair(t, "other")
	later := func() time.Time { return time.Now().Add(72 * time.Hour) }

	tests := []struct {
		name  string
		setup func()
		now   func() time.Time
		args  []string
		code  int
		want  string
	}{
		{"verifies", nil, nil, nil, 0, "verified"},
		{"wrong public key", nil, nil, []string{"--key", other.Public}, 1, "no matching signatures"},
		{"verdict older than --max-age", nil, later, []string{"--max-age", "2d"}, 1, "older than --max-age 48h0m0s"},
		{"fresh enough for a longer --max-age", nil, later, []string{"--max-age", "7d"}, 0, "verified"},
		{"tag moved to another digest", func() { e.reg.Push(t, "api:1", trivytest.Clean("arm64")) }, nil, nil, 1, "no signatures found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			code, stdout, stderr := e.verify(t, tc.now, image, tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.want) {
				t.Errorf("exit %d (want %d), stdout does not say %q?\nstdout: %s\nstderr: %s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

func TestImageSignNeedsGOEvidenceForTheDigest(t *testing.T) {
	e := newRelEnv(t)
	clean := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	vulnerable := e.reg.Push(t, "api:2", trivytest.AlpineVulnerable("amd64"))
	other := e.reg.Push(t, "api:3", trivytest.Clean("arm64"))

	scan := func(d string) string {
		out := filepath.Join(t.TempDir(), "bundle.json")
		code, _, stderr := e.run(t, nil, scanEnv, "image", "scan", "--bundle", out, "--key", e.scanKeys.Private, d)
		if code > 1 {
			t.Fatalf("scan exit %d: %s", code, stderr)
		}
		return out
	}
	goEvidence, nogoEvidence := scan(clean.String()), scan(vulnerable.String())
	signArgs := func(ev, image string) []string {
		return []string{"image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--evidence", ev, "--evidence-key", e.scanKeys.Public, image}
	}

	code, stdout, stderr := e.run(t, nil, nil, signArgs(nogoEvidence, vulnerable.String())...)
	if code != 1 || !strings.Contains(stdout, "nothing was signed") {
		t.Errorf("sign with NO-GO evidence: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, _, stderr = e.run(t, nil, nil, signArgs(goEvidence, other.String())...)
	if code != 1 || !strings.Contains(stderr, "does not cover "+other.DigestStr()) {
		t.Errorf("sign another digest with this evidence: exit %d\nstderr: %s", code, stderr)
	}
	code, _, stderr = e.run(t, func() time.Time { return time.Now().Add(48 * time.Hour) }, nil, signArgs(goEvidence, clean.String())...)
	if code != 1 || !strings.Contains(stderr, "older than --max-age") {
		t.Errorf("sign with day-old evidence: exit %d\nstderr: %s", code, stderr)
	}
	code, _, stderr = e.run(t, func() time.Time { return time.Now().Add(-time.Hour) }, nil, signArgs(goEvidence, clean.String())...)
	if code != 1 || !strings.Contains(stderr, "in the future") {
		t.Errorf("sign with evidence from the future: exit %d\nstderr: %s", code, stderr)
	}
	// A summary list edited to claim another digest does not count: the
	// checks' own subjects decide what was scanned.
	var forged string
	data, err := os.ReadFile(goEvidence)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(unsealed(t, data), &doc); err != nil {
		t.Fatal(err)
	}
	doc["evidence"].(map[string]any)["subjects"] = []map[string]string{{"name": other.Context().Name(), "digest": other.DigestStr()}}
	data, _ = json.Marshal(doc)
	forged = e.seal(t, data)
	code, _, stderr = e.run(t, nil, nil, signArgs(forged, other.String())...)
	if code != 1 || !strings.Contains(stderr, "does not cover "+other.DigestStr()) {
		t.Errorf("sign with a forged subject list: exit %d\nstderr: %s", code, stderr)
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, e.reg.Tags(t, "api")); diff != "" {
		t.Fatalf("refused signing wrote to the registry (-want +got):\n%s", diff)
	}

	code, stdout, stderr = e.run(t, nil, nil, signArgs(goEvidence, e.reg.Host+"/api:1")...)
	if code != 0 {
		t.Fatalf("sign with GO evidence: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, stdout, _ := e.verify(t, nil, clean.String(), "--require-vuln-attestation"); code != 0 {
		t.Errorf("verify after sign exit %d:\n%s", code, stdout)
	}
}

// Usage errors exit 2 and never reach the registry or the gates.
func TestImageReleaseUsageErrors(t *testing.T) {
	e := newRelEnv(t)
	e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	image := e.reg.Host + "/api:1"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"wrong key password", map[string]string{"COSIGN_PASSWORD": "wrong"}, []string{"image", "release", "--key", e.keys.Private, "--tlog-upload=false", image}, "wrong password"},
		{"unreadable key", nil, []string{"image", "release", "--key", filepath.Join(e.dir, "nope.key"), image}, "no such file"},
		{"malformed reference", nil, []string{"image", "release", "--key", e.keys.Private, "UPPER/Case::bad"}, "image reference"},
		{"two images", nil, []string{"image", "release", "--key", e.keys.Private, image, image}, "name one image"},
		{"keyless without the log", nil, []string{"image", "release", "--keyless", "--tlog-upload=false", image}, "--tlog-upload=false with --keyless needs --trusted-root"},
		{"no signing mode", nil, []string{"image", "release", image}, "choose how to sign"},
		{"both signing modes", nil, []string{"image", "release", "--key", e.keys.Private, "--keyless", image}, "exclude each other"},
		{"keyless without an OIDC token", nil, []string{"image", "release", "--keyless", image}, "needs an OIDC token"},
		{"verify without a key or identity", nil, []string{"image", "verify", image}, "say whom to trust"},
		{"verify with a bad --max-age", nil, []string{"image", "verify", "--key", e.keys.Public, "--max-age", "soon", image}, "not a duration"},
		{"verify with an unreadable public key", nil, []string{"image", "verify", "--key", filepath.Join(e.dir, "nope.pub"), image}, "nope.pub"},
		{"sign with a missing evidence file", nil, []string{"image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--evidence", "missing.json", "--evidence-key", e.keys.Public, image}, "--evidence"},
		{"sign from evidence without the scanner's key", nil, []string{"image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--evidence", "missing.json", image}, "--evidence needs the scanner's trust material: --evidence-key"},
		{"sign from evidence with an unreadable scanner key", nil, []string{"image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--evidence", "missing.json", "--evidence-key", "nope.pub", image}, "--evidence-key"},
		{"--evidence-key without --evidence", nil, []string{"image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--evidence-key", e.keys.Public, image}, "name the bundle with --evidence"},
		{"scan --key without --bundle", nil, []string{"image", "scan", "--key", e.keys.Private, image}, "--key signs the bundle"},
		{"password is never a flag", nil, []string{"image", "release", "--key", e.keys.Private, "--password", "x", image}, "unknown flag"},
	}
	// Ambient OIDC providers read the process environment: hide any.
	for _, v := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "SIGSTORE_ID_TOKEN", "BUILDKITE_AGENT_ACCESS_TOKEN", "GOOGLE_SERVICE_ACCOUNT_NAME"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.run(t, nil, tc.env, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want 2), stderr does not say %q?\nstdout: %s\nstderr: %s", code, tc.want, stdout, stderr)
			}
			if strings.Contains(stderr, relPassword) || strings.Contains(stdout, relPassword) {
				t.Errorf("the password appears in the output")
			}
		})
	}
	if diff := cmp.Diff([]string{"1"}, e.reg.Tags(t, "api")); diff != "" {
		t.Errorf("usage errors wrote to the registry (-want +got):\n%s", diff)
	}
}

// A multi-platform index is scanned for every platform and signed as a
// whole; one vulnerable platform makes the whole index NO-GO.
func TestImageReleaseMultiPlatformIndex(t *testing.T) {
	e := newRelEnv(t)
	clean := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: trivytest.Clean("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: trivytest.Clean("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	good := e.reg.PushIndex(t, "multi:1", clean)
	bad := e.reg.PushIndex(t, "multi:2", trivytest.MultiPlatform())

	code, stdout, stderr := e.release(t, e.reg.Host+"/multi:1")
	if code != 0 {
		t.Fatalf("release of the clean index: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "signed as a whole; every platform scanned: linux/amd64, linux/arm64/v8") {
		t.Errorf("stdout does not say the index was signed as a whole:\n%s", stdout)
	}
	want := []string{sign.VulnPredicateType, sign.VulnPredicateType, sign.EvidencePredicateType}
	if diff := cmp.Diff(want, e.reg.PredicateTypes(t, "multi", good.DigestStr())); diff != "" {
		t.Errorf("attestations on the index (-want +got):\n%s", diff)
	}
	if code, stdout, _ := e.verify(t, nil, e.reg.Host+"/multi:1", "--require-vuln-attestation"); code != 0 {
		t.Errorf("verify of the index: exit %d\n%s", code, stdout)
	}

	code, stdout, stderr = e.release(t, e.reg.Host+"/multi:2")
	if code != 1 || !strings.Contains(stdout, trivytest.CVECritical) || !strings.Contains(stdout, "linux/arm64") {
		t.Errorf("release of an index with a vulnerable arm64 image: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if got := signtest.CosignTags(e.reg.Tags(t, "multi"), bad.DigestStr()); len(got) != 0 {
		t.Errorf("cosign tags for the NO-GO index: %v", got)
	}
}
