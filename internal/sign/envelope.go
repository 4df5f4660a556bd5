package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/readiness-dev/readiness/internal/checks"
)

// The signed evidence a scan job hands to a signer: a DSSE envelope whose
// payload is an in-toto statement; its subjects are the scanned digests and
// its predicate the evidence bundle (or document) exactly as written.
const (
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// InTotoStatementType is the statement's _type.
	InTotoStatementType = "https://in-toto.io/Statement/v1"
	// BundlePredicateType is a carried evidence bundle (image scan
	// --bundle): the evidence document with trivy's raw reports.
	BundlePredicateType = "https://readiness.dev/attestation/evidence-bundle/v1"
	// DocumentPredicateType is an evidence document alone (check -o json
	// --sign-evidence).
	DocumentPredicateType = "https://readiness.dev/attestation/evidence-document/v1"
)

// maxEnvelope bounds what is read before the signature is checked.
const maxEnvelope = 512 << 20

type inTotoSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type inTotoStatement struct {
	Type          string          `json:"_type"`
	Subject       []inTotoSubject `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Seal signs body (a bundle or document as encoded) as a DSSE envelope
// about subjects, with predicate type predicateType. With a key the result
// is the plain envelope; keylessly it is a Sigstore bundle (sealKeyless):
// the envelope with the Fulcio certificate beside it.
func (s *Signer) Seal(ctx context.Context, predicateType string, body []byte, subjects []checks.Subject) ([]byte, error) {
	payload, err := statementPayload(predicateType, body, subjects)
	if err != nil {
		return nil, err
	}
	if s.key.keyless != nil {
		return s.sealKeyless(ctx, payload)
	}
	env, err := sigdsse.WrapSigner(s.key.sv, InTotoPayloadType).SignMessage(bytes.NewReader(payload), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign the evidence: %w", err)
	}
	// The key ID is DSSE's own (the SSH-style SHA256 fingerprint that
	// go-securesystemslib matches verifiers by), so that a verifier can
	// say which key an envelope claims before trying it.
	var e ssldsse.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		return nil, err
	}
	pub, err := s.key.sv.PublicKey()
	if err != nil {
		return nil, err
	}
	if id, err := ssldsse.SHA256KeyID(pub); err == nil {
		for i := range e.Signatures {
			e.Signatures[i].KeyID = id
		}
	}
	out, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// statementPayload is the in-toto statement Seal signs.
func statementPayload(predicateType string, body []byte, subjects []checks.Subject) ([]byte, error) {
	if !json.Valid(body) {
		return nil, errors.New("the evidence to sign is not JSON")
	}
	st := inTotoStatement{Type: InTotoStatementType, PredicateType: predicateType, Predicate: json.RawMessage(bytes.TrimSpace(body)), Subject: []inTotoSubject{}}
	for _, sub := range subjects {
		alg, hexDigest, ok := strings.Cut(sub.Digest, ":")
		if !ok {
			return nil, fmt.Errorf("subject %s: digest %q is not alg:hex", sub.Name, sub.Digest)
		}
		st.Subject = append(st.Subject, inTotoSubject{Name: sub.Name, Digest: map[string]string{alg: hexDigest}})
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode the in-toto statement: %w", err)
	}
	return payload, nil
}

// ErrUnsigned means evidence that must be signed is not a DSSE envelope.
var ErrUnsigned = errors.New("the evidence is not signed (not a DSSE envelope); sign it where it is gathered (image scan --bundle FILE --key … or --keyless, check -o json --sign-evidence --key …)")

// EnvelopeError means an envelope did not verify, or what it holds is not
// what was expected. Nothing in it was read.
type EnvelopeError struct{ Err error }

func (e *EnvelopeError) Error() string { return e.Err.Error() }
func (e *EnvelopeError) Unwrap() error { return e.Err }

// Opened is what a verified envelope holds.
type Opened struct {
	// Body is the predicate: the bundle or document as the signer wrote it.
	Body []byte
	// Subjects are the statement's subjects, "alg:hex" digests.
	Subjects []checks.Subject
	// SignedBy is the key, or the certified keyless identity, that
	// verified it.
	SignedBy Identity
	// Notes say what the verification could not establish (offline, a
	// keyless signature's time is not proven by a transparency log).
	Notes []string
}

// EvidenceTrust is whom a signer trusts to have gathered evidence: a
// public key, or a keyless identity certified by Fulcio (exactly one).
type EvidenceTrust struct {
	// Key is the scanner's public key (cosign.pub, env://, a KMS URI).
	Key string
	// CertIdentity or CertIdentityRegexp, with CertOIDCIssuer, is the
	// keyless scanner's certificate identity (SAN) and OIDC issuer.
	CertIdentity       string
	CertIdentityRegexp string
	CertOIDCIssuer     string
	// TrustedRoot is a trusted_root.json naming the Fulcio CAs and CT logs
	// to trust; empty means the public Sigstore root through TUF.
	TrustedRoot string

	verifier signature.Verifier
	keyless  *keylessTrust
}

// Load loads the key, or the trust root and identity policy, so that a
// bad one is a usage error before anything else is read.
func (t *EvidenceTrust) Load(ctx context.Context) error {
	keyless := t.CertIdentity != "" || t.CertIdentityRegexp != "" || t.CertOIDCIssuer != ""
	switch {
	case t.Key != "" && keyless:
		return errors.New("trust the scanner's key or its keyless identity, not both")
	case keyless:
		k, err := newKeylessTrust(t)
		if err != nil {
			return err
		}
		t.keyless = k
		return nil
	case t.Key == "":
		return errors.New("no scanner key or keyless identity to trust")
	}
	v, err := verifierFromRef(ctx, t.Key)
	if err != nil {
		return &KeyError{Ref: t.Key, Err: explainKeyErr(err), Public: true}
	}
	t.verifier = v
	return nil
}

// Open verifies data before reading anything in its payload, then returns
// its predicate if it has predicateType. With a key, data must be a DSSE
// envelope that key signed; with a keyless identity, a Sigstore bundle
// whose certificate chains to the trust root and names the identity. An
// unsigned document (neither) is ErrUnsigned.
func (t *EvidenceTrust) Open(ctx context.Context, data []byte, predicateType string) (*Opened, error) {
	if t.verifier == nil && t.keyless == nil {
		if err := t.Load(ctx); err != nil {
			return nil, err
		}
	}
	if len(data) > maxEnvelope {
		return nil, &EnvelopeError{Err: fmt.Errorf("the envelope is larger than %d MiB", maxEnvelope>>20)}
	}
	isBundle := isSigstoreBundle(data)
	switch {
	case t.keyless != nil && isBundle:
		payload, id, err := t.keyless.verify(data)
		if err != nil {
			return nil, err
		}
		out, err := readStatement(payload, predicateType)
		if err != nil {
			return nil, err
		}
		out.SignedBy = id
		out.Notes = []string{keylessOfflineNote}
		return out, nil
	case t.keyless == nil && isBundle:
		return nil, &EnvelopeError{Err: errors.New("the evidence is signed keylessly (a Sigstore bundle with a Fulcio certificate): trust the scanner's identity with --evidence-certificate-identity and --evidence-certificate-oidc-issuer, not a key")}
	}
	var env ssldsse.Envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || env.PayloadType == "" || len(env.Signatures) == 0 {
		return nil, ErrUnsigned
	}
	if dec.More() {
		return nil, &EnvelopeError{Err: errors.New("data after the envelope")}
	}
	if t.keyless != nil {
		return nil, &EnvelopeError{Err: errors.New("the evidence is signed with a key, not keylessly: it carries no certificate for the trusted identity (trust the scanner's key with --evidence-key instead)")}
	}
	if env.PayloadType != InTotoPayloadType {
		return nil, &EnvelopeError{Err: fmt.Errorf("the envelope's payload type is %q, not %s", env.PayloadType, InTotoPayloadType)}
	}
	// Verify the envelope exactly as decoded: the payload read below is
	// the one whose signature verified.
	canon, err := json.Marshal(env)
	if err != nil {
		return nil, &EnvelopeError{Err: err}
	}
	if err := sigdsse.WrapVerifier(t.verifier).VerifySignature(bytes.NewReader(canon), nil, options.WithContext(ctx)); err != nil {
		return nil, &EnvelopeError{Err: fmt.Errorf("the envelope's signature does not verify with %s: %v", t.Key, err)}
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, &EnvelopeError{Err: fmt.Errorf("the envelope's payload is not base64: %v", err)}
	}
	out, err := readStatement(payload, predicateType)
	if err != nil {
		return nil, err
	}
	pub, err := t.verifier.PublicKey()
	if err != nil {
		return nil, &EnvelopeError{Err: err}
	}
	fp, alg, err := fingerprint(pub)
	if err != nil {
		return nil, &EnvelopeError{Err: err}
	}
	out.SignedBy = Identity{Mode: ModeKey, KeyRef: publicKeyRef(t.Key), Fingerprint: fp, Algorithm: alg}
	return out, nil
}

// readStatement reads a verified payload: an in-toto statement of
// predicateType whose subjects are hex digests.
func readStatement(payload []byte, predicateType string) (*Opened, error) {
	var st inTotoStatement
	pd := json.NewDecoder(bytes.NewReader(payload))
	pd.DisallowUnknownFields()
	if err := pd.Decode(&st); err != nil {
		return nil, &EnvelopeError{Err: fmt.Errorf("the signed payload is not an in-toto statement: %v", err)}
	}
	if st.Type != InTotoStatementType {
		return nil, &EnvelopeError{Err: fmt.Errorf("the signed statement's _type is %q, not %s", st.Type, InTotoStatementType)}
	}
	if st.PredicateType != predicateType {
		return nil, &EnvelopeError{Err: fmt.Errorf("the signed statement is a %s, not a %s", st.PredicateType, predicateType)}
	}
	out := &Opened{Body: st.Predicate}
	for _, s := range st.Subject {
		for alg, h := range s.Digest {
			if _, err := hex.DecodeString(h); err != nil || h == "" {
				return nil, &EnvelopeError{Err: fmt.Errorf("subject %s: digest %s:%q is not hex", s.Name, alg, h)}
			}
			out.Subjects = append(out.Subjects, checks.Subject{Name: s.Name, Digest: alg + ":" + h})
		}
	}
	return out, nil
}

// PeekDocument returns the evidence document inside a DSSE envelope as
// check --sign-evidence writes it (or inside a Sigstore bundle's
// envelope) without verifying the signature, for a use that judges
// nothing: check --compare labels blockers against an earlier run and
// never changes a verdict. Data that is no envelope is returned as it is.
func PeekDocument(data []byte) ([]byte, error) {
	var head struct {
		PayloadType  *string          `json:"payloadType"`
		Payload      string           `json:"payload"`
		DSSEEnvelope *json.RawMessage `json:"dsseEnvelope"`
	}
	if json.Unmarshal(data, &head) != nil {
		return data, nil
	}
	if head.DSSEEnvelope != nil {
		if err := json.Unmarshal(*head.DSSEEnvelope, &head); err != nil {
			return nil, fmt.Errorf("the Sigstore bundle's envelope is not JSON: %v", err)
		}
	}
	if head.PayloadType == nil {
		return data, nil
	}
	if *head.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("the envelope's payload type is %q, not %s", *head.PayloadType, InTotoPayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(head.Payload)
	if err != nil {
		return nil, fmt.Errorf("the envelope's payload is not base64: %v", err)
	}
	st, err := readStatement(payload, DocumentPredicateType)
	if err != nil {
		return nil, err
	}
	if len(st.Body) == 0 {
		return nil, errors.New("the signed statement carries no predicate")
	}
	return st.Body, nil
}
