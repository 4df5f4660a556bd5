package sign

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/readiness-dev/readiness/internal/evidence"
)

// VerifyOptions say whom to trust and what to demand.
type VerifyOptions struct {
	// Key is the public key reference (cosign.pub, env://, a KMS URI).
	// Without it, keyless signatures are verified against Fulcio and the
	// certificate identity below.
	Key string
	// CertIdentity / CertIdentityRegexp and CertOIDCIssuer /
	// CertOIDCIssuerRegexp match a keyless signer's certificate.
	CertIdentity         string
	CertIdentityRegexp   string
	CertOIDCIssuer       string
	CertOIDCIssuerRegexp string
	// IgnoreTlog skips the Rekor inclusion check, for signatures made with
	// --tlog-upload=false.
	IgnoreTlog bool
	// RekorURL is used for online log lookups; DefaultRekorURL when empty.
	RekorURL string
	// TrustedRoot is a trusted_root.json (as cosign's --trusted-root):
	// the Fulcio CAs, CT logs and Rekor keys of a private Sigstore. Empty
	// means the public Sigstore root through TUF (SIGSTORE_*/TUF_ROOT
	// override it as in cosign).
	TrustedRoot string
	// RequireVuln also demands the cosign vulnerability attestation.
	RequireVuln bool
	// RequireSBOM also demands, for every image, a CycloneDX SBOM
	// attestation holding the SBOM the evidence records for its scan.
	RequireSBOM bool
	// MaxAge, when positive, rejects evidence generated longer ago; zero
	// means no limit (the CLI defaults it to DefaultVerifyMaxAge).
	MaxAge time.Duration
	// DenyWaived refuses a GO that relied on a waiver (readiness.yaml's or
	// policy code's) or on a block_on without critical and high.
	DenyWaived bool
	// Now is the clock MaxAge is judged by.
	Now      func() time.Time
	Registry RegistryOptions
}

// Verifier is VerifyOptions loaded: the public key and the trust root read
// once, so that a bad key is reported before anything about the image is
// asked, and a signer can check its own work with the key it holds.
type Verifier struct {
	opts VerifyOptions
	// key is the loaded public key; nil verifies keyless signatures.
	key signature.Verifier
	// trusted is the loaded TrustedRoot; nil is the public Sigstore root.
	trusted root.TrustedMaterial
}

// NewVerifier validates o and loads its key and trust root. Its errors are
// about the verifier's own inputs (a *KeyError, a *TrustRootError, a bad
// combination of options): nothing about an image was asked.
func NewVerifier(ctx context.Context, o VerifyOptions) (*Verifier, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	tm, err := loadTrustedRoot(o.TrustedRoot)
	if err != nil {
		return nil, err
	}
	v := &Verifier{opts: o, trusted: tm}
	if o.Key != "" {
		if v.key, err = verifierFromRef(ctx, o.Key); err != nil {
			return nil, &KeyError{Ref: o.Key, Err: explainKeyErr(err), Public: true}
		}
	}
	return v, nil
}

// Validate rejects option combinations that cannot verify anything.
func (o VerifyOptions) Validate() error {
	keyless := o.CertIdentity != "" || o.CertIdentityRegexp != "" || o.CertOIDCIssuer != "" || o.CertOIDCIssuerRegexp != ""
	switch {
	case o.Key != "" && keyless:
		return errors.New("use --key or the --certificate-identity/--certificate-oidc-issuer flags, not both")
	case o.Key == "" && !keyless:
		return errors.New("say whom to trust: --key cosign.pub, or --certificate-identity and --certificate-oidc-issuer for keyless signatures")
	case o.Key == "" && ((o.CertIdentity == "" && o.CertIdentityRegexp == "") || (o.CertOIDCIssuer == "" && o.CertOIDCIssuerRegexp == "")):
		return errors.New("keyless verification needs both a certificate identity and an OIDC issuer (exact or regexp)")
	case o.MaxAge < 0:
		return errors.New("--max-age must not be negative")
	}
	return nil
}

// checkOpts builds cosign's verification options. Errors here are about
// the verifier's own inputs (key, trust roots), not about the image.
func (v *Verifier) checkOpts(ctx context.Context) (*cosign.CheckOpts, error) {
	o := v.opts
	co := &cosign.CheckOpts{
		RegistryClientOpts: o.Registry.ociOptions(ctx),
		IgnoreTlog:         o.IgnoreTlog,
	}
	switch {
	case v.key != nil:
		co.SigVerifier = v.key
	default:
		co.Identities = []cosign.Identity{{
			Subject: o.CertIdentity, SubjectRegExp: o.CertIdentityRegexp,
			Issuer: o.CertOIDCIssuer, IssuerRegExp: o.CertOIDCIssuerRegexp,
		}}
	}
	keyless := co.SigVerifier == nil
	if v.trusted != nil {
		// A private Sigstore: its root only, never the public one.
		co.TrustedMaterial = v.trusted
	}
	if co.TrustedMaterial == nil && (keyless || !o.IgnoreTlog) {
		// The public Sigstore trust root (TUF): Fulcio CAs, CT log and
		// Rekor keys. SIGSTORE_* and TUF_ROOT override it as in cosign.
		tm, err := cosign.TrustedRoot()
		if err == nil {
			co.TrustedMaterial = tm
		} else if err := legacyTrust(ctx, co, keyless); err != nil {
			return nil, fmt.Errorf("load the Sigstore trust root: %w", err)
		}
	}
	if !o.IgnoreTlog {
		url := o.RekorURL
		if url == "" {
			url = DefaultRekorURL
		}
		rc, err := rekorclient.GetRekorClient(url, rekorclient.WithUserAgent("readiness"))
		if err != nil {
			return nil, fmt.Errorf("rekor client for %s: %w", url, err)
		}
		co.RekorClient = rc
	}
	return co, nil
}

// TrustRootError is a --trusted-root file that cannot be used: nothing
// was judged; a usage error.
type TrustRootError struct {
	Path string
	Err  error
}

func (e *TrustRootError) Error() string { return fmt.Sprintf("trusted root %s: %v", e.Path, e.Err) }
func (e *TrustRootError) Unwrap() error { return e.Err }

// loadTrustedRoot reads a trusted_root.json; "" is no file (nil).
func loadTrustedRoot(path string) (root.TrustedMaterial, error) {
	if path == "" {
		return nil, nil
	}
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, &TrustRootError{Path: path, Err: explainKeyErr(err)}
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 && len(tr.RekorLogs()) == 0 {
		return nil, &TrustRootError{Path: path, Err: errors.New("names no certificate authority and no transparency log")}
	}
	return tr, nil
}

// legacyTrust loads the individual TUF targets when trusted_root.json is
// unavailable, as cosign does.
func legacyTrust(ctx context.Context, co *cosign.CheckOpts, keyless bool) error {
	var err error
	if co.RekorPubKeys, err = cosign.GetRekorPubs(ctx); err != nil {
		return err
	}
	if !keyless {
		return nil
	}
	if co.RootCerts, co.IntermediateCerts, err = fulcioRoots(); err != nil {
		return err
	}
	co.CTLogPubKeys, err = cosign.GetCTLogPubs(ctx)
	return err
}

// Verification is what Verify established. The image passes only when
// Failures is empty.
type Verification struct {
	Image  string `json:"image"`
	Digest string `json:"digest"`
	// Signatures counts the signatures that verified.
	Signatures int `json:"signatures"`
	// Evidence is the newest verified evidence attestation.
	Evidence *VerifiedEvidence `json:"evidence,omitempty"`
	// Vuln is the newest verified vulnerability attestation.
	Vuln *VerifiedVuln `json:"vuln,omitempty"`
	// SBOM is what the SBOM check found, with RequireSBOM.
	SBOM *VerifiedSBOM `json:"sbom,omitempty"`
	// MaxAge is the age limit that applied ("none" when disabled).
	MaxAge   string   `json:"max_age"`
	Failures []string `json:"failures"`
}

// DefaultVerifyMaxAge is image verify's --max-age: a NO-GO writes nothing
// to the registry, so an old GO would otherwise outlive every later
// verdict on the same digest.
const DefaultVerifyMaxAge = 30 * 24 * time.Hour

// VerifiedEvidence summarises the evidence attestation that was checked.
type VerifiedEvidence struct {
	Verdict     string    `json:"verdict"`
	GeneratedAt time.Time `json:"generated_at"`
	Age         string    `json:"age"`
	Signer      Identity  `json:"signer"`
	// Scanner is who gathered carried evidence (absent when the signer
	// ran the gates itself).
	Scanner *Identity `json:"scanner,omitempty"`
	Tool    string    `json:"tool"`
	// Count is how many verified evidence attestations there were.
	Count int `json:"count"`
}

// VerifiedVuln summarises the vulnerability attestation that was checked.
type VerifiedVuln struct {
	Scanner        string    `json:"scanner"`
	DBVersion      string    `json:"db_version,omitempty"`
	ScanFinishedOn time.Time `json:"scan_finished_on"`
	Count          int       `json:"count"`
}

// OK reports whether everything verified.
func (v *Verification) OK() bool { return len(v.Failures) == 0 }

func (v *Verification) fail(format string, args ...any) {
	v.Failures = append(v.Failures, fmt.Sprintf(format, args...))
}

// Verify checks, for t's digest: a valid signature; a valid evidence
// attestation whose verdict is GO, whose subjects include the digest, and
// that is younger than MaxAge; and with RequireVuln a valid vulnerability
// attestation. Everything that fails is listed; the error is only for
// inputs that prevent verifying at all (an unreadable key, no trust root).
func Verify(ctx context.Context, t *Target, o VerifyOptions) (*Verification, error) {
	ver, err := NewVerifier(ctx, o)
	if err != nil {
		return nil, err
	}
	return ver.Verify(ctx, t)
}

// Verify is the package's Verify with the loaded key and trust root.
func (ver *Verifier) Verify(ctx context.Context, t *Target) (*Verification, error) {
	o := ver.opts
	if o.Now == nil {
		o.Now = time.Now
	}
	co, err := ver.checkOpts(ctx)
	if err != nil {
		return nil, err
	}
	v := &Verification{Image: t.String(), Digest: t.Digest, Failures: []string{}, MaxAge: "none"}
	if o.MaxAge > 0 {
		v.MaxAge = roundAge(o.MaxAge)
	}

	sigCO := *co
	sigCO.ClaimVerifier = cosign.SimpleClaimVerifier
	if verified, _, err := cosign.VerifyImageSignatures(ctx, t.Ref(), &sigCO); err != nil {
		v.fail("signature: %s", oneLine(err))
	} else {
		v.Signatures = len(verified)
	}

	attCO := *co
	attCO.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, t.Ref(), &attCO)
	if err != nil {
		var nomatch *cosign.ErrNoMatchingAttestations
		if !errors.As(err, &nomatch) {
			v.fail("attestations: %s", oneLine(err))
		}
	}
	byType := map[string][]*rawStatement{}
	signedBy := map[*rawStatement]oci.Signature{}
	for _, a := range atts {
		st, err := decodeStatement(a)
		if err != nil {
			continue
		}
		byType[st.PredicateType] = append(byType[st.PredicateType], st)
		signedBy[st] = a
	}

	wantFP := ""
	if co.SigVerifier != nil {
		if pub, err := co.SigVerifier.PublicKey(); err == nil {
			wantFP, _, _ = fingerprint(pub)
		}
	}
	doc := v.checkEvidence(t, byType[EvidencePredicateType], o, wantFP, signedBy)
	if o.RequireVuln {
		v.checkVuln(t, byType[VulnPredicateType], atts)
	}
	if o.RequireSBOM {
		v.checkSBOM(t, byType[SBOMPredicateType], doc)
	}
	return v, nil
}

// checkEvidence checks the newest evidence attestation and returns its
// document (nil when there is none to read).
func (v *Verification) checkEvidence(t *Target, stmts []*rawStatement, o VerifyOptions, wantFP string, signedBy map[*rawStatement]oci.Signature) *evidence.Document {
	if len(stmts) == 0 {
		v.fail("no verified evidence attestation (%s) for %s", EvidencePredicateType, t.Digest)
		return nil
	}
	var newest *EvidencePredicate
	var newestDoc *evidence.Document
	var newestSig oci.Signature
	var problems []string
	for _, st := range stmts {
		p, doc, err := DecodeEvidencePredicate(st.Predicate)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if newest == nil || p.GeneratedAt.After(newest.GeneratedAt) {
			newest, newestDoc, newestSig = p, doc, signedBy[st]
		}
	}
	if newest == nil {
		v.fail("evidence attestation unreadable: %s", strings.Join(problems, "; "))
		return nil
	}
	now := o.Now()
	age := now.Sub(newest.GeneratedAt)
	v.Evidence = &VerifiedEvidence{
		Verdict: newest.Verdict, GeneratedAt: newest.GeneratedAt, Age: roundAge(age),
		Signer: newest.Signer, Scanner: newest.Scanner, Tool: newest.Tool.Name + " " + newest.Tool.Version, Count: len(stmts),
	}
	if newest.Verdict != evidence.GO || !newestDoc.GO() {
		v.fail("attested verdict is %s, not GO", newestDoc.Verdict.Decision)
	}
	if newestDoc.Interrupted {
		v.fail("attested evidence comes from an interrupted run")
	}
	if newest.Image.Digest != t.Digest {
		v.fail("evidence attestation is about %s, not %s", newest.Image.Digest, t.Digest)
	}
	if !SubjectsCover(newestDoc.Subjects, t) {
		v.fail("the evidence's subjects do not include %s: the scan that passed was of another image", t.Digest)
	}
	if o.MaxAge > 0 && age > o.MaxAge {
		v.fail("evidence is %s old (generated %s), older than --max-age %s", roundAge(age), newest.GeneratedAt.Format(time.RFC3339), o.MaxAge)
	}
	if age < -5*time.Minute {
		v.fail("evidence claims to be generated in the future (%s)", newest.GeneratedAt.Format(time.RFC3339))
	}
	for _, p := range datesDisagree(newestDoc) {
		v.fail("%s", p)
	}
	if o.DenyWaived {
		for _, p := range loosened(newestDoc) {
			v.fail("--deny-waived: %s", p)
		}
	}
	if wantFP != "" && newest.Signer.Fingerprint != wantFP {
		v.fail("evidence names signer %s but verified with key %s", newest.Signer.Fingerprint, wantFP)
	}
	if wantFP == "" {
		v.checkCertSigner(newest.Signer, newestSig)
	}
	return newestDoc
}

// checkCertSigner holds a keyless evidence attestation to its own
// certificate: the signer the predicate names must be the certificate's
// identity, issuer and key, so that a policy matching several identities
// (a regexp) cannot be shown one signer while another signed.
func (v *Verification) checkCertSigner(named Identity, sig oci.Signature) {
	var cert *x509.Certificate
	if sig != nil {
		cert, _ = sig.Cert()
	}
	if cert == nil {
		v.fail("evidence attestation carries no certificate to match its signer %s against", named)
		return
	}
	sub, iss := certIdentity(cert)
	fp, _, err := fingerprint(cert.PublicKey)
	switch {
	case err != nil:
		v.fail("evidence attestation certificate: %v", err)
	case named.Mode != ModeKeyless || named.CertificateIdentity != sub || named.CertificateIssuer != iss:
		v.fail("evidence names signer %s but its certificate is for %s (issuer %s)", named, sub, iss)
	case named.Fingerprint != fp:
		v.fail("evidence names signing key %s but its certificate certifies key %s", named.Fingerprint, fp)
	}
}

func (v *Verification) checkVuln(t *Target, stmts []*rawStatement, _ []oci.Signature) {
	if len(stmts) == 0 {
		v.fail("no verified vulnerability attestation (%s) for %s", VulnPredicateType, t.Digest)
		return
	}
	var newest *VulnPredicate
	for _, st := range stmts {
		var p VulnPredicate
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			continue
		}
		if newest == nil || p.Metadata.ScanFinishedOn.After(newest.Metadata.ScanFinishedOn) {
			newest = &p
		}
	}
	if newest == nil {
		v.fail("vulnerability attestation unreadable")
		return
	}
	v.Vuln = &VerifiedVuln{Scanner: newest.Scanner.URI, DBVersion: newest.Scanner.DB.Version, ScanFinishedOn: newest.Metadata.ScanFinishedOn, Count: len(stmts)}
	if newest.Scanner.URI == "" || newest.Metadata.ScanFinishedOn.IsZero() || len(newest.Scanner.Result) == 0 {
		v.fail("vulnerability attestation lacks its scanner, scan time or result")
	}
}

// SubjectsCover reports whether evidence subjects name t: its digest, or
// for an index every platform image in it.
func SubjectsCover(subjects []checksSubject, t *Target) bool {
	digests := make([]string, 0, len(subjects))
	for _, s := range subjects {
		digests = append(digests, s.Digest)
	}
	if slices.Contains(digests, t.Digest) {
		return true
	}
	if !t.Index || len(t.Platforms) == 0 {
		return false
	}
	for _, p := range t.Platforms {
		if !slices.Contains(digests, p.Digest) {
			return false
		}
	}
	return true
}

func roundAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

// oneLine keeps cosign's multi-line errors to one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// maxScanToDocument is how long after its last scan an evidence document
// may say it was generated: the document is written as its run ends.
const maxScanToDocument = 24 * time.Hour

// datesDisagree cross-checks a document's generated_at against what its
// image scans record: a scan cannot end after the document was written,
// nor long before it, and a DB cannot be updated after the document. An
// edited generated_at (an old GO made to look fresh) fails here.
func datesDisagree(doc *evidence.Document) []string {
	var out []string
	at := doc.GeneratedAt
	for _, r := range doc.Checks {
		rec, err := evidence.ImageScans(r)
		if err != nil {
			out = append(out, fmt.Sprintf("evidence check %s: %v", r.Check, err))
			continue
		}
		for _, s := range rec.Scans {
			switch {
			case s.FinishedAt.After(at.Add(time.Second)):
				out = append(out, fmt.Sprintf("evidence generated_at %s is before its scan of %s finished (%s)", at.Format(time.RFC3339), s.Digest, s.FinishedAt.Format(time.RFC3339)))
			case at.Sub(s.FinishedAt) > maxScanToDocument:
				out = append(out, fmt.Sprintf("evidence generated_at %s is %s after its scan of %s finished (%s): the date does not belong to the scan", at.Format(time.RFC3339), roundAge(at.Sub(s.FinishedAt)), s.Digest, s.FinishedAt.Format(time.RFC3339)))
			}
		}
		if len(rec.Scans) > 0 && rec.DB.UpdatedAt.After(at.Add(time.Second)) {
			out = append(out, fmt.Sprintf("evidence check %s: its vulnerability DB was updated %s, after the evidence was generated (%s)", r.Check, rec.DB.UpdatedAt.Format(time.RFC3339), at.Format(time.RFC3339)))
		}
	}
	return out
}

// loosened lists what a GO relied on beyond the default policy's rules:
// a waived finding that would otherwise have blocked, or a block_on
// without critical or high.
func loosened(doc *evidence.Document) []string {
	var out []string
	strict := func(bo []string) bool { return slices.Contains(bo, "critical") && slices.Contains(bo, "high") }
	if !strict(doc.Settings.BlockOn) {
		out = append(out, fmt.Sprintf("the policy's block_on is %v, without critical or high", doc.Settings.BlockOn))
	}
	for _, r := range doc.Checks {
		var bo []string
		for _, s := range r.BlockOn {
			bo = append(bo, string(s))
		}
		if len(bo) > 0 && !strict(bo) {
			out = append(out, fmt.Sprintf("check %s's block_on is %v, without critical or high", r.Check, bo))
		}
		for _, f := range r.Findings {
			blocking := f.Severity == "critical" || f.Severity == "high" || slices.Contains(bo, string(f.Severity)) || slices.Contains(doc.Settings.BlockOn, string(f.Severity))
			if f.WaivedBy != "" && blocking {
				out = append(out, fmt.Sprintf("%s finding %s was waived (%s)", f.Severity, f.ID, f.WaivedBy))
			}
		}
	}
	return out
}
