package cli_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// forgeClean is the careful forger of issue 23 section 3: the vulnerable
// image's genuine bundle with its report's vulnerabilities dropped, the
// package list, ImageID and RepoDigests kept, and every hash, count,
// finding and verdict made consistent. Only a signature tells it apart.
func forgeClean(t *testing.T, b bundleJSON) []byte {
	t.Helper()
	rep := b["reports"].([]any)[0].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(rep["data"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var report map[string]any
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatal(err)
	}
	for _, r := range report["Results"].([]any) {
		delete(r.(map[string]any), "Vulnerabilities")
	}
	forged, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	sum := evidence.SHA256(forged)
	rep["sha256"], rep["data"] = sum, base64.StdEncoding.EncodeToString(forged)
	check := b.check()
	facts := check["facts"].(map[string]any)
	zero := map[string]any{"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0}
	for _, s := range facts["scans"].([]any) {
		s.(map[string]any)["report_sha256"] = sum
		s.(map[string]any)["counts"] = zero
	}
	facts["counts"] = zero
	check["findings"], check["status"] = []any{}, "pass"
	b.doc()["verdict"] = map[string]any{"decision": "GO", "summary": "GO", "deny": []any{}, "warn": []any{}}
	return b.bytes(t)
}

func sealWith(t *testing.T, keys signtest.Keys, plain []byte) string {
	t.Helper()
	s, err := sign.New(context.Background(), sign.Options{Key: sign.KeyOptions{KeyRef: keys.Private, PassFunc: keys.PassFunc()}})
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Evidence struct{ Subjects []checks.Subject }
	}
	if err := json.Unmarshal(plain, &b); err != nil {
		t.Fatal(err)
	}
	env, err := s.Seal(context.Background(), sign.BundlePredicateType, plain, b.Evidence.Subjects)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sealed-by-another.json")
	if err := os.WriteFile(p, env, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "evidence.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue 23 section 3: the signer believes a bundle only when the scanner's
// key signed it, and reads nothing in it before that.
func TestImageSignNeedsABundleSignedByTheScanner(t *testing.T) {
	e := newRelEnv(t)
	vulnerable := e.reg.Push(t, "api:1", trivytest.AlpineVulnerable("amd64"))
	clean := e.reg.Push(t, "api:2", trivytest.Clean("amd64"))
	nogo := e.scanBundle(t, vulnerable.String())
	good := e.scanBundle(t, clean.String())
	attacker := signtest.KeyPair(t, "attacker password")
	goodEnvelope, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	// The envelope with its payload swapped for the forged bundle's
	// statement, signature kept.
	var env map[string]any
	if err := json.Unmarshal(goodEnvelope, &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(payload), clean.DigestStr(), vulnerable.DigestStr())))
	swappedPayload, _ := json.Marshal(env)

	tests := []struct {
		name, bundle, image string
		want                string
	}{
		{"an unsigned bundle", writeFile(t, unsealed(t, goodEnvelope)), clean.String(), "is not signed (not a DSSE envelope)"},
		{"a genuine bundle signed by another key", sealWith(t, attacker, unsealed(t, goodEnvelope)), clean.String(), "signature does not verify with " + e.scanKeys.Public},
		{"vulnerabilities dropped, hashes consistent, signed by an untrusted key", sealWith(t, attacker, forgeClean(t, readBundleJSON(t, nogo))), vulnerable.String(), "signature does not verify"},
		{"vulnerabilities dropped, hashes consistent, unsigned", writeFile(t, forgeClean(t, readBundleJSON(t, nogo))), vulnerable.String(), "is not signed"},
		{"the signed payload edited", writeFile(t, swappedPayload), vulnerable.String(), "signature does not verify"},
		{"a signed document, not a bundle", writeFile(t, mustSealDocument(t, e)), clean.String(), "not a " + sign.BundlePredicateType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.signFrom(t, tc.bundle, tc.image)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("sign: exit %d, want 1 saying %q\nstdout: %s\nstderr: %s", code, tc.want, stdout, stderr)
			}
			// Refused before the registry was asked for anything: no
			// resolve, no signature.
			if strings.Contains(stdout, "released") {
				t.Errorf("stdout says released:\n%s", stdout)
			}
		})
	}
	e.assertNothingWritten(t, "api", "1", "2")

	// Issue 22: the evidence is checked before any network call. With
	// the registry unreachable (a port nothing listens on) an unsigned
	// bundle is still refused for what it is, not for the network.
	unreachable := "127.0.0.1:1/api@" + clean.DigestStr()
	code, stdout, stderr := e.signFrom(t, writeFile(t, unsealed(t, goodEnvelope)), unreachable)
	if code != 1 || !strings.Contains(stderr, "is not signed") || strings.Contains(stderr, "connection refused") {
		t.Errorf("sign an unreachable image from an unsigned bundle: exit %d, want 1 refusing the bundle before any network call\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	// The genuine one is signed, and the attestation names who scanned.
	code, stdout, stderr = e.signFrom(t, good, clean.String())
	if code != 0 {
		t.Fatalf("sign from the scanner's bundle: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var ev *signtest.Statement
	for _, st := range e.reg.Statements(t, "api", clean.DigestStr()) {
		if st.PredicateType == sign.EvidencePredicateType {
			ev = &st
		}
	}
	if ev == nil {
		t.Fatal("no evidence attestation")
	}
	p, _, err := sign.DecodeEvidencePredicate(ev.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := sign.KeyFingerprint(context.Background(), e.scanKeys.Public)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scanner == nil || p.Scanner.Fingerprint != fp || p.Signer.Fingerprint == fp {
		t.Errorf("evidence attestation scanner %+v, signer %+v; want the scan key %s as scanner", p.Scanner, p.Signer, fp)
	}
	code, stdout, _ = e.verify(t, nil, clean.String())
	if code != 0 || !strings.Contains(stdout, "scanned by key "+fp) {
		t.Errorf("verify: exit %d, want 0 naming the scanner %s\n%s", code, fp, stdout)
	}
}

// mustSealDocument signs something other than a bundle with the scan key.
func mustSealDocument(t *testing.T, e *relEnv) []byte {
	t.Helper()
	e.seal(t, []byte(`{"evidence":{"subjects":[]}}`)) // loads e.sealer
	env, err := e.sealer.Seal(context.Background(), sign.DocumentPredicateType, []byte(`{"schema":"x"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
