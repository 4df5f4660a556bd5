package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/providers"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	// Ambient OIDC credentials for keyless signing: GitHub Actions first,
	// then Buildkite, SIGSTORE_ID_TOKEN, files, Google, SPIFFE.
	_ "github.com/sigstore/cosign/v2/pkg/providers/all"
)

// Signing modes.
const (
	ModeKey     = "key"
	ModeKeyless = "keyless"
)

// KeyOptions choose how to sign.
type KeyOptions struct {
	// KeyRef names the private key as cosign understands it: a file
	// (cosign.key), env://VAR, an https:// URL, and in the readiness-kms
	// build also k8s://namespace/secret, gitlab://project or a KMS URI
	// (awskms://, gcpkms://, azurekms://, hashivault://). Empty selects
	// keyless signing.
	KeyRef string
	// PassFunc supplies the key's password (COSIGN_PASSWORD or a prompt).
	// It is called once, while loading; the password is never stored.
	PassFunc cosign.PassFunc
	// Keyless configures Fulcio when KeyRef is empty.
	Keyless KeylessOptions
}

// KeylessOptions configure keyless signing: an ephemeral key certified by
// Fulcio for the identity in an OIDC token, every signature logged in Rekor.
type KeylessOptions struct {
	FulcioURL string
	// IDToken is an OIDC token, or a path to a file holding one. Empty
	// means an ambient provider (GitHub Actions with `id-token: write`,
	// SIGSTORE_ID_TOKEN, …). Interactive browser flows are never started.
	IDToken      string
	OIDCIssuer   string
	OIDCClientID string
	// OIDCProvider forces one ambient provider (github-actions, …).
	OIDCProvider string
}

// Identity says who signed: the key's fingerprint, and for keyless
// signing the certificate's subject and OIDC issuer.
type Identity struct {
	Mode string `json:"mode"`
	// KeyRef names the key: a URI as given (env://NAME, a KMS URI), a
	// file by its base name (cosign.key). It never holds key material.
	KeyRef string `json:"key_ref,omitempty"`
	// Fingerprint is "sha256:" and the hex SHA-256 of the public key's DER
	// (SubjectPublicKeyInfo) encoding.
	Fingerprint string `json:"fingerprint"`
	Algorithm   string `json:"algorithm,omitempty"`
	// CertificateIdentity and CertificateIssuer are set for keyless
	// signatures: the certificate's SAN (an email or a workflow URI) and
	// the OIDC issuer that vouched for it.
	CertificateIdentity string `json:"certificate_identity,omitempty"`
	CertificateIssuer   string `json:"certificate_issuer,omitempty"`
}

// String renders the identity for a person.
func (id Identity) String() string {
	if id.Mode == ModeKeyless {
		if id.CertificateIdentity == "" {
			return "keyless (not yet certified)"
		}
		return fmt.Sprintf("%s (issuer %s)", id.CertificateIdentity, id.CertificateIssuer)
	}
	return fmt.Sprintf("key %s (%s)", id.Fingerprint, id.KeyRef)
}

// KeyError is a key that cannot be used: unreadable, malformed, or the
// password is wrong. Nothing was judged or written; a usage error.
type KeyError struct {
	Ref string
	Err error
	// Public says the key is a public key to verify with, not a signing
	// key.
	Public bool
}

func (e *KeyError) Error() string {
	what := "signing key"
	if e.Public {
		what = "public key"
	}
	if e.Ref == "" {
		return what + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s %s: %v", what, e.Ref, e.Err)
}
func (e *KeyError) Unwrap() error { return e.Err }

// keyMaterial is the loaded signer: the key, and for keyless signing the
// Fulcio certificate once obtained.
type keyMaterial struct {
	sv       signature.SignerVerifier
	cert     []byte // PEM leaf, keyless only
	chain    []byte // PEM chain, keyless only
	identity Identity
	keyless  *KeylessOptions
	// trusted is a private Sigstore's trust root (Options.TrustedRoot);
	// nil means the public one.
	trusted root.TrustedMaterial
}

// loadKey loads the key, or for keyless signing creates the ephemeral key
// and checks that an OIDC token can be had, so that a bad key or password
// fails before any gate runs.
func loadKey(ctx context.Context, ko KeyOptions) (*keyMaterial, error) {
	if ko.KeyRef == "" {
		return newKeyless(ctx, ko.Keyless)
	}
	if err := checkKMS(ko.KeyRef); err != nil {
		return nil, &KeyError{Ref: ko.KeyRef, Err: err}
	}
	sv, err := signerFromRef(ctx, ko.KeyRef, ko.PassFunc)
	if err != nil {
		return nil, &KeyError{Ref: ko.KeyRef, Err: explainKeyErr(err)}
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, &KeyError{Ref: ko.KeyRef, Err: err}
	}
	fp, alg, err := fingerprint(pub)
	if err != nil {
		return nil, &KeyError{Ref: ko.KeyRef, Err: err}
	}
	return &keyMaterial{sv: sv, identity: Identity{Mode: ModeKey, KeyRef: publicKeyRef(ko.KeyRef), Fingerprint: fp, Algorithm: alg}}, nil
}

// publicKeyRef is the key reference as it may appear in an attestation:
// URIs (env://NAME, awskms://…, k8s://…) as given, a file by its base name
// only (the signer's directory layout is nobody's business).
func publicKeyRef(ref string) string {
	if strings.Contains(ref, "://") {
		return ref
	}
	return filepath.Base(ref)
}

// explainKeyErr turns cosign's decryption failure into words.
func explainKeyErr(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "decrypt"):
		return errors.New("wrong password (set COSIGN_PASSWORD, or type it at the prompt)")
	case errors.Is(err, os.ErrNotExist):
		return errors.New("no such file")
	case errors.Is(err, syscall.EISDIR):
		return errors.New("is a directory; name the key file itself (for example cosign.key or cosign.pub)")
	case errors.Is(err, os.ErrPermission):
		return errors.New("cannot read it: permission denied")
	}
	return err
}

func newKeyless(ctx context.Context, o KeylessOptions) (*keyMaterial, error) {
	if o.FulcioURL == "" {
		o.FulcioURL = DefaultFulcioURL
	}
	if o.OIDCIssuer == "" {
		o.OIDCIssuer = DefaultOIDCIssuer
	}
	if o.OIDCClientID == "" {
		o.OIDCClientID = "sigstore"
	}
	if o.IDToken == "" && !providers.Enabled(ctx) {
		return nil, &KeyError{Err: errors.New("keyless signing needs an OIDC token: pass --identity-token (a token or a file), " +
			"set SIGSTORE_ID_TOKEN, or run in GitHub Actions with `permissions: id-token: write`; or sign with --key")}
	}
	priv, err := cosign.GeneratePrivateKey()
	if err != nil {
		return nil, &KeyError{Err: fmt.Errorf("generate ephemeral key: %w", err)}
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, &KeyError{Err: err}
	}
	fp, alg, err := fingerprint(priv.Public())
	if err != nil {
		return nil, &KeyError{Err: err}
	}
	return &keyMaterial{sv: sv, keyless: &o, identity: Identity{Mode: ModeKeyless, Fingerprint: fp, Algorithm: alg}}, nil
}

// certify obtains the Fulcio certificate for a keyless signer (once). The
// token is read only now, after a GO: ambient CI tokens live minutes, and
// gates may take longer.
func (k *keyMaterial) certify(ctx context.Context, retry Retry) error {
	if k.keyless == nil || k.cert != nil {
		return nil
	}
	var fc *fulcioCert
	err := retry.do(ctx, "obtain a Fulcio certificate", func(ctx context.Context) error {
		var err error
		fc, err = requestCert(ctx, *k.keyless, k.sv, k.trusted)
		return err
	})
	if err != nil {
		return err
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(fc.cert)
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("fulcio returned no usable certificate: %v", err)
	}
	// A certificate for another key would make every signature fail to
	// verify; say so now rather than after pushing.
	if fp, _, err := fingerprint(certs[0].PublicKey); err != nil || fp != k.identity.Fingerprint {
		return fmt.Errorf("fulcio %s certified another key (%s), not this signer's %s", k.keyless.FulcioURL, fp, k.identity.Fingerprint)
	}
	k.cert, k.chain = fc.cert, fc.chain
	k.identity.CertificateIdentity, k.identity.CertificateIssuer = certIdentity(certs[0])
	return nil
}

// certIdentity reads the SAN and the OIDC issuer from a Fulcio certificate.
func certIdentity(cert *x509.Certificate) (subject, issuer string) {
	if sans := cryptoutils.GetSubjectAlternateNames(cert); len(sans) > 0 {
		subject = sans[0]
	}
	ce := cosign.CertExtensions{Cert: cert}
	return subject, ce.GetIssuer()
}

// publicKeyPEM is what Rekor records: the certificate when there is one,
// else the public key.
func (k *keyMaterial) publicKeyPEM() ([]byte, error) {
	if k.cert != nil {
		return k.cert, nil
	}
	pub, err := k.sv.PublicKey()
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}

// fingerprint is sha256 over the DER SubjectPublicKeyInfo, with the
// algorithm named for people.
func fingerprint(pub crypto.PublicKey) (fp, alg string, err error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		alg = "ecdsa-" + k.Curve.Params().Name
	case *rsa.PublicKey:
		alg = fmt.Sprintf("rsa-%d", k.N.BitLen())
	case ed25519.PublicKey:
		alg = "ed25519"
	}
	return "sha256:" + hex.EncodeToString(sum[:]), alg, nil
}

// KeyFingerprint loads a public key reference (cosign.pub, env://, KMS) and
// returns its fingerprint, as Identity records it.
func KeyFingerprint(ctx context.Context, keyRef string) (string, error) {
	v, err := verifierFromRef(ctx, keyRef)
	if err != nil {
		return "", &KeyError{Ref: keyRef, Err: explainKeyErr(err)}
	}
	pub, err := v.PublicKey()
	if err != nil {
		return "", &KeyError{Ref: keyRef, Err: err}
	}
	fp, _, err := fingerprint(pub)
	return fp, err
}
