package sign_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// fast keeps retries quick in tests; the policy is the same.
var fast = sign.Retry{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

const password = "correct horse"

func newSigner(t *testing.T, keys signtest.Keys) *sign.Signer {
	t.Helper()
	s, err := sign.New(context.Background(), sign.Options{
		Key:      sign.KeyOptions{KeyRef: keys.Private, PassFunc: keys.PassFunc()},
		Registry: sign.RegistryOptions{Retry: fast},
	})
	if err != nil {
		t.Fatalf("load signer: %v", err)
	}
	return s
}

// scanned describes one image a canned image-scan result covers.
type scanned struct {
	digest, platform, imageID string
}

// cannedBundle is the evidence the gates would produce: an image-scan
// result for each image in imgs with its trivy report carried by sha256,
// judged decision. Only neutral evidence types are used: the sign package
// knows no gate. The CLI's tests run the real gates with the real trivy.
func cannedBundle(t testing.TB, repo, decision string, generated time.Time, imgs ...scanned) *evidence.Bundle {
	t.Helper()
	reports := map[string][]byte{}
	var scans []evidence.ImageScan
	var subjects []checks.Subject
	for _, im := range imgs {
		body := []byte(fmt.Sprintf(`{"SchemaVersion":2,"ArtifactName":%q,"ArtifactType":"container_image","Metadata":{"ImageID":%q,"RepoDigests":[%q]},"Results":[]}`,
			repo+"@"+im.digest, im.imageID, repo+"@"+im.digest))
		sum := evidence.SHA256(body)
		reports[sum] = body
		s := evidence.ImageScan{
			Reference: repo + "@" + im.digest, Source: "registry", Name: repo, Digest: im.digest, DigestKind: evidence.DigestManifest,
			ImageID: im.imageID, Platform: im.platform, Command: []string{"trivy", "image"},
			StartedAt: generated.Add(-3 * time.Second), FinishedAt: generated.Add(-time.Second), ReportSHA256: sum,
		}
		scans = append(scans, s)
		subjects = append(subjects, s.Subject())
	}
	status := checks.StatusPass
	deny := []evidence.Message{}
	if decision == evidence.NOGO {
		status = checks.StatusFail
		deny = append(deny, evidence.Message{Msg: "image-scan: critical CVE-2099-0001", Check: "image-scan", Rule: "SCAN-CRITICAL-VULN", Severity: "critical"})
	}
	doc := &evidence.Document{
		Schema: evidence.Schema, Tool: buildinfo.Get(), GeneratedAt: generated,
		Settings: evidence.Settings{BlockOn: []string{"critical", "high"}},
		Checks: []checks.Result{{
			Check: "image-scan", Type: "image-scan", Required: true, Status: status, Findings: []checks.Finding{},
			Facts: map[string]any{
				evidence.FactScans:   scans,
				evidence.FactScanDB:  evidence.ScanDB{SchemaVersion: 2, UpdatedAt: generated.Add(-6 * time.Hour), NextUpdate: generated.Add(18 * time.Hour), DownloadedAt: generated.Add(-5 * time.Hour)},
				evidence.FactScanner: evidence.Scanner{Path: "/usr/bin/trivy", Version: "0.74.0"},
			},
			Subjects: subjects, StartedAt: generated.Add(-4 * time.Second),
		}},
		Subjects: subjects, Waivers: []evidence.WaiverStatus{},
		Verdict: evidence.Verdict{Decision: decision, Summary: decision, Deny: deny, Warn: []evidence.Message{}},
	}
	return &evidence.Bundle{Doc: doc, Reports: reports}
}

// cannedGates returns gates that report a canned verdict about the digest
// they are given (all platforms of an index, unless only is set): a
// stand-in for the real gates, which internal/cli's release tests run; the
// tests that use it say so in their names (_CannedVerdict).
func cannedGates(t testing.TB, decision string, generated time.Time, only ...string) sign.GatesFunc {
	return func(_ context.Context, tg *sign.Target) (*evidence.Bundle, error) {
		var imgs []scanned
		if tg.Index {
			for _, p := range tg.Platforms {
				if len(only) == 0 || p.Platform == only[0] {
					imgs = append(imgs, scanned{p.Digest, p.Platform, p.ImageID})
				}
			}
		} else {
			imgs = append(imgs, scanned{digest: tg.Digest, imageID: tg.ImageID})
		}
		return cannedBundle(t, tg.Repository, decision, generated, imgs...), nil
	}
}

func verifyOpts(keys signtest.Keys) sign.VerifyOptions {
	return sign.VerifyOptions{Key: keys.Public, IgnoreTlog: true, RequireVuln: true, Now: clock, Registry: sign.RegistryOptions{Retry: fast}}
}

func resolve(t *testing.T, ref string) *sign.Target {
	t.Helper()
	tg, err := sign.Resolve(context.Background(), ref, sign.RegistryOptions{Retry: fast})
	if err != nil {
		t.Fatalf("resolve %s: %v", ref, err)
	}
	return tg
}

func TestReleaseSignsAttestsAndVerifies_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	d := reg.Push(t, "app:1", trivytest.Clean("amd64"))
	rel := &sign.Release{Signer: newSigner(t, keys), Gates: cannedGates(t, evidence.GO, now), Now: clock}

	res, err := rel.Run(context.Background(), reg.Host+"/app:1")
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if res.Target.Digest != d.DigestStr() {
		t.Errorf("released %s, pushed %s", res.Target.Digest, d.DigestStr())
	}
	if !res.Signature.Written || res.Signature.Existing {
		t.Errorf("signature = %+v, want newly written", res.Signature)
	}
	if !res.Verification.OK() || res.Verification.Signatures != 1 {
		t.Errorf("self-verification = %+v", res.Verification)
	}
	if res.Signer.Mode != sign.ModeKey || !strings.HasPrefix(res.Signer.Fingerprint, "sha256:") || res.Signer.KeyRef != "cosign.key" {
		t.Errorf("signer identity = %+v", res.Signer)
	}
	hex := strings.Replace(d.DigestStr(), ":", "-", 1)
	if diff := cmp.Diff([]string{"1", hex + ".att", hex + ".sig"}, reg.Tags(t, "app")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if got := len(reg.Layers(t, "app", hex+".sig")); got != 1 {
		t.Errorf("%d signatures, want 1", got)
	}
	if diff := cmp.Diff([]string{sign.VulnPredicateType, sign.EvidencePredicateType}, reg.PredicateTypes(t, "app", d.DigestStr())); diff != "" {
		t.Errorf("attestations (-want +got):\n%s", diff)
	}

	// A deploy step verifies with the public key alone.
	v, err := sign.Verify(context.Background(), resolve(t, reg.Host+"/app:1"), verifyOpts(keys))
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() {
		t.Fatalf("verify failed: %v", v.Failures)
	}
	if v.Evidence.Verdict != evidence.GO || v.Evidence.Signer.Fingerprint != res.Signer.Fingerprint || v.Vuln == nil || v.Vuln.DBVersion != "2" {
		t.Errorf("verification = %+v / %+v / %+v", v, v.Evidence, v.Vuln)
	}
	fp, err := sign.KeyFingerprint(context.Background(), keys.Public)
	if err != nil || fp != res.Signer.Fingerprint {
		t.Errorf("public key fingerprint %s (%v), signer %s", fp, err, res.Signer.Fingerprint)
	}
}

func TestReleaseNoGoWritesNothing_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	d := reg.Push(t, "app:1", trivytest.AlpineVulnerable("amd64"))
	rel := &sign.Release{Signer: newSigner(t, keys), Gates: cannedGates(t, evidence.NOGO, now), Now: clock}

	res, err := rel.Run(context.Background(), reg.Host+"/app:1")
	if !errors.Is(err, sign.ErrNoGo) {
		t.Fatalf("release error = %v, want ErrNoGo", err)
	}
	if res.Evidence == nil || res.Evidence.GO() || res.Signature != nil || res.Attestations != nil {
		t.Errorf("result = %+v", res)
	}
	tags := reg.Tags(t, "app")
	if diff := cmp.Diff([]string{"1"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if got := signtest.CosignTags(tags, d.DigestStr()); len(got) != 0 {
		t.Errorf("cosign tags for %s after NO-GO: %v", d.DigestStr(), got)
	}
}

// TestReleaseFakeRegistryRefusingAttestations_CannedVerdict: a fake in front of the
// real registry denies the attestation push after the signature landed.
// The release reports exactly what was written and fails; a second run
// (the fake removed) completes the set with still exactly one signature.
func TestReleaseFakeRegistryRefusingAttestations_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	d := reg.Push(t, "app:1", trivytest.Clean("amd64"))
	hex := strings.Replace(d.DigestStr(), ":", "-", 1)
	signer := newSigner(t, keys)

	reg.SetFault(signtest.RefuseAttestations)
	rel := &sign.Release{Signer: signer, Gates: cannedGates(t, evidence.GO, now), Now: clock}
	res, err := rel.Run(context.Background(), reg.Host+"/app:1")
	var inc *sign.IncompleteError
	if !errors.As(err, &inc) || inc.Step != "attest" {
		t.Fatalf("release error = %v, want an incomplete attest", err)
	}
	want := []string{"signature " + reg.Host + "/app:" + hex + ".sig"}
	if diff := cmp.Diff(want, res.Written()); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	for _, s := range []string{"DENIED", "written so far: signature", "run the release again"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if diff := cmp.Diff([]string{"1", hex + ".sig"}, reg.Tags(t, "app")); diff != "" {
		t.Errorf("tags after the refused push (-want +got):\n%s", diff)
	}

	reg.SetFault(nil)
	res, err = rel.Run(context.Background(), reg.Host+"/app:1")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !res.Signature.Existing || res.Signature.Written {
		t.Errorf("retry signature = %+v, want the existing one reused", res.Signature)
	}
	if got := len(reg.Layers(t, "app", hex+".sig")); got != 1 {
		t.Errorf("%d signatures after the retry, want exactly 1", got)
	}
	if diff := cmp.Diff([]string{sign.VulnPredicateType, sign.EvidencePredicateType}, reg.PredicateTypes(t, "app", d.DigestStr())); diff != "" {
		t.Errorf("attestations (-want +got):\n%s", diff)
	}

	// A third run replaces the attestations rather than piling them up.
	res, err = rel.Run(context.Background(), reg.Host+"/app:1")
	if err != nil {
		t.Fatalf("third run: %v", err)
	}
	if res.Attestations.Replaced != 2 || len(reg.PredicateTypes(t, "app", d.DigestStr())) != 2 || len(reg.Layers(t, "app", hex+".sig")) != 1 {
		t.Errorf("third run: replaced %d; attestations %v; signatures %d", res.Attestations.Replaced,
			reg.PredicateTypes(t, "app", d.DigestStr()), len(reg.Layers(t, "app", hex+".sig")))
	}
}

// TestReleaseSurvivesTransientRegistryFault_CannedVerdict: a fake answers the first
// signature push with 503; the bounded retry pushes it again.
func TestReleaseSurvivesTransientRegistryFault_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	d := reg.Push(t, "app:1", trivytest.Clean("amd64"))
	hex := strings.Replace(d.DigestStr(), ":", "-", 1)
	reg.SetFault(signtest.FailOnce(http.StatusServiceUnavailable, func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".sig")
	}))
	rel := &sign.Release{Signer: newSigner(t, keys), Gates: cannedGates(t, evidence.GO, now), Now: clock}
	if _, err := rel.Run(context.Background(), reg.Host+"/app:1"); err != nil {
		t.Fatalf("release with one transient 503: %v", err)
	}
	if got := len(reg.Layers(t, "app", hex+".sig")); got != 1 {
		t.Errorf("%d signatures, want 1", got)
	}
}

func TestReleaseMultiPlatformIndex_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	d := reg.PushIndex(t, "multi:1", trivytest.MultiPlatform())

	t.Run("every platform scanned: the index is signed", func(t *testing.T) {
		rel := &sign.Release{Signer: newSigner(t, keys), Gates: cannedGates(t, evidence.GO, now), Now: clock}
		res, err := rel.Run(context.Background(), reg.Host+"/multi:1")
		if err != nil {
			t.Fatalf("release: %v", err)
		}
		if !res.Target.Index || res.Target.Digest != d.DigestStr() || len(res.Target.Platforms) != 2 {
			t.Errorf("target = %+v", res.Target)
		}
		want := []string{sign.VulnPredicateType, sign.VulnPredicateType, sign.EvidencePredicateType}
		if diff := cmp.Diff(want, reg.PredicateTypes(t, "multi", d.DigestStr())); diff != "" {
			t.Errorf("attestations on the index (-want +got):\n%s", diff)
		}
		v, err := sign.Verify(context.Background(), resolve(t, reg.Host+"/multi:1"), verifyOpts(keys))
		if err != nil || !v.OK() {
			t.Fatalf("verify index: %v %v", err, v)
		}
		if v.Vuln.Count != 2 {
			t.Errorf("%d vulnerability attestations verified, want one per platform", v.Vuln.Count)
		}
	})
	t.Run("one platform unscanned: refused", func(t *testing.T) {
		reg2 := signtest.StartRegistry(t)
		reg2.PushIndex(t, "multi:1", trivytest.MultiPlatform())
		rel := &sign.Release{Signer: newSigner(t, keys), Gates: cannedGates(t, evidence.GO, now, "linux/amd64"), Now: clock}
		_, err := rel.Run(context.Background(), reg2.Host+"/multi:1")
		var refused *sign.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("release error = %v, want a refusal", err)
		}
		if diff := cmp.Diff([]string{"1"}, reg2.Tags(t, "multi")); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})
}

func TestVerifyRejects_CannedVerdict(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	other := signtest.KeyPair(t, "other")
	good := reg.Push(t, "app:1", trivytest.Clean("amd64"))
	rel := &sign.Release{Signer: newSigner(t, keys), Gates: cannedGates(t, evidence.GO, now), Now: clock}
	if _, err := rel.Run(context.Background(), reg.Host+"/app:1"); err != nil {
		t.Fatalf("release: %v", err)
	}
	goodHex := strings.Replace(good.DigestStr(), ":", "-", 1)

	// Tampering: another image, never released, pushed under the tag…
	reg.Push(t, "app:retagged", trivytest.Clean("arm64"))
	// …and the same image with the good signature copied onto it.
	evil := reg.Push(t, "app:copied", trivytest.AlpineVulnerable("amd64"))
	copyTag(t, reg.Host+"/app:"+goodHex+".sig", reg.Host+"/app:"+strings.Replace(evil.DigestStr(), ":", "-", 1)+".sig")
	copyTag(t, reg.Host+"/app:"+goodHex+".att", reg.Host+"/app:"+strings.Replace(evil.DigestStr(), ":", "-", 1)+".att")

	// A NO-GO verdict attested by the right key (as a broken pipeline might).
	nogo := reg.Push(t, "app:nogo", trivytest.DebianVulnerable())
	attestVerdict(t, newSigner(t, keys), reg.Host+"/app:nogo", evidence.NOGO, now)

	tests := []struct {
		name   string
		ref    string
		mutate func(*sign.VerifyOptions)
		want   string
	}{
		{"good", reg.Host + "/app:1", nil, ""},
		{"wrong public key", reg.Host + "/app:1", func(o *sign.VerifyOptions) { o.Key = other.Public }, "signature: no matching signatures"},
		{"tag moved to another digest", reg.Host + "/app:retagged", nil, "signature: no signatures found"},
		{"signature copied to another digest", reg.Host + "/app:copied", nil, "invalid or missing digest in claim"},
		{"evidence older than max-age", reg.Host + "/app:1", func(o *sign.VerifyOptions) {
			o.MaxAge = 24 * time.Hour
			o.Now = func() time.Time { return now.Add(50 * time.Hour) }
		}, "older than --max-age 24h0m0s"},
		{"attested NO-GO", reg.Host + "/app:nogo", func(o *sign.VerifyOptions) { o.RequireVuln = false }, "attested verdict is NO-GO"},
		{"no vulnerability attestation when required", reg.Host + "/app:nogo", nil, "no verified vulnerability attestation"},
		{"digest reference", good.String(), nil, ""},
		{"digest of the NO-GO image", nogo.String(), func(o *sign.VerifyOptions) { o.RequireVuln = false }, "not GO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := verifyOpts(keys)
			if tc.mutate != nil {
				tc.mutate(&o)
			}
			v, err := sign.Verify(context.Background(), resolve(t, tc.ref), o)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(v.Failures, "\n")
			switch {
			case tc.want == "" && !v.OK():
				t.Errorf("verify failed: %s", got)
			case tc.want != "" && v.OK():
				t.Errorf("verify passed, want a failure saying %q", tc.want)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("failures %q do not say %q", got, tc.want)
			}
		})
	}
}

// attestVerdict writes a signature and an evidence attestation with the
// given verdict directly, bypassing the release flow's GO check.
func attestVerdict(t *testing.T, s *sign.Signer, ref, decision string, generated time.Time) {
	t.Helper()
	ctx := context.Background()
	tg := resolve(t, ref)
	if _, err := s.Sign(ctx, tg); err != nil {
		t.Fatal(err)
	}
	doc := cannedBundle(t, tg.Repository, decision, generated, scanned{digest: tg.Digest, imageID: tg.ImageID}).Doc
	p, err := sign.NewEvidencePredicate(doc, tg, s.Identity())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attest(ctx, tg, []sign.Statement{{PredicateType: sign.EvidencePredicateType, Predicate: p}}); err != nil {
		t.Fatal(err)
	}
}

func copyTag(t *testing.T, from, to string) {
	t.Helper()
	src, err := name.ParseReference(from)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewTag(to)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src)
	if err != nil {
		t.Fatalf("read %s: %v", src, err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatalf("write %s: %v", dst, err)
	}
}

func TestBadInputs(t *testing.T) {
	keys := signtest.KeyPair(t, password)
	ctx := context.Background()

	t.Run("wrong password", func(t *testing.T) {
		_, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: keys.Private, PassFunc: func(bool) ([]byte, error) { return []byte("nope"), nil }}})
		var ke *sign.KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), "wrong password") || strings.Contains(err.Error(), "nope") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("unreadable key", func(t *testing.T) {
		_, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: filepath.Join(t.TempDir(), "missing.key"), PassFunc: keys.PassFunc()}})
		var ke *sign.KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("not a key", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "junk.key")
		os.WriteFile(p, []byte("hello"), 0o600)
		_, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: p, PassFunc: keys.PassFunc()}})
		var ke *sign.KeyError
		if !errors.As(err, &ke) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("key from an environment variable", func(t *testing.T) {
		data, err := os.ReadFile(keys.Private)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("READINESS_TEST_COSIGN_KEY", string(data))
		s, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: "env://READINESS_TEST_COSIGN_KEY", PassFunc: keys.PassFunc()}})
		if err != nil {
			t.Fatal(err)
		}
		fp, _ := sign.KeyFingerprint(ctx, keys.Public)
		if s.Identity().Fingerprint != fp || s.Identity().KeyRef != "env://READINESS_TEST_COSIGN_KEY" {
			t.Errorf("identity = %+v, want fingerprint %s", s.Identity(), fp)
		}
	})
	t.Run("keyless without any OIDC token", func(t *testing.T) {
		for _, v := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "SIGSTORE_ID_TOKEN", "BUILDKITE_AGENT_ACCESS_TOKEN", "GOOGLE_SERVICE_ACCOUNT_NAME"} {
			t.Setenv(v, "")
			os.Unsetenv(v)
		}
		_, err := sign.New(ctx, sign.Options{})
		var ke *sign.KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), "OIDC token") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("malformed reference", func(t *testing.T) {
		_, err := sign.Resolve(ctx, "Not A Reference!!", sign.RegistryOptions{})
		var re *sign.RefError
		if !errors.As(err, &re) {
			t.Errorf("error = %v, want a RefError", err)
		}
	})
	t.Run("no such image", func(t *testing.T) {
		reg := signtest.StartRegistry(t)
		_, err := sign.Resolve(ctx, reg.Host+"/nothing:1", sign.RegistryOptions{Retry: fast})
		if err == nil || !strings.Contains(err.Error(), "no such image") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("unreachable registry gives up within the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := sign.Resolve(ctx, "127.0.0.1:1/app:1", sign.RegistryOptions{Retry: fast})
		if err == nil || ctx.Err() != nil {
			t.Errorf("error = %v (context: %v), want a prompt connection failure", err, ctx.Err())
		}
	})
	t.Run("verify needs whom to trust", func(t *testing.T) {
		for _, o := range []sign.VerifyOptions{{}, {Key: "k", CertIdentity: "a"}, {CertIdentity: "me@example.com"}, {Key: "k", MaxAge: -1}} {
			if err := o.Validate(); err == nil {
				t.Errorf("%+v: no error", o)
			}
		}
		if err := (sign.VerifyOptions{CertIdentityRegexp: ".*", CertOIDCIssuer: "https://token.actions.githubusercontent.com"}).Validate(); err != nil {
			t.Errorf("keyless options: %v", err)
		}
	})
}
