package cli_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/sigstoretest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// Issue 23 section 3, keyless: the scan job signs its bundle with an
// ephemeral key the real Fulcio (on loopback) certified, and image sign
// believes it only for the scanner identity, issuer and CA it trusts.

// scanBundleKeyless scans image and writes a keyless-signed bundle.
func (e *relEnv) scanBundleKeyless(t *testing.T, sg *sigstoretest.Sigstore, image string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle.sigstore.json")
	code, stdout, stderr := e.run(t, nil, nil, "image", "scan", "--bundle", out, "--keyless",
		"--identity-token", sigstoretest.TokenFile(t, sg.Token(t, nil)), "--fulcio-url", sg.FulcioURL, "--oidc-issuer", sg.Issuer,
		"--trusted-root", sg.TrustedRoot, "--tlog-upload=false", image)
	if code > 1 {
		t.Fatalf("keyless scan exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	return out
}

// signFromKeyless signs image from bundle, trusting a keyless scanner.
func (e *relEnv) signFromKeyless(t *testing.T, bundle, image string, trust ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"image", "sign", "--key", e.keys.Private, "--tlog-upload=false", "--evidence", bundle}, trust...)
	return e.run(t, nil, nil, append(args, image)...)
}

// editSigstoreBundle decodes a bundle file, lets edit change it, and
// writes the result to a new file.
func editSigstoreBundle(t *testing.T, path string, edit func(m map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, out)
}

func sigstoreEnvelope(m map[string]any) map[string]any { return m["dsseEnvelope"].(map[string]any) }

func TestImageSignKeylessEvidence(t *testing.T) {
	e := newRelEnv(t)
	sg := sigstoretest.Start(t)
	other := sigstoretest.Start(t) // another CA, CT log and OIDC issuer
	vulnerable := e.reg.Push(t, "api:1", trivytest.AlpineVulnerable("amd64"))
	clean := e.reg.Push(t, "api:2", trivytest.Clean("amd64"))
	good := e.scanBundleKeyless(t, sg, clean.String())
	nogo := e.scanBundleKeyless(t, sg, vulnerable.String())

	identity := func(id, issuer, root string) []string {
		return []string{"--evidence-certificate-identity", id, "--evidence-certificate-oidc-issuer", issuer, "--trusted-root", root}
	}
	trusted := identity(keylessIdentity, sg.Issuer, sg.TrustedRoot)

	var goodJSON map[string]any
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &goodJSON); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(sigstoreEnvelope(goodJSON)["payload"].(string))
	var st struct{ Predicate json.RawMessage }
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	unsigned := writeFile(t, st.Predicate)
	// The clean image's signed statement made about the vulnerable digest,
	// the signature kept.
	retargeted := editSigstoreBundle(t, good, func(m map[string]any) {
		env := sigstoreEnvelope(m)
		env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(payload), clean.DigestStr(), vulnerable.DigestStr())))
	})
	// The clean bundle with the certificate of the vulnerable scan's key:
	// a genuine certificate for the same identity, of another key.
	var nogoJSON map[string]any
	raw, _ = os.ReadFile(nogo)
	_ = json.Unmarshal(raw, &nogoJSON)
	otherKeysCert := editSigstoreBundle(t, good, func(m map[string]any) {
		m["verificationMaterial"] = nogoJSON["verificationMaterial"]
	})

	for _, tc := range []struct {
		name, bundle, image string
		trust               []string
		code                int
		want                string
	}{
		{"another identity", good, clean.String(), identity("mallory@example.com", sg.Issuer, sg.TrustedRoot), 1, `expected SAN value "mallory@example.com"`},
		{"another issuer", good, clean.String(), identity(keylessIdentity, other.Issuer, sg.TrustedRoot), 1, "expected issuer value"},
		{"a regexp that does not match", good, clean.String(), []string{"--evidence-certificate-identity-regexp", "^mallory@", "--evidence-certificate-oidc-issuer", sg.Issuer, "--trusted-root", sg.TrustedRoot}, 1, "expected SAN value to match regex"},
		{"another CA's trust root", good, clean.String(), identity(keylessIdentity, sg.Issuer, other.TrustedRoot), 1, "leaf certificate verification failed"},
		{"an unsigned bundle", unsigned, clean.String(), trusted, 1, "is not signed"},
		{"the signed payload edited", retargeted, vulnerable.String(), trusted, 1, "failed to verify signature"},
		{"the certificate of another key", otherKeysCert, clean.String(), trusted, 1, "failed to verify signature"},
		{"trusting a key instead", good, clean.String(), []string{"--evidence-key", e.scanKeys.Public}, 1, "signed keylessly"},
		{"a trust root that is not one", good, clean.String(), identity(keylessIdentity, sg.Issuer, sg.CAPEMFile(t)), 2, "trusted root"},
		{"a NO-GO scan, genuinely signed", nogo, vulnerable.String(), trusted, 1, "nothing was signed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.signFromKeyless(t, tc.bundle, tc.image, tc.trust...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("sign: exit %d, want %d saying %q\nstdout: %s\nstderr: %s", code, tc.code, tc.want, stdout, stderr)
			}
			if strings.Contains(stdout, "released") {
				t.Errorf("stdout says released:\n%s", stdout)
			}
		})
	}
	e.assertNothingWritten(t, "api", "1", "2")

	code, stdout, stderr := e.signFromKeyless(t, good, clean.String(), trusted...)
	if code != 0 {
		t.Fatalf("sign from the keyless scanner's bundle: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "when it was signed is not proven") {
		t.Errorf("stderr does not say the signing time is unproven offline:\n%s", stderr)
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
	if s := p.Scanner; s == nil || s.Mode != sign.ModeKeyless || s.CertificateIdentity != keylessIdentity || s.CertificateIssuer != sg.Issuer {
		t.Errorf("evidence attestation scanner %+v, want keyless %s issued by %s", p.Scanner, keylessIdentity, sg.Issuer)
	}
	code, stdout, _ = e.verify(t, nil, clean.String())
	if want := "scanned by " + keylessIdentity + " (issuer " + sg.Issuer + ") (the signed bundle's certificate)"; code != 0 || !strings.Contains(stdout, want) {
		t.Errorf("verify: exit %d, want 0 saying %q\n%s", code, want, stdout)
	}
}
