package sign_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/sigstoretest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// Keyless signing end to end, offline: the real Fulcio server code with an
// ephemeral CA, an OIDC issuer (mockoidc) and a CT log stand-in on
// loopback (internal/testutil/sigstoretest), the in-process registry, and
// the transparency log off.

const jane = "jane.doe@example.com"

func keylessSigner(t *testing.T, sg *sigstoretest.Sigstore, token, trustedRoot string) *sign.Signer {
	t.Helper()
	s, err := sign.New(context.Background(), sign.Options{
		Key: sign.KeyOptions{Keyless: sign.KeylessOptions{
			FulcioURL: sg.FulcioURL, IDToken: token, OIDCIssuer: sg.Issuer,
		}},
		Registry:    sign.RegistryOptions{Retry: fast},
		TrustedRoot: trustedRoot,
	})
	if err != nil {
		t.Fatalf("prepare keyless signer: %v", err)
	}
	return s
}

func keylessVerifyOpts(sg *sigstoretest.Sigstore) sign.VerifyOptions {
	return sign.VerifyOptions{
		CertIdentity: jane, CertOIDCIssuer: sg.Issuer, TrustedRoot: sg.TrustedRoot,
		IgnoreTlog: true, RequireVuln: true, Now: clock, Registry: sign.RegistryOptions{Retry: fast},
	}
}

func TestKeylessReleaseSignsAttestsAndVerifiesOffline_CannedVerdict(t *testing.T) {
	sg := sigstoretest.Start(t)
	reg := signtest.StartRegistry(t)
	d := reg.Push(t, "app:1", trivytest.Clean("amd64"))
	rel := &sign.Release{Signer: keylessSigner(t, sg, sg.Token(t, nil), sg.TrustedRoot), Gates: cannedGates(t, evidence.GO, now), Now: clock}

	res, err := rel.Run(context.Background(), reg.Host+"/app:1")
	if err != nil {
		t.Fatalf("keyless release: %v", err)
	}
	if res.Signer.Mode != sign.ModeKeyless || res.Signer.CertificateIdentity != jane || res.Signer.CertificateIssuer != sg.Issuer {
		t.Errorf("signer = %+v, want keyless %s issued by %s", res.Signer, jane, sg.Issuer)
	}
	if !res.Signature.Written || res.Signature.RekorLogIndex != nil || !res.Verification.OK() {
		t.Errorf("signature %+v, verification %+v", res.Signature, res.Verification)
	}
	tg := resolve(t, d.String())
	v, err := sign.Verify(context.Background(), tg, keylessVerifyOpts(sg))
	if err != nil || !v.OK() {
		t.Fatalf("verify: %v %+v", err, v)
	}
	if v.Evidence.Signer.CertificateIdentity != jane || v.Evidence.Signer.Fingerprint != res.Signer.Fingerprint {
		t.Errorf("evidence signer = %+v, want %+v", v.Evidence.Signer, res.Signer)
	}

	// Released again with a new token: a new ephemeral key and
	// certificate, but the same identity's signature is reused.
	rel.Signer = keylessSigner(t, sg, sg.Token(t, nil), sg.TrustedRoot)
	res, err = rel.Run(context.Background(), reg.Host+"/app:1")
	if err != nil || !res.Signature.Existing || res.Signature.Written {
		t.Errorf("second release: %v, signature %+v (want the existing one reused)", err, res.Signature)
	}

	other := sigstoretest.Start(t) // another Fulcio: another CA, CT log and issuer
	for _, tc := range []struct {
		name string
		edit func(*sign.VerifyOptions)
		want string
	}{
		{"another identity", func(o *sign.VerifyOptions) { o.CertIdentity = "mallory@example.com" }, "none of the expected identities matched"},
		{"another issuer", func(o *sign.VerifyOptions) { o.CertOIDCIssuer = other.Issuer }, "none of the expected identities matched"},
		{"identity regexp that does not match", func(o *sign.VerifyOptions) { o.CertIdentity, o.CertIdentityRegexp = "", `^mallory@` }, "none of the expected identities matched"},
		{"trust only another CA", func(o *sign.VerifyOptions) { o.TrustedRoot = other.TrustedRoot }, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := keylessVerifyOpts(sg)
			tc.edit(&o)
			v, err := sign.Verify(context.Background(), tg, o)
			if err != nil {
				t.Fatalf("verify error (want a refusal, not an error): %v", err)
			}
			if v.OK() || v.Signatures != 0 || v.Evidence != nil {
				t.Fatalf("verified anyway: %+v", v)
			}
			t.Logf("refused: %s", strings.Join(v.Failures, "; "))
			if got := strings.Join(v.Failures, "; "); !strings.Contains(got, tc.want) {
				t.Errorf("failures %q do not mention %q", got, tc.want)
			}
		})
	}
}

func TestKeylessSigningRefused_CannedVerdict(t *testing.T) {
	sg := sigstoretest.Start(t)
	other := sigstoretest.Start(t)
	reg := signtest.StartRegistry(t)
	d := reg.Push(t, "app:1", trivytest.Clean("amd64"))
	unverified := sigstoretest.Jane()
	unverified.EmailVerified = false

	for _, tc := range []struct {
		name        string
		fulcio      *sigstoretest.Sigstore
		token       string
		trustedRoot string
		// fulcioSays is Fulcio's logged reason for refusing, if it did.
		want, fulcioSays string
	}{
		{"expired token", sg, sg.ExpiredToken(t, nil), sg.TrustedRoot, "400 Bad Request", "token is expired"},
		{"token from an issuer Fulcio does not trust", sg, other.Token(t, nil), sg.TrustedRoot, "400 Bad Request", "failed to match issuer URL " + other.Issuer},
		{"token forged with a key the issuer never published", sg, sg.ForgedToken(t, nil), sg.TrustedRoot, "400 Bad Request", "failed to verify signature"},
		{"token for an unverified email", sg, sg.Token(t, unverified), sg.TrustedRoot, "not verified by identity provider", ""},
		// Fulcio of another CA and CT log: its certificate's SCT is not
		// from a log the trust root names, so nothing is signed.
		{"certificate from a CA outside the trust root", other, other.Token(t, nil), sg.TrustedRoot, "verifying SCT", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := &sign.Release{Signer: keylessSigner(t, tc.fulcio, tc.token, tc.trustedRoot), Gates: cannedGates(t, evidence.GO, now), Now: clock}
			logBefore := tc.fulcio.FulcioLog()
			res, err := rel.Run(context.Background(), reg.Host+"/app:1")
			if err == nil {
				t.Fatalf("released: %+v", res)
			}
			var inc *sign.IncompleteError
			if errors.As(err, &inc) || !strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want a refusal before any write mentioning %q", err, tc.want)
			}
			if log := strings.TrimPrefix(tc.fulcio.FulcioLog(), logBefore); !strings.Contains(log, tc.fulcioSays) {
				t.Errorf("fulcio logged %q, want %q", log, tc.fulcioSays)
			}
			if res.Signer.CertificateIdentity != "" {
				t.Errorf("signer certified as %+v", res.Signer)
			}
			if got := signtest.CosignTags(reg.Tags(t, "app"), d.DigestStr()); len(got) != 0 {
				t.Errorf("cosign tags written: %v", got)
			}
		})
	}
}

// An attacker who can get a certificate for their own identity signs a GO
// evidence attestation that names another signer. A verifier matching
// several identities (a regexp) accepts the certificate, but not the
// mismatch between it and what the evidence records.
func TestKeylessEvidenceNamingAnotherSignerIsRefused(t *testing.T) {
	sg := sigstoretest.Start(t)
	reg := signtest.StartRegistry(t)
	reg.Push(t, "app:1", trivytest.Clean("amd64"))
	mallory := sigstoretest.Jane()
	mallory.Subject, mallory.Email = "666", "mallory@example.com"
	s := keylessSigner(t, sg, sg.Token(t, mallory), sg.TrustedRoot)
	ctx := context.Background()
	tg := resolve(t, reg.Host+"/app:1")
	if _, err := s.Sign(ctx, tg); err != nil {
		t.Fatal(err)
	}
	forged := s.Identity()
	if forged.CertificateIdentity != "mallory@example.com" {
		t.Fatalf("mallory's certificate is for %q", forged.CertificateIdentity)
	}
	forged.CertificateIdentity = jane
	doc := cannedBundle(t, tg.Repository, evidence.GO, now, scanned{digest: tg.Digest, imageID: tg.ImageID}).Doc
	p, err := sign.NewEvidencePredicate(doc, tg, forged)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attest(ctx, tg, []sign.Statement{{PredicateType: sign.EvidencePredicateType, Predicate: p}}); err != nil {
		t.Fatal(err)
	}

	o := keylessVerifyOpts(sg)
	o.RequireVuln = false
	o.CertIdentity, o.CertIdentityRegexp = "", `@example\.com$`
	v, err := sign.Verify(ctx, tg, o)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() || !strings.Contains(strings.Join(v.Failures, "; "), "evidence names signer "+jane) {
		t.Errorf("verified %+v; want the signer mismatch refused", v)
	}
	// Asked for jane exactly, nothing of mallory's verifies at all.
	o.CertIdentity, o.CertIdentityRegexp = jane, ""
	if v, err := sign.Verify(ctx, tg, o); err != nil || v.OK() || v.Signatures != 0 {
		t.Errorf("verify as jane: %v %+v", err, v)
	}
}

func TestKeylessTrustedRootUnusable(t *testing.T) {
	sg := sigstoretest.Start(t)
	for _, path := range []string{"/nonexistent/trusted_root.json", sg.CAPEMFile(t)} {
		_, err := sign.New(context.Background(), sign.Options{
			Key:         sign.KeyOptions{Keyless: sign.KeylessOptions{FulcioURL: sg.FulcioURL, IDToken: "x"}},
			TrustedRoot: path,
		})
		var te *sign.TrustRootError
		if !errors.As(err, &te) {
			t.Errorf("trusted root %s: error %v, want a *TrustRootError", path, err)
		}
	}
}
