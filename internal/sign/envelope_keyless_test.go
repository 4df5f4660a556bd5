package sign_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/sigstoretest"
)

// Keyless evidence (issue 23 section 3): the scan job signs its bundle with
// an ephemeral key that the real Fulcio (on loopback) certified, and the
// signer believes it only for the trusted identity, issuer and CA.

const keylessBody = `{"schema":"readiness.dev/evidence-bundle/v1","evidence":{"subjects":[]},"reports":[]}`

var keylessSubject = []checks.Subject{{Name: "r/a", Digest: "sha256:" + strings.Repeat("ab", 32)}}

func sealKeyless(t *testing.T, s *sign.Signer) []byte {
	t.Helper()
	out, err := s.Seal(context.Background(), sign.BundlePredicateType, []byte(keylessBody), keylessSubject)
	if err != nil {
		t.Fatalf("seal keylessly: %v", err)
	}
	return out
}

// editBundle decodes a Sigstore bundle, lets edit change it, re-encodes it.
func editBundle(t *testing.T, data []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenKeylessEvidence(t *testing.T) {
	sg := sigstoretest.Start(t)
	other := sigstoretest.Start(t) // another CA, CT log and OIDC issuer
	sealed := sealKeyless(t, keylessSigner(t, sg, sg.Token(t, nil), sg.TrustedRoot))
	// Another genuine certificate for the same identity, of another key.
	second := sealKeyless(t, keylessSigner(t, sg, sg.Token(t, nil), sg.TrustedRoot))
	fromOtherCA := sealKeyless(t, keylessSigner(t, other, other.Token(t, nil), other.TrustedRoot))
	keys := signtest.KeyPair(t, "pw")
	keySigner, err := sign.New(context.Background(), sign.Options{Key: sign.KeyOptions{KeyRef: keys.Private, PassFunc: keys.PassFunc()}})
	if err != nil {
		t.Fatal(err)
	}
	keySealed, err := keySigner.Seal(context.Background(), sign.BundlePredicateType, []byte(keylessBody), keylessSubject)
	if err != nil {
		t.Fatal(err)
	}

	certOf := func(data []byte) any {
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return m["verificationMaterial"].(map[string]any)["certificate"]
	}
	editedPayload := editBundle(t, sealed, func(m map[string]any) {
		env := m["dsseEnvelope"].(map[string]any)
		p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(p), "abab", "cdcd")))
	})
	otherCert := editBundle(t, sealed, func(m map[string]any) {
		m["verificationMaterial"].(map[string]any)["certificate"] = certOf(second)
	})
	noCert := editBundle(t, sealed, func(m map[string]any) {
		m["verificationMaterial"] = map[string]any{"publicKey": map[string]any{"hint": "x"}}
	})
	twoSigs := editBundle(t, sealed, func(m map[string]any) {
		env := m["dsseEnvelope"].(map[string]any)
		sigs := env["signatures"].([]any)
		env["signatures"] = append(sigs, sigs[0])
	})

	trust := func(identity, regexp, issuer, root string) *sign.EvidenceTrust {
		return &sign.EvidenceTrust{CertIdentity: identity, CertIdentityRegexp: regexp, CertOIDCIssuer: issuer, TrustedRoot: root}
	}
	for _, tc := range []struct {
		name  string
		trust *sign.EvidenceTrust
		data  []byte
		want  string // "" accepts
	}{
		{"the scanner's identity and issuer", trust(jane, "", sg.Issuer, sg.TrustedRoot), sealed, ""},
		{"a regexp that matches", trust("", `^jane\.doe@example\.com$`, sg.Issuer, sg.TrustedRoot), sealed, ""},
		{"another identity", trust("mallory@example.com", "", sg.Issuer, sg.TrustedRoot), sealed, "does not verify for mallory@example.com"},
		{"another issuer", trust(jane, "", other.Issuer, sg.TrustedRoot), sealed, "expected issuer value"},
		{"a regexp that does not match", trust("", `^mallory@`, sg.Issuer, sg.TrustedRoot), sealed, "does not verify for matching ^mallory@"},
		{"another CA's trust root", trust(jane, "", sg.Issuer, other.TrustedRoot), sealed, "leaf certificate verification failed"},
		{"a bundle from another CA", trust(jane, "", sg.Issuer, sg.TrustedRoot), fromOtherCA, "leaf certificate verification failed"},
		{"an unsigned bundle", trust(jane, "", sg.Issuer, sg.TrustedRoot), []byte(keylessBody), "not signed"},
		{"an edited payload", trust(jane, "", sg.Issuer, sg.TrustedRoot), editedPayload, "failed to verify signature"},
		{"a certificate of another key", trust(jane, "", sg.Issuer, sg.TrustedRoot), otherCert, "failed to verify signature"},
		{"no certificate", trust(jane, "", sg.Issuer, sg.TrustedRoot), noCert, "no Fulcio certificate"},
		{"two signatures", trust(jane, "", sg.Issuer, sg.TrustedRoot), twoSigs, "2 signatures"},
		{"a key-signed envelope", trust(jane, "", sg.Issuer, sg.TrustedRoot), keySealed, "signed with a key, not keylessly"},
		{"a keyless bundle, trusting a key", &sign.EvidenceTrust{Key: keys.Public}, sealed, "signed keylessly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opened, err := tc.trust.Open(context.Background(), tc.data, sign.BundlePredicateType)
			if tc.want != "" {
				t.Logf("refused: %v", err)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Open: %v, want a refusal saying %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			id := opened.SignedBy
			if id.Mode != sign.ModeKeyless || id.CertificateIdentity != jane || id.CertificateIssuer != sg.Issuer || !strings.HasPrefix(id.Fingerprint, "sha256:") {
				t.Errorf("signed by %+v, want keyless %s issued by %s", id, jane, sg.Issuer)
			}
			if string(opened.Body) != keylessBody || len(opened.Subjects) != 1 || opened.Subjects[0] != keylessSubject[0] {
				t.Errorf("opened %s about %v", opened.Body, opened.Subjects)
			}
			if len(opened.Notes) != 1 || !strings.Contains(opened.Notes[0], "not proven") {
				t.Errorf("notes %q, want the missing transparency log said", opened.Notes)
			}
		})
	}
}

func TestEvidenceTrustLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trust sign.EvidenceTrust
		want  string
	}{
		{"nothing", sign.EvidenceTrust{}, "no scanner key or keyless identity"},
		{"key and identity", sign.EvidenceTrust{Key: "k.pub", CertIdentity: jane, CertOIDCIssuer: "https://i"}, "not both"},
		{"identity without issuer", sign.EvidenceTrust{CertIdentity: jane}, "OIDC issuer"},
		{"issuer without identity", sign.EvidenceTrust{CertOIDCIssuer: "https://i"}, "certificate identity"},
		{"identity and regexp", sign.EvidenceTrust{CertIdentity: jane, CertIdentityRegexp: "x", CertOIDCIssuer: "https://i"}, "not both"},
		{"a regexp that does not compile", sign.EvidenceTrust{CertIdentityRegexp: "(", CertOIDCIssuer: "https://i", TrustedRoot: "/nonexistent.json"}, "certificate identity"},
		{"a missing trust root", sign.EvidenceTrust{CertIdentity: jane, CertOIDCIssuer: "https://i", TrustedRoot: "/nonexistent.json"}, "trusted root /nonexistent.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.trust.Load(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSealKeylessNeedsTlogOff(t *testing.T) {
	sg := sigstoretest.Start(t)
	s, err := sign.New(context.Background(), sign.Options{
		Key:        sign.KeyOptions{Keyless: sign.KeylessOptions{FulcioURL: sg.FulcioURL, IDToken: sg.Token(t, nil), OIDCIssuer: sg.Issuer}},
		Registry:   sign.RegistryOptions{Retry: fast},
		TlogUpload: true, TrustedRoot: sg.TrustedRoot,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seal(context.Background(), sign.BundlePredicateType, []byte(keylessBody), keylessSubject); err == nil || !strings.Contains(err.Error(), "--tlog-upload=false") {
		t.Errorf("Seal with the transparency log on: %v, want a refusal naming --tlog-upload=false", err)
	}
}

// FuzzOpenKeylessEvidence: a keyless bundle comes from another machine.
// Whatever it holds, Open must not panic, and what it accepts for the
// trusted identity is exactly what the certified key signed.
func FuzzOpenKeylessEvidence(f *testing.F) {
	sg := sigstoretest.Start(f)
	s, err := sign.New(context.Background(), sign.Options{
		Key:         sign.KeyOptions{Keyless: sign.KeylessOptions{FulcioURL: sg.FulcioURL, IDToken: sg.Token(f, nil), OIDCIssuer: sg.Issuer}},
		Registry:    sign.RegistryOptions{Retry: fast},
		TrustedRoot: sg.TrustedRoot,
	})
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := s.Seal(context.Background(), sign.BundlePredicateType, []byte(keylessBody), keylessSubject)
	if err != nil {
		f.Fatal(err)
	}
	trust := &sign.EvidenceTrust{CertIdentity: jane, CertOIDCIssuer: sg.Issuer, TrustedRoot: sg.TrustedRoot}
	if err := trust.Load(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte(strings.Replace(string(sealed), "v0.3", "v0.1", 1)))
	f.Add([]byte(strings.Replace(string(sealed), `"certificate"`, `"x509CertificateChain"`, 1)))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(keylessBody))
	f.Fuzz(func(t *testing.T, data []byte) {
		opened, err := trust.Open(context.Background(), data, sign.BundlePredicateType)
		if err != nil {
			return
		}
		var got, want any
		if json.Unmarshal(opened.Body, &got) != nil {
			t.Fatalf("accepted a body that is not JSON: %q", opened.Body)
		}
		_ = json.Unmarshal([]byte(keylessBody), &want)
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) || opened.SignedBy.CertificateIdentity != jane {
			t.Fatalf("accepted a body the certified key never signed, or for another identity: %s by %+v", opened.Body, opened.SignedBy)
		}
	})
}
