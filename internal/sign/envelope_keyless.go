package sign

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"
)

// Keyless evidence is a Sigstore bundle (v0.3, as cosign's
// --new-bundle-format writes for blobs): the DSSE envelope, and beside it
// the Fulcio certificate of the ephemeral key that signed it. The chain
// above the certificate is the verifier's trust root's, never the file's.
const sigstoreBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// keylessOfflineNote is what a keyless evidence verification cannot
// establish without a transparency log.
const keylessOfflineNote = "the keyless evidence carries no transparency-log entry, so when it was signed is not proven: " +
	"its certificate was checked valid now, and the bundle is accepted only within the certificate's lifetime (10 minutes for the public Fulcio)"

// sealKeyless signs payload with the ephemeral key, once Fulcio has
// certified it, and writes the Sigstore bundle.
func (s *Signer) sealKeyless(ctx context.Context, payload []byte) ([]byte, error) {
	if s.opts.TlogUpload {
		// Without Rekor the signature's time rests on the certificate
		// being valid when the signer reads the bundle; say it is so.
		return nil, errors.New("keyless evidence is not recorded in Rekor yet: sign it with --tlog-upload=false (image sign then accepts it only while its Fulcio certificate is valid)")
	}
	if err := s.key.certify(ctx, s.opts.Registry.Retry); err != nil {
		return nil, err
	}
	env, err := sigdsse.WrapSigner(s.key.sv, InTotoPayloadType).SignMessage(bytes.NewReader(payload), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign the evidence: %w", err)
	}
	var e ssldsse.Envelope
	if err := json.Unmarshal(env, &e); err != nil || len(e.Signatures) != 1 {
		return nil, fmt.Errorf("sign the evidence: not one DSSE signature (%v)", err)
	}
	sig, err := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
	if err != nil {
		return nil, fmt.Errorf("sign the evidence: %w", err)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(s.key.cert)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("the Fulcio certificate: %v", err)
	}
	pb := &protobundle.Bundle{
		MediaType: sigstoreBundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: certs[0].Raw}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	if _, err := sgbundle.NewBundle(pb); err != nil {
		return nil, fmt.Errorf("build the Sigstore bundle: %w", err)
	}
	out, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(pb)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// isSigstoreBundle reports whether data says it is a Sigstore bundle.
// Saying so proves nothing; it only picks the verification.
func isSigstoreBundle(data []byte) bool {
	var head struct {
		MediaType string `json:"mediaType"`
	}
	return json.Unmarshal(data, &head) == nil && strings.HasPrefix(head.MediaType, "application/vnd.dev.sigstore.bundle")
}

// keylessTrust verifies keyless evidence: the certificate against the
// trust root's Fulcio CAs and CT logs, the identity, then the signature.
type keylessTrust struct {
	verifier *verify.Verifier
	identity verify.CertificateIdentity
	what     string
}

func newKeylessTrust(t *EvidenceTrust) (*keylessTrust, error) {
	switch {
	case t.CertIdentity != "" && t.CertIdentityRegexp != "":
		return nil, errors.New("give the scanner's certificate identity exactly or as a regexp, not both")
	case t.CertIdentity == "" && t.CertIdentityRegexp == "":
		return nil, errors.New("keyless evidence needs the scanner's certificate identity (exact or regexp) as well as its OIDC issuer")
	case t.CertOIDCIssuer == "":
		return nil, errors.New("keyless evidence needs the scanner's OIDC issuer as well as its certificate identity")
	}
	id, err := verify.NewShortCertificateIdentity(t.CertOIDCIssuer, "", t.CertIdentity, t.CertIdentityRegexp)
	if err != nil {
		return nil, fmt.Errorf("the scanner's certificate identity: %w", err)
	}
	tm, err := loadTrustedRoot(t.TrustedRoot)
	if err != nil {
		return nil, err
	}
	if tm == nil {
		// The public Sigstore root (TUF), as image verify uses it.
		if tm, err = cosign.TrustedRoot(); err != nil {
			return nil, fmt.Errorf("load the Sigstore trust root: %w", err)
		}
	}
	// No transparency log offline: the certificate is checked at the
	// current time (keylessOfflineNote), its SCT against the CT logs.
	v, err := verify.NewVerifier(tm, verify.WithSignedCertificateTimestamps(1), verify.WithCurrentTime())
	if err != nil {
		return nil, fmt.Errorf("prepare the keyless verifier: %w", err)
	}
	what := t.CertIdentity
	if what == "" {
		what = "matching " + t.CertIdentityRegexp
	}
	return &keylessTrust{verifier: v, identity: id, what: fmt.Sprintf("%s (issuer %s)", what, t.CertOIDCIssuer)}, nil
}

// verify checks a Sigstore bundle and returns the payload that verified
// and who signed it.
func (k *keylessTrust) verify(data []byte) ([]byte, Identity, error) {
	fail := func(format string, args ...any) ([]byte, Identity, error) {
		return nil, Identity{}, &EnvelopeError{Err: fmt.Errorf(format, args...)}
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return fail("the keyless evidence is not a valid Sigstore bundle: %v", err)
	}
	env := b.GetDsseEnvelope()
	cert := b.GetVerificationMaterial().GetCertificate()
	switch {
	case env == nil:
		return fail("the keyless evidence carries no DSSE envelope")
	case len(env.GetSignatures()) != 1:
		return fail("the keyless evidence has %d signatures, not one", len(env.GetSignatures()))
	case env.GetPayloadType() != InTotoPayloadType:
		return fail("the envelope's payload type is %q, not %s", env.GetPayloadType(), InTotoPayloadType)
	case cert == nil:
		return fail("the keyless evidence carries no Fulcio certificate")
	}
	policy := verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithCertificateIdentity(k.identity))
	if _, err := k.verifier.Verify(&b, policy); err != nil {
		return fail("the keyless evidence does not verify for %s: %v", k.what, err)
	}
	leaf, err := x509.ParseCertificate(cert.GetRawBytes())
	if err != nil {
		return fail("the keyless evidence's certificate: %v", err)
	}
	fp, alg, err := fingerprint(leaf.PublicKey)
	if err != nil {
		return fail("the keyless evidence's certificate: %v", err)
	}
	id := Identity{Mode: ModeKeyless, Fingerprint: fp, Algorithm: alg}
	id.CertificateIdentity, id.CertificateIssuer = certIdentity(leaf)
	return env.GetPayload(), id, nil
}
