package sign

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/providers"
	"github.com/sigstore/fulcio/pkg/api"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/fulcioroots"
	"github.com/sigstore/sigstore/pkg/oauthflow"
	"github.com/sigstore/sigstore/pkg/signature"
)

// The Fulcio exchange, as cosign's cmd/cosign/cli/fulcio and
// fulcioverifier do it with the "token" flow, written against the
// libraries they use: importing those CLI packages links cosign's whole
// option set (registry credential helpers, Kubernetes, GitLab, GitHub
// clients), about 30 MB of binary.

// Public Sigstore instances, used by keyless signing unless overridden
// (cosign's options.DefaultFulcioURL, DefaultRekorURL, DefaultOIDCIssuerURL).
const (
	DefaultFulcioURL  = "https://fulcio.sigstore.dev"
	DefaultRekorURL   = "https://rekor.sigstore.dev"
	DefaultOIDCIssuer = "https://oauth2.sigstore.dev/auth"
)

// fulcioTimeout bounds one certificate request: Fulcio's legacy client
// takes no context.
const fulcioTimeout = 60 * time.Second

// fulcioCert is what Fulcio returned for the ephemeral key.
type fulcioCert struct {
	cert, chain, sct []byte
}

// requestCert reads the OIDC token (given, a file, or an ambient
// provider), proves possession of sv's key over the token's subject, asks
// Fulcio for a certificate, and verifies the certificate's SCT against the
// CT log keys of the trust root (TUF, or SIGSTORE_CT_LOG_PUBLIC_KEY_FILE).
func requestCert(ctx context.Context, o KeylessOptions, sv signature.SignerVerifier, trusted root.TrustedMaterial) (*fulcioCert, error) {
	fURL, err := url.Parse(o.FulcioURL)
	if err != nil {
		return nil, fmt.Errorf("fulcio URL %q: %w", o.FulcioURL, err)
	}
	raw, err := readIDToken(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("reading id token: %w", err)
	}
	// The static getter parses the token without verifying it (Fulcio
	// does) and never calls the issuer.
	tok, err := oauthflow.OIDConnect(o.OIDCIssuer, o.OIDCClientID, "", "", &oauthflow.StaticTokenGetter{RawToken: raw})
	if err != nil {
		return nil, fmt.Errorf("read the identity token: %w", err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, err
	}
	proof, err := sv.SignMessage(strings.NewReader(tok.Subject))
	if err != nil {
		return nil, fmt.Errorf("sign the proof of possession: %w", err)
	}
	client := api.NewClient(fURL, api.WithUserAgent("readiness"), api.WithTimeout(fulcioTimeout))
	resp, err := client.SigningCert(api.CertificateRequest{
		PublicKey:          api.Key{Content: pubPEM},
		SignedEmailAddress: proof,
	}, tok.RawString)
	if err != nil {
		return nil, fmt.Errorf("retrieving cert: %w", err)
	}
	if trusted != nil && len(resp.SCT) == 0 {
		// A private Sigstore's trust root names its CT logs: the SCT
		// embedded in the certificate must be signed by one of them (as
		// cosign's fulcioverifier does with --trusted-root).
		if err := verifyEmbeddedSCT(resp.CertPEM, resp.ChainPEM, trusted); err != nil {
			return nil, err
		}
		return &fulcioCert{cert: resp.CertPEM, chain: resp.ChainPEM, sct: resp.SCT}, nil
	}
	pubs, err := cosign.GetCTLogPubs(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting CTFE public keys: %w", err)
	}
	if err := cosign.VerifySCT(ctx, resp.CertPEM, resp.ChainPEM, resp.SCT, pubs); err != nil {
		return nil, fmt.Errorf("verifying SCT: %w", err)
	}
	return &fulcioCert{cert: resp.CertPEM, chain: resp.ChainPEM, sct: resp.SCT}, nil
}

// tokenAlgorithms are the JWS algorithms an OIDC token may use (RFC 7518).
var tokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384,
	jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// readIDToken returns o.IDToken when it is a token, the file it names
// otherwise, and with neither an ambient provider's token.
func readIDToken(ctx context.Context, o KeylessOptions) (string, error) {
	if o.IDToken != "" {
		if _, err := jose.ParseSigned(o.IDToken, tokenAlgorithms); err == nil {
			return o.IDToken, nil
		}
		b, err := os.ReadFile(o.IDToken)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	if !providers.Enabled(ctx) {
		return "", fmt.Errorf("no OIDC token and no ambient provider")
	}
	if o.OIDCProvider != "" {
		p, err := providers.ProvideFrom(ctx, o.OIDCProvider)
		if err != nil {
			return "", fmt.Errorf("getting provider: %w", err)
		}
		return p.Provide(ctx, "sigstore")
	}
	tok, err := providers.Provide(ctx, "sigstore")
	if err != nil {
		return "", fmt.Errorf("fetching ambient OIDC credentials: %w", err)
	}
	return tok, nil
}

// fulcioRoots returns Fulcio's root and intermediate CAs: those in the
// PEM file SIGSTORE_ROOT_FILE names, else the TUF trust root's, as
// cosign's fulcioroots package does.
func fulcioRoots() (roots, intermediates *x509.CertPool, err error) {
	file := os.Getenv("SIGSTORE_ROOT_FILE")
	if file == "" {
		if roots, err = fulcioroots.Get(); err != nil {
			return nil, nil, err
		}
		intermediates, err = fulcioroots.GetIntermediates()
		return roots, intermediates, err
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read SIGSTORE_ROOT_FILE: %w", err)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("parse SIGSTORE_ROOT_FILE: %w", err)
	}
	roots = x509.NewCertPool()
	for _, c := range certs {
		// Roots are self-signed; the rest are intermediates.
		if bytes.Equal(c.RawSubject, c.RawIssuer) {
			roots.AddCert(c)
			continue
		}
		if intermediates == nil {
			intermediates = x509.NewCertPool()
		}
		intermediates.AddCert(c)
	}
	return roots, intermediates, nil
}

// verifyEmbeddedSCT checks the certificate's embedded SCT against the CT
// logs of a trust root.
func verifyEmbeddedSCT(certPEM, chainPEM []byte, trusted root.TrustedMaterial) error {
	chain, err := cryptoutils.UnmarshalCertificatesFromPEM(chainPEM)
	if err != nil {
		return fmt.Errorf("unmarshalling cert chain from PEM for SCT verification: %w", err)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(certPEM)
	if err != nil || len(certs) < 1 {
		return fmt.Errorf("unmarshalling cert from PEM for SCT verification: %v", err)
	}
	if err := verify.VerifySignedCertificateTimestamp([][]*x509.Certificate{append(certs, chain...)}, 1, trusted); err != nil {
		return fmt.Errorf("verifying SCT using trusted root: %w", err)
	}
	return nil
}
