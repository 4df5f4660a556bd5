package sign

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Key references are loaded here rather than by cosign's pkg/signature:
// that package links Kubernetes, GitLab and GitHub clients for k8s://,
// gitlab:// and github:// references (a third of the binary). Files,
// env://VAR and http(s):// URLs are read here, as cosign reads them; every
// other scheme is a provider reference (provider_on.go, provider_off.go).

// maxKeyBytes bounds a key read from a URL; a PEM key is a few KB.
const maxKeyBytes = 1 << 20

// isProviderRef reports whether ref names a key held by a provider (a
// KMS, a Kubernetes secret, a GitLab variable, a PKCS#11 token) rather than
// PEM bytes in a file, a variable or at a URL.
func isProviderRef(ref string) bool {
	if strings.HasPrefix(ref, "pkcs11:") {
		return true
	}
	scheme, _, ok := strings.Cut(ref, "://")
	if !ok {
		return false
	}
	switch scheme {
	case "env", "http", "https":
		return false
	}
	return true
}

// signerFromRef loads a private key: PEM (cosign's encrypted format, or
// PKCS#8/PKCS#1/SEC1 as cosign accepts) decrypted with the password pf
// supplies, or a provider's key.
func signerFromRef(ctx context.Context, ref string, pf cosign.PassFunc) (signature.SignerVerifier, error) {
	if isProviderRef(ref) {
		return providerSigner(ctx, ref, pf)
	}
	raw, err := readKeyRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	pass := []byte{}
	if pf != nil {
		if pass, err = pf(false); err != nil {
			return nil, err
		}
	}
	return cosign.LoadPrivateKey(raw, pass, nil)
}

// verifierFromRef loads a public key (PEM) or a provider's public key.
func verifierFromRef(ctx context.Context, ref string) (signature.Verifier, error) {
	if isProviderRef(ref) {
		return providerVerifier(ctx, ref)
	}
	raw, err := readKeyRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("pem to public key: %w", err)
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// readKeyRef reads a file, env://VAR or an http(s) URL, under ctx.
func readKeyRef(ctx context.Context, ref string) ([]byte, error) {
	scheme, rest, ok := strings.Cut(ref, "://")
	if !ok {
		return os.ReadFile(filepath.Clean(ref))
	}
	switch scheme {
	case "env":
		v, found := os.LookupEnv(rest)
		if !found {
			return nil, fmt.Errorf("environment variable %s is not set", rest)
		}
		return []byte(v), nil
	case "http", "https":
		if scheme == "http" && !loopbackURL(ref) {
			// A key fetched in the clear can be swapped on the way, and with
			// it what verifies (cosign accepts it; readiness does not).
			return nil, fmt.Errorf("key reference %s is plain http: a key fetched unencrypted can be replaced in transit; use https://, a file or env://", ref)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
		if err != nil {
			return nil, err
		}
		resp, err := keyClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch %s: %s", ref, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, maxKeyBytes))
	}
	return nil, fmt.Errorf("unsupported key reference scheme %s://", scheme)
}

// keyClient fetches keys; a redirect may not downgrade to plain http off
// this machine (an https:// reference must not end up fetched in the clear).
var keyClient = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if req.URL.Scheme != "https" && !loopbackURL(req.URL.String()) {
		return fmt.Errorf("%s redirects to %s, plain http: a key fetched unencrypted can be replaced in transit", via[0].URL, req.URL)
	}
	return nil
}}

// loopbackURL reports whether u's host is this machine (localhost or a
// loopback address), where nothing sits between client and server.
func loopbackURL(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := parsed.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
