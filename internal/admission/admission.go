// Package admission writes the policy a Kubernetes admission controller
// enforces so that only images with a fresh GO for their exact digest run:
// a Sigstore policy-controller ClusterImagePolicy or a Kyverno ClusterPolicy.
// Each demands what `readiness image verify` demands of the evidence
// attestation (internal/sign): signed by the team's signer, verdict GO, not
// from an interrupted run, about this digest, younger than the max age.
//
// It only writes documents; it imports no Kubernetes package. The policies
// are tested against the real evaluators in the separate module
// test/admission, so that their weight stays out of the release binary.
package admission

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
	"go.yaml.in/yaml/v3"
)

// Formats this package writes.
const (
	FormatPolicyController = "policy-controller"
	FormatKyverno          = "kyverno"
)

// Formats lists the formats, for help text and errors.
var Formats = []string{FormatPolicyController, FormatKyverno}

// EvidencePredicateType is readiness's evidence attestation type; it
// repeats sign.EvidencePredicateType so this package needs no cosign (a
// test holds the two equal).
const EvidencePredicateType = "https://readiness.dev/attestation/evidence/v1"

// DefaultRekorURL and DefaultFulcioURL are the public Sigstore instances.
const (
	DefaultRekorURL  = "https://rekor.sigstore.dev"
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
)

// DefaultName is the policy's metadata.name when none is given.
const DefaultName = "readiness-go-only"

// maxSkew is how far in the future a generated_at may lie (a signer's
// clock ahead of the cluster's), as image verify allows.
const maxSkew = 5 * time.Minute

// Options say what the policy demands.
type Options struct {
	// Format is FormatPolicyController or FormatKyverno.
	Format string
	// Name is the policy's metadata.name.
	Name string
	// KeyPEM is the team's cosign public key (PEM); empty for keyless.
	KeyPEM []byte
	// CertIdentity or CertIdentityRegexp, and CertOIDCIssuer or
	// CertOIDCIssuerRegexp, name a keyless signer.
	CertIdentity         string
	CertIdentityRegexp   string
	CertOIDCIssuer       string
	CertOIDCIssuerRegexp string
	// RekorURL is the transparency log that must hold the signatures;
	// IgnoreTlog drops that demand, for images signed with
	// --tlog-upload=false (key pairs only).
	RekorURL   string
	IgnoreTlog bool
	// FulcioURL is the keyless certificate authority.
	FulcioURL string
	// MaxAge is the oldest evidence admitted; it must be positive.
	MaxAge time.Duration
	// Images are the image globs the policy covers (ghcr.io/acme/*).
	Images []string
}

func (o Options) keyless() bool {
	return o.CertIdentity != "" || o.CertIdentityRegexp != "" || o.CertOIDCIssuer != "" || o.CertOIDCIssuerRegexp != ""
}

// dnsName is a Kubernetes object name (RFC 1123 subdomain).
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Validate says, in one sentence, what is wrong with o.
func (o Options) Validate() error {
	switch {
	case o.Format != FormatPolicyController && o.Format != FormatKyverno:
		return fmt.Errorf("unknown format %q; use %s", o.Format, strings.Join(Formats, " or "))
	case len(o.KeyPEM) == 0 && !o.keyless():
		return errors.New("say whose signature to demand: --key cosign.pub, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]")
	case len(o.KeyPEM) > 0 && o.keyless():
		return errors.New("use --key or the --certificate-identity/--certificate-oidc-issuer flags, not both")
	case o.keyless() && (o.CertIdentity == "") == (o.CertIdentityRegexp == ""):
		return errors.New("a keyless signer needs exactly one of --certificate-identity and --certificate-identity-regexp")
	case o.keyless() && (o.CertOIDCIssuer == "") == (o.CertOIDCIssuerRegexp == ""):
		return errors.New("a keyless signer needs exactly one of --certificate-oidc-issuer and --certificate-oidc-issuer-regexp")
	case o.keyless() && o.IgnoreTlog:
		return errors.New("keyless signatures without the transparency log verify only against a private Sigstore trust root, which this policy does not write; keep the log or use --key")
	case o.MaxAge <= 0:
		return fmt.Errorf("--max-age must be positive (got %s): an admission policy without an age limit admits an old GO forever", o.MaxAge)
	case len(o.Images) == 0:
		return errors.New("name the images the policy covers: --image 'ghcr.io/acme/*' (repeatable)")
	case !dnsName.MatchString(o.Name) || len(o.Name) > 253:
		return fmt.Errorf("--name %q is not a Kubernetes object name (lowercase letters, digits, '-' and '.')", o.Name)
	case !o.IgnoreTlog && o.RekorURL == "":
		return errors.New("--rekor-url is empty; name the transparency log, or pass --insecure-ignore-tlog for images signed with --tlog-upload=false")
	case o.keyless() && o.FulcioURL == "":
		return errors.New("--fulcio-url is empty; name the certificate authority of the keyless signer")
	}
	for _, g := range o.Images {
		if err := validateGlob(g); err != nil {
			return err
		}
	}
	for _, re := range []string{o.CertIdentityRegexp, o.CertOIDCIssuerRegexp} {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("regexp %q does not compile: %w", re, err)
		}
	}
	if o.Format == FormatKyverno {
		// These land inside JMESPath raw strings within Kyverno's {{ }}.
		for _, s := range []string{o.CertIdentity, o.CertIdentityRegexp, o.CertOIDCIssuer, o.CertOIDCIssuerRegexp} {
			if strings.ContainsAny(s, "'{}") {
				return fmt.Errorf("identity %q holds a quote or brace, which Kyverno's {{ }} expressions cannot carry", s)
			}
		}
	}
	if len(o.KeyPEM) > 0 {
		if _, err := keyFingerprint(o.KeyPEM); err != nil {
			return err
		}
	}
	return nil
}

// globChars are the characters policy-controller accepts in a glob
// (pkg/apis/glob); Kyverno's wildcards accept them too.
var globChars = regexp.MustCompile(`^[a-zA-Z0-9-_:/*.@]+$`)

// validateGlob refuses a glob that no image reference can match (empty,
// with spaces, capitals or characters the evaluators' globs reject, or not
// a reference once each wildcard stands for a name part), and the bare
// "*" and "*/*", which policy-controller reads as Docker Hub only and
// Kyverno as every image.
func validateGlob(g string) error {
	switch {
	case g == "":
		return errors.New("an --image glob is empty")
	case strings.IndexFunc(g, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("--image %q holds a space or control character, so it matches no image reference", g)
	case g == "*" || g == "*/*":
		return fmt.Errorf("--image %q means Docker Hub's images to policy-controller but every image to Kyverno; write '**' for every image or name the registry ('docker.io/*')", g)
	case !globChars.MatchString(g):
		return fmt.Errorf("--image %q holds a character the admission controllers' globs reject; use letters, digits, '-_.:/@', * within a path part and ** across parts", g)
	}
	probe := g
	if repo, digest, ok := strings.Cut(g, "@"); ok && strings.Contains(digest, "*") {
		probe = repo // a wildcard digest: judge the repository part
	}
	probe = strings.NewReplacer("**", "x/x", "*", "x").Replace(probe)
	_, err := name.ParseReference(probe)
	if err == nil && slices.Contains(strings.Split(probe, "/"), "") {
		err = errors.New("it has an empty path component")
	}
	if err != nil {
		return fmt.Errorf("--image %q matches no image reference (with each wildcard as a name part it reads %q: %v); write e.g. 'ghcr.io/acme/*'", g, probe, err)
	}
	return nil
}

// keyFingerprint parses a PEM public key and returns its fingerprint as
// readiness records a signer's ("sha256:" + hex SHA-256 of the DER
// SubjectPublicKeyInfo), so the policy can hold the evidence's named signer
// to the key that verified it.
func keyFingerprint(p []byte) (string, error) {
	block, rest := pem.Decode(p)
	if block == nil {
		return "", errors.New("--key holds no PEM block; give the cosign public key (cosign.pub)")
	}
	if block.Type != "PUBLIC KEY" {
		return "", fmt.Errorf("--key holds a %q PEM block; give the cosign public key (cosign.pub), not a private key or certificate", block.Type)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return "", errors.New("--key holds more than one PEM block; give one cosign public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("--key is not a public key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("--key: encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Generate validates o and returns the policy document as YAML.
func Generate(o Options) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var doc any
	var err error
	switch o.Format {
	case FormatPolicyController:
		doc, err = clusterImagePolicy(o)
	default:
		doc, err = kyvernoPolicy(o)
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(header(o))
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode %s policy: %w", o.Format, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode %s policy: %w", o.Format, err)
	}
	return buf.Bytes(), nil
}

func header(o Options) string {
	return fmt.Sprintf(`# Written by readiness admission policy (--format %s) for
#   %s
# Admits such an image only with a signature by the signer below and a
# readiness evidence attestation (%s)
# whose verdict is GO, not from an interrupted run, about the image's own
# digest, and younger than %s: what readiness image verify demands.
`, o.Format, strings.Join(o.Images, "\n#   "), EvidencePredicateType, o.MaxAge)
}

// signerFact is what the evidence predicate must name as its signer.
type signerFact struct {
	Fingerprint      string // key mode
	Identity, IdRe   string // keyless
	Issuer, IssuerRe string
}

func signerOf(o Options) (signerFact, error) {
	if len(o.KeyPEM) > 0 {
		fp, err := keyFingerprint(o.KeyPEM)
		return signerFact{Fingerprint: fp}, err
	}
	return signerFact{Identity: o.CertIdentity, IdRe: o.CertIdentityRegexp, Issuer: o.CertOIDCIssuer, IssuerRe: o.CertOIDCIssuerRegexp}, nil
}
