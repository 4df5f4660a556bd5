package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/in-toto/in-toto-golang/in_toto"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	cremote "github.com/sigstore/cosign/v2/pkg/cosign/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/cosign/v2/pkg/types"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/readiness-dev/readiness/internal/checks"
)

// Options configure a Signer.
type Options struct {
	Key      KeyOptions
	Registry RegistryOptions
	// TlogUpload records every signature and attestation in Rekor. On by
	// default in the CLI; off only when asked (--tlog-upload=false).
	TlogUpload bool
	// RekorURL is the transparency log; DefaultRekorURL when empty.
	RekorURL string
	// TrustedRoot is a trusted_root.json (cosign's --trusted-root) naming
	// a private Sigstore's Fulcio CA, CT logs and Rekor keys. Empty means
	// the public Sigstore root, fetched through TUF. Keyless signing checks
	// Fulcio's certificate against it before signing anything.
	TrustedRoot string
}

// Signer signs image digests and attaches attestations with one key (or
// one keyless identity), in cosign's formats: a signature in the
// sha256-<hex>.sig tag, attestations as DSSE envelopes in sha256-<hex>.att.
type Signer struct {
	opts Options
	key  *keyMaterial
}

// New loads the key (asking for its password once), or prepares keyless
// signing. A bad key or password is a *KeyError.
func New(ctx context.Context, o Options) (*Signer, error) {
	if o.RekorURL == "" {
		o.RekorURL = DefaultRekorURL
	}
	tm, err := loadTrustedRoot(o.TrustedRoot)
	if err != nil {
		return nil, err
	}
	k, err := loadKey(ctx, o.Key)
	if err != nil {
		return nil, err
	}
	k.trusted = tm
	return &Signer{opts: o, key: k}, nil
}

// Identity is who signs. For keyless signing the certificate fields are
// filled in by the first Sign.
func (s *Signer) Identity() Identity { return s.key.identity }

// Registry returns the registry options the signer writes with.
func (s *Signer) Registry() RegistryOptions { return s.opts.Registry }

// TlogUpload reports whether signatures go to Rekor.
func (s *Signer) TlogUpload() bool { return s.opts.TlogUpload }

// SignResult says what Sign did.
type SignResult struct {
	// Tag is where signatures live: repo:sha256-<hex>.sig.
	Tag string `json:"tag"`
	// Existing is true when a valid signature by this signer was already
	// there, so nothing was written (a retry after a partial failure).
	Existing bool `json:"existing"`
	// Written is true when a new signature was pushed.
	Written bool `json:"written"`
	// RekorLogIndex is the transparency-log entry, when uploaded.
	RekorLogIndex *int64 `json:"rekor_log_index,omitempty"`
}

// Sign signs t's digest unless this signer's valid signature is already
// there. It never writes a second signature for the same signer.
func (s *Signer) Sign(ctx context.Context, t *Target) (SignResult, error) {
	ro := s.opts.Registry
	sigTag, err := ociremote.SignatureTag(t.Ref(), ro.ociOptions(ctx)...)
	if err != nil {
		return SignResult{}, err
	}
	res := SignResult{Tag: sigTag.String()}

	if err := s.key.certify(ctx, ro.Retry); err != nil {
		return res, err
	}
	found, err := s.hasSignature(ctx, t)
	if err != nil {
		return res, fmt.Errorf("look for an existing signature in %s: %w", sigTag, err)
	}
	if found {
		res.Existing = true
		return res, nil
	}

	// A deterministic payload (no timestamps): the same digest always
	// yields the same payload, so cosign's dupe detector also recognises
	// a signature this signer already wrote.
	payload, err := (&sigpayload.Cosign{Image: t.Ref()}).MarshalJSON()
	if err != nil {
		return res, fmt.Errorf("signature payload: %w", err)
	}
	raw, err := s.key.sv.SignMessage(bytes.NewReader(payload), sigopts.WithContext(ctx))
	if err != nil {
		return res, fmt.Errorf("sign %s: %w", t.Digest, err)
	}
	var opts []static.Option
	if s.key.cert != nil {
		opts = append(opts, static.WithCertChain(s.key.cert, s.key.chain))
	}
	if s.opts.TlogUpload {
		rc, err := s.rekor()
		if err != nil {
			return res, err
		}
		pem, err := s.key.publicKeyPEM()
		if err != nil {
			return res, err
		}
		sum := sha256.New()
		sum.Write(payload)
		entry, err := cosign.TLogUpload(ctx, rc, raw, sum, pem)
		if err != nil {
			return res, fmt.Errorf("upload the signature to Rekor %s: %w", s.opts.RekorURL, err)
		}
		res.RekorLogIndex = entry.LogIndex
		opts = append(opts, static.WithBundle(cbundle.EntryToBundle(entry)))
	}
	sig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(raw), opts...)
	if err != nil {
		return res, err
	}
	se := ociremote.SignedUnknown(t.Ref(), ro.ociOptions(ctx)...)
	newSE, err := mutate.AttachSignatureToEntity(se, sig, mutate.WithDupeDetector(cremote.NewDupeDetector(s.key.sv)))
	if err != nil {
		return res, fmt.Errorf("read existing signatures in %s: %w", sigTag, err)
	}
	if err := ociremote.WriteSignatures(t.Ref().Repository, newSE, ro.ociOptions(ctx)...); err != nil {
		return res, fmt.Errorf("push the signature to %s: %w", sigTag, err)
	}
	res.Written = true
	return res, nil
}

// hasSignature reports whether a signature by this signer that verifies
// for t's digest is already in the registry.
func (s *Signer) hasSignature(ctx context.Context, t *Target) (bool, error) {
	co, err := s.selfCheckOpts(ctx)
	if err != nil {
		return false, err
	}
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	_, _, err = cosign.VerifyImageSignatures(ctx, t.Ref(), co)
	var none *cosign.ErrNoSignaturesFound
	var nomatch *cosign.ErrNoMatchingSignatures
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &none), errors.As(err, &nomatch), isNotFound(err):
		return false, nil
	}
	return false, err
}

// SelfVerifier verifies what this signer signs: with its own key, or its
// certificate identity and trust root when keyless; the transparency log
// is checked when signatures go there. o gives the rest (RequireVuln, the
// clock); its own key and identity fields are replaced.
func (s *Signer) SelfVerifier(o VerifyOptions) *Verifier {
	o.Registry, o.IgnoreTlog, o.RekorURL = s.opts.Registry, !s.opts.TlogUpload, s.opts.RekorURL
	o.Key, o.CertIdentityRegexp, o.CertOIDCIssuerRegexp, o.TrustedRoot = "", "", "", ""
	v := &Verifier{opts: o, trusted: s.key.trusted}
	if s.key.keyless != nil {
		v.opts.CertIdentity, v.opts.CertOIDCIssuer = s.key.identity.CertificateIdentity, s.key.identity.CertificateIssuer
	} else {
		v.opts.CertIdentity, v.opts.CertOIDCIssuer = "", ""
		v.key = s.key.sv
	}
	return v
}

// selfCheckOpts are cosign's options for SelfVerifier.
func (s *Signer) selfCheckOpts(ctx context.Context) (*cosign.CheckOpts, error) {
	return s.SelfVerifier(VerifyOptions{}).checkOpts(ctx)
}

func (s *Signer) rekor() (*client.Rekor, error) {
	r := s.opts.Registry.Retry.withDefaults()
	rc, err := rekorclient.GetRekorClient(s.opts.RekorURL,
		rekorclient.WithUserAgent("readiness"),
		rekorclient.WithRetryCount(uint(r.Attempts-1)),
		rekorclient.WithRetryWaitMin(r.Initial),
		rekorclient.WithRetryWaitMax(r.Max))
	if err != nil {
		return nil, fmt.Errorf("rekor client for %s: %w", s.opts.RekorURL, err)
	}
	return rc, nil
}

// Statement is one attestation to attach: its predicate type and body.
// Its first subject is always the target's digest; Subjects adds more
// (the platform image a vulnerability report is about).
type Statement struct {
	PredicateType string
	Predicate     any
	Subjects      []checks.Subject
}

// AttestResult says what Attest wrote.
type AttestResult struct {
	// Tag is where attestations live: repo:sha256-<hex>.att.
	Tag string `json:"tag"`
	// PredicateTypes lists what was attached, in order.
	PredicateTypes []string `json:"predicate_types"`
	// Replaced counts earlier attestations of the same predicate types
	// that these replaced.
	Replaced int  `json:"replaced"`
	Written  bool `json:"written"`
}

// Attest signs each statement about t's digest as a DSSE envelope and
// pushes them together in one manifest write: either all of them land or
// none does. An earlier attestation of the same predicate type is
// replaced, so a retry leaves exactly one of each.
func (s *Signer) Attest(ctx context.Context, t *Target, stmts []Statement) (AttestResult, error) {
	ro := s.opts.Registry
	attTag, err := ociremote.AttestationTag(t.Ref(), ro.ociOptions(ctx)...)
	if err != nil {
		return AttestResult{}, err
	}
	res := AttestResult{Tag: attTag.String()}
	if err := s.key.certify(ctx, ro.Retry); err != nil {
		return res, err
	}
	atts := make([]oci.Signature, 0, len(stmts))
	op := &replaceOp{types: map[string]bool{}}
	for _, st := range stmts {
		att, err := s.attestation(ctx, t, st)
		if err != nil {
			return res, err
		}
		atts = append(atts, att)
		op.types[st.PredicateType] = true
		res.PredicateTypes = append(res.PredicateTypes, st.PredicateType)
	}
	if len(atts) == 0 {
		return res, errors.New("no attestation to attach")
	}
	// One attach, one manifest write: the replace op puts every new
	// attestation in place of the existing ones of the same types.
	op.add = atts
	se, err := mutate.AttachAttestationToEntity(ociremote.SignedUnknown(t.Ref(), ro.ociOptions(ctx)...), atts[0], mutate.WithReplaceOp(op))
	if err != nil {
		return res, fmt.Errorf("read existing attestations in %s: %w", attTag, err)
	}
	if err := ociremote.WriteAttestations(t.Ref().Repository, se, ro.ociOptions(ctx)...); err != nil {
		return res, fmt.Errorf("push the attestations to %s: %w", attTag, err)
	}
	res.Replaced, res.Written = op.replaced, true
	return res, nil
}

// attestation builds and signs one in-toto statement.
func (s *Signer) attestation(ctx context.Context, t *Target, st Statement) (oci.Signature, error) {
	subjects := []in_toto.Subject{{Name: t.Repository, Digest: map[string]string{"sha256": t.Hex()}}}
	for _, sub := range st.Subjects {
		subjects = append(subjects, in_toto.Subject{Name: sub.Name, Digest: map[string]string{"sha256": strings.TrimPrefix(sub.Digest, "sha256:")}})
	}
	statement := in_toto.Statement{
		StatementHeader: in_toto.StatementHeader{
			Type:          in_toto.StatementInTotoV01,
			PredicateType: st.PredicateType,
			Subject:       subjects,
		},
		Predicate: st.Predicate,
	}
	payload, err := json.Marshal(statement)
	if err != nil {
		return nil, fmt.Errorf("encode %s statement: %w", st.PredicateType, err)
	}
	envelope, err := dsse.WrapSigner(s.key.sv, types.IntotoPayloadType).SignMessage(bytes.NewReader(payload), sigopts.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign %s statement: %w", st.PredicateType, err)
	}
	opts := []static.Option{
		static.WithLayerMediaType(types.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": st.PredicateType}),
	}
	if s.key.cert != nil {
		opts = append(opts, static.WithCertChain(s.key.cert, s.key.chain))
	}
	if s.opts.TlogUpload {
		rc, err := s.rekor()
		if err != nil {
			return nil, err
		}
		pem, err := s.key.publicKeyPEM()
		if err != nil {
			return nil, err
		}
		entry, err := cosign.TLogUploadDSSEEnvelope(ctx, rc, envelope, pem)
		if err != nil {
			return nil, fmt.Errorf("upload the %s attestation to Rekor %s: %w", st.PredicateType, s.opts.RekorURL, err)
		}
		opts = append(opts, static.WithBundle(cbundle.EntryToBundle(entry)))
	}
	return static.NewAttestation(envelope, opts...)
}

// replaceOp puts a set of new attestations in place of the existing ones
// of the same predicate types, like cosign's ReplaceOp but for several at
// once, quietly, counting what it dropped, and keeping (not failing on) an
// existing attestation it cannot parse.
type replaceOp struct {
	types    map[string]bool
	add      []oci.Signature
	replaced int
}

func (r *replaceOp) Replace(base oci.Signatures, _ oci.Signature) (oci.Signatures, error) {
	existing, err := base.Get()
	if err != nil {
		return nil, err
	}
	kept := slices.Clone(r.add)
	r.replaced = 0
	for _, s := range existing {
		if pt, err := attestationPredicateType(s); err == nil && r.types[pt] {
			r.replaced++
			continue
		}
		kept = append(kept, s)
	}
	return &signatureList{Signatures: base, list: kept}, nil
}

type signatureList struct {
	oci.Signatures
	list []oci.Signature
}

func (l *signatureList) Get() ([]oci.Signature, error) { return l.list, nil }

// attestationPredicateType reads the predicate type out of a DSSE
// attestation layer: the annotation when present, else the statement.
func attestationPredicateType(s oci.Signature) (string, error) {
	if ann, err := s.Annotations(); err == nil && ann["predicateType"] != "" {
		return ann["predicateType"], nil
	}
	st, err := decodeStatement(s)
	if err != nil {
		return "", err
	}
	return st.PredicateType, nil
}

// rawStatement is an in-toto statement with its predicate left raw.
type rawStatement struct {
	Type          string            `json:"_type"`
	PredicateType string            `json:"predicateType"`
	Subject       []in_toto.Subject `json:"subject"`
	Predicate     json.RawMessage   `json:"predicate"`
}

// decodeStatement opens a DSSE attestation layer (without verifying it).
func decodeStatement(s oci.Signature) (*rawStatement, error) {
	p, err := s.Payload()
	if err != nil {
		return nil, err
	}
	return decodeEnvelope(p)
}

// decodeEnvelope reads the in-toto statement out of a DSSE envelope.
func decodeEnvelope(p []byte) (*rawStatement, error) {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(p, &env); err != nil {
		return nil, fmt.Errorf("attestation is not a DSSE envelope: %w", err)
	}
	if env.PayloadType != types.IntotoPayloadType {
		return nil, fmt.Errorf("attestation payload type %q is not in-toto", env.PayloadType)
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("attestation payload: %w", err)
	}
	var st rawStatement
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("attestation statement: %w", err)
	}
	return &st, nil
}

// isNotFound recognises a registry's 404 for a tag that does not exist.
func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
