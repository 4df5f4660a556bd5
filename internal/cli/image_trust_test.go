package cli_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// Tests for issue 12: nothing is signed that readiness did not itself see
// scanned clean. Each runs the real trivy against the in-process registry
// and checks that a refusal wrote nothing (tags, and so referrers: cosign
// writes sha256-<hex>.sig/.att tags) and that image verify refuses.

// assertNothingWritten fails when the repository holds tags other than want.
func (e *relEnv) assertNothingWritten(t *testing.T, repo string, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, e.reg.Tags(t, repo)); diff != "" {
		t.Errorf("a refusal wrote to the registry (-want +got tags):\n%s", diff)
	}
}

func (e *relEnv) assertVerifyRefuses(t *testing.T, image string) {
	t.Helper()
	if code, stdout, stderr := e.verify(t, nil, image, "--require-vuln-attestation"); code != 1 {
		t.Errorf("image verify exit %d, want 1 (refused)\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// Hole 1: an index entry for linux/amd64 that only claims (by annotation)
// to be an attestation was neither scanned nor refused, and the index was
// signed; a linux/amd64 client may pull that entry.
func TestImageReleaseScansAnIndexEntryThatOnlyClaimsToBeAnAttestation(t *testing.T) {
	e := newRelEnv(t)
	amd64, _ := v1.ParsePlatform("linux/amd64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: trivytest.AlpineVulnerable("amd64"), Descriptor: v1.Descriptor{
			Platform: amd64, Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}},
		mutate.IndexAddendum{Add: trivytest.Clean("amd64"), Descriptor: v1.Descriptor{Platform: amd64}},
	)
	d := e.reg.PushIndex(t, "multi:1", idx)
	code, stdout, stderr := e.release(t, d.String())
	if code != 1 || !strings.Contains(stdout, "NO-GO") || !strings.Contains(stdout, trivytest.CVECritical) {
		t.Errorf("release exit %d, want 1 with NO-GO naming %s\nstdout: %s\nstderr: %s", code, trivytest.CVECritical, stdout, stderr)
	}
	e.assertNothingWritten(t, "multi", "1")
	e.assertVerifyRefuses(t, d.String())
}

// scanBundle runs image scan --bundle --key in dir (the scan job signs
// what it saw) and returns the envelope's path.
func (e *relEnv) scanBundle(t *testing.T, image string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle.json")
	code, stdout, stderr := e.run(t, nil, scanEnv, "image", "scan", "--bundle", out, "--key", e.scanKeys.Private, image)
	if code > 1 {
		t.Fatalf("scan exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	return out
}

// signFrom signs image from a bundle, trusting the scan job's key.
func (e *relEnv) signFrom(t *testing.T, bundle, image string) (int, string, string) {
	t.Helper()
	return e.run(t, nil, nil, "image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--evidence", bundle, "--evidence-key", e.scanKeys.Public, image)
}

// unsealed is the bundle inside an envelope the test wrote, unverified.
func unsealed(t testing.TB, data []byte) []byte {
	t.Helper()
	var env struct{ Payload string }
	if err := json.Unmarshal(data, &env); err != nil || env.Payload == "" {
		t.Fatalf("not an envelope: %v", err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Predicate json.RawMessage }
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	return st.Predicate
}

// seal signs a (possibly edited) bundle with the scan job's key, about the
// subjects its evidence lists: what a scan job whose key is trusted, but
// which signs whatever it is given, would write.
func (e *relEnv) seal(t testing.TB, plain []byte) string {
	t.Helper()
	if e.sealer == nil {
		s, err := sign.New(context.Background(), sign.Options{Key: sign.KeyOptions{KeyRef: e.scanKeys.Private, PassFunc: e.scanKeys.PassFunc()}})
		if err != nil {
			t.Fatal(err)
		}
		e.sealer = s
	}
	var b struct {
		Evidence struct{ Subjects []checks.Subject }
	}
	if err := json.Unmarshal(plain, &b); err != nil {
		t.Fatal(err)
	}
	env, err := e.sealer.Seal(context.Background(), sign.BundlePredicateType, plain, b.Evidence.Subjects)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sealed.json")
	if err := os.WriteFile(p, env, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// bundleJSON is a bundle decoded for editing as jq would.
type bundleJSON map[string]any

// readBundleJSON reads the bundle inside the envelope at path.
func readBundleJSON(t *testing.T, path string) bundleJSON {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bundleJSON
	if err := json.Unmarshal(unsealed(t, data), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b bundleJSON) bytes(t testing.TB) []byte {
	t.Helper()
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sealed writes the edited bundle signed by the scan job's key.
func (b bundleJSON) sealed(t *testing.T, e *relEnv) string { return e.seal(t, b.bytes(t)) }

func (b bundleJSON) doc() map[string]any { return b["evidence"].(map[string]any) }

func (b bundleJSON) check() map[string]any {
	return b.doc()["checks"].([]any)[0].(map[string]any)
}

// Hole 2: image sign --evidence believed the findings in the file.
func TestImageSignRefusesEvidenceThatDisagreesWithItsReports(t *testing.T) {
	e := newRelEnv(t)
	clean := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	vulnerable := e.reg.Push(t, "api:2", trivytest.AlpineVulnerable("amd64"))
	nogo := e.scanBundle(t, vulnerable.String())
	good := e.scanBundle(t, clean.String())

	// jq 'del(findings) | status = "pass" | verdict = GO'
	b := readBundleJSON(t, nogo)
	b.check()["findings"] = []any{}
	b.check()["status"] = "pass"
	b.doc()["verdict"] = map[string]any{"decision": "GO", "summary": "GO", "deny": []any{}, "warn": []any{}}
	code, stdout, stderr := e.signFrom(t, b.sealed(t, e), vulnerable.String())
	if code != 1 || !strings.Contains(stderr, "disagrees with its own reports") || !strings.Contains(stderr, "findings lack") {
		t.Errorf("sign with findings deleted: exit %d, want 1 naming the findings\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	// sed 's/<clean digest>/<vulnerable digest>/g' over the GO bundle.
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	swapped := e.seal(t, []byte(strings.ReplaceAll(string(unsealed(t, data)), clean.DigestStr(), vulnerable.DigestStr())))
	code, stdout, stderr = e.signFrom(t, swapped, vulnerable.String())
	if code != 1 || !strings.Contains(stderr, "refusing to sign") {
		t.Errorf("sign with a GO bundle whose digest was swapped: exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	e.assertNothingWritten(t, "api", "1", "2")
	e.assertVerifyRefuses(t, vulnerable.String())
}

// Hole 3: a "trivy" whose report names no image made a vulnerable image GO.
// The fake stands in for a scanner the real trivy would never be: it runs
// the real trivy for everything but the scan.
func TestImageReleaseFakeTrivyReportWithoutImageIDIsAnError(t *testing.T) {
	e := newRelEnv(t)
	real := trivytest.Binary(t)
	fake := filepath.Join(t.TempDir(), "trivy")
	script := `#!/bin/sh
if [ "$1" = "image" ]; then
  echo '{"SchemaVersion":2,"Metadata":{"OS":{"Family":"alpine","Name":"3.19.1"}},"Results":[]}'
  exit 0
fi
exec ` + real + ` "$@"
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(e.dir, "readiness.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "readiness.yaml"), []byte(strings.Replace(string(cfg), "trivy: "+real, "trivy: "+fake, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	d := e.reg.Push(t, "api:1", trivytest.AlpineVulnerable("amd64"))
	code, stdout, stderr := e.release(t, d.String())
	if code != 1 || !strings.Contains(stdout, "Metadata.ImageID is empty") {
		t.Errorf("release with a report naming no image: exit %d, want 1 saying ImageID is empty\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	e.assertNothingWritten(t, "api", "1")
	e.assertVerifyRefuses(t, d.String())
}

// A bundle is portable: signed from a copy in another directory, after the
// scan's own report directory is gone; with one report byte changed it is
// refused.
func TestImageSignFromACopiedBundle(t *testing.T) {
	e := newRelEnv(t)
	clean := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	bundle := e.scanBundle(t, clean.String())
	b := readBundleJSON(t, bundle)
	for _, s := range b.check()["facts"].(map[string]any)["scans"].([]any) {
		if err := os.Remove(s.(map[string]any)["report_path"].(string)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(t.TempDir(), "carried", "bundle.json")
	if err := os.MkdirAll(filepath.Dir(elsewhere), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(elsewhere, data, 0o644); err != nil {
		t.Fatal(err)
	}

	// One byte of the report changed (the bytes are base64 in the file).
	rep := b["reports"].([]any)[0].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(rep["data"].(string))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(raw), "ImageID")
	raw[i] = 'i'
	rep["data"] = base64.StdEncoding.EncodeToString(raw)
	code, stdout, stderr := e.signFrom(t, b.sealed(t, e), clean.String())
	if code != 1 || !strings.Contains(stderr, "was altered") {
		t.Errorf("sign with one report byte changed: exit %d, want 1 saying it was altered\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	e.assertNothingWritten(t, "api", "1")

	code, stdout, stderr = e.signFrom(t, elsewhere, clean.String())
	if code != 0 {
		t.Fatalf("sign from the carried bundle: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, stdout, _ := e.verify(t, nil, clean.String(), "--require-vuln-attestation"); code != 0 {
		t.Errorf("verify after signing from the carried bundle: exit %d\n%s", code, stdout)
	}
}

// image verify loads the key before it asks the registry: a bad key with a
// bad reference is a usage error (exit 2), and a directory is not called a
// signing key.
func TestImageVerifyLoadsTheKeyFirst(t *testing.T) {
	reg := signtest.StartRegistry(t)
	streamsDir := t.TempDir()
	e := &relEnv{reg: reg, dir: streamsDir}
	code, _, stderr := e.run(t, nil, nil, "image", "verify", "--key", filepath.Join(streamsDir, "missing.pub"), "--insecure-ignore-tlog", reg.Host+"/nothing:here")
	if code != 2 || !strings.Contains(stderr, "public key") {
		t.Errorf("bad key + missing image: exit %d, want 2 naming the public key\nstderr: %s", code, stderr)
	}
	code, _, stderr = e.run(t, nil, nil, "image", "verify", "--key", streamsDir, "--insecure-ignore-tlog", reg.Host+"/nothing:here")
	if code != 2 || strings.Contains(stderr, "signing key") || !strings.Contains(stderr, "is a directory") {
		t.Errorf("--key DIR: exit %d, want 2 saying it is a directory and not calling it a signing key\nstderr: %s", code, stderr)
	}
}
