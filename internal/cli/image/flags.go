package image

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/sign"
)

// registryFlags are the registry flag group of the image release commands.
type registryFlags struct {
	AllowHTTP      bool
	AllowInsecure  bool
	NetworkTimeout time.Duration
}

// AddFlags registers the registry flags.
func (o *registryFlags) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.AllowHTTP, "allow-http-registry", false, "allow plain HTTP to a registry that is not on loopback")
	f.BoolVar(&o.AllowInsecure, "allow-insecure-registry", false, "accept a registry's TLS certificate without verifying it (implies --allow-http-registry)")
	f.DurationVar(&o.NetworkTimeout, "network-timeout", 5*time.Minute, "deadline for resolving the digest, and separately for signing, attesting and verifying (registry, Fulcio, Rekor; each request is retried with bounded backoff)")
}

func (o *registryFlags) Options() sign.RegistryOptions {
	return sign.RegistryOptions{AllowHTTP: o.AllowHTTP, AllowInsecure: o.AllowInsecure}
}

func (o *registryFlags) validate() error {
	if o.NetworkTimeout <= 0 {
		return cli.Usagef("--network-timeout must be positive")
	}
	return nil
}

// signingFlags choose the key, or keyless signing, and the transparency
// log. There is deliberately no password flag: the password comes from
// COSIGN_PASSWORD or a prompt.
type signingFlags struct {
	Key string
	keylessFlags
	RekorURL string
}

// keylessFlags are keyless signing's: image release and sign, and image
// scan's signed --bundle take the same.
type keylessFlags struct {
	Keyless      bool
	IDToken      string
	FulcioURL    string
	OIDCIssuer   string
	OIDCClientID string
	OIDCProvider string
	TlogUpload   bool
	TrustedRoot  string
}

// AddFlags registers the signing flags.
func (o *signingFlags) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Key, "key", "", "sign with this private key: cosign.key, env://VAR, an https:// URL; with readiness-kms also a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://), k8s://ns/secret or gitlab://project")
	o.keylessFlags.AddFlags(cmd)
	f.StringVar(&o.RekorURL, "rekor-url", sign.DefaultRekorURL, "Rekor transparency log")
}

// AddFlags registers the keyless flags.
func (o *keylessFlags) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.Keyless, "keyless", false, "sign keylessly: an ephemeral key certified by Fulcio for the CI's OIDC identity, logged in Rekor (the identity becomes public)")
	f.StringVar(&o.IDToken, "identity-token", "", "keyless: an OIDC `TOKEN` or a file holding one (default: the CI's ambient token, e.g. GitHub Actions with id-token: write)")
	f.StringVar(&o.FulcioURL, "fulcio-url", sign.DefaultFulcioURL, "keyless: Fulcio certificate authority")
	f.StringVar(&o.OIDCIssuer, "oidc-issuer", sign.DefaultOIDCIssuer, "keyless: OIDC issuer")
	f.StringVar(&o.OIDCClientID, "oidc-client-id", "sigstore", "keyless: OIDC client ID")
	f.StringVar(&o.OIDCProvider, "oidc-provider", "", "keyless: use only this ambient token provider (github-actions, buildkite-agent, envvar, filesystem, google-workload-identity, spiffe)")
	f.BoolVar(&o.TlogUpload, "tlog-upload", true, "record signatures and attestations in Rekor; --tlog-upload=false only for private, offline setups (verify then needs --insecure-ignore-tlog)")
	f.StringVar(&o.TrustedRoot, "trusted-root", "", "keyless with a private Sigstore: its trusted_root.json `FILE` (Fulcio CA, CT logs, Rekor keys), as cosign's --trusted-root; default: the public Sigstore root via TUF")
}

// Options are the keyless options for sign.KeyOptions.
func (o *keylessFlags) Options() sign.KeylessOptions {
	return sign.KeylessOptions{FulcioURL: o.FulcioURL, IDToken: o.IDToken, OIDCIssuer: o.OIDCIssuer, OIDCClientID: o.OIDCClientID, OIDCProvider: o.OIDCProvider}
}

func (o *signingFlags) validate() error {
	switch {
	case o.Key == "" && !o.Keyless:
		return cli.Usagef("choose how to sign: --key cosign.key (or env://VAR, a KMS URI), or --keyless (Fulcio + Rekor, for CI)")
	case o.Key != "" && o.Keyless:
		return cli.Usagef("--key and --keyless exclude each other")
	}
	if o.Key == "" && !o.TlogUpload && o.TrustedRoot == "" {
		// Without a Rekor entry (or a timestamp) nothing proves when a
		// 10-minute Fulcio certificate signed; against the public
		// Sigstore that is never what anyone wants.
		return cli.Usagef("keyless signing without the transparency log is for a private Sigstore only: --tlog-upload=false with --keyless needs --trusted-root (and its signatures verify only while the Fulcio certificate is valid)")
	}
	if o.Key != "" && o.IDToken != "" {
		return cli.Usagef("--identity-token is for keyless signing; drop it or drop --key")
	}
	return nil
}

// signer loads the key (asking for its password) before any gate runs, so
// that a wrong password costs nothing.
func (a *app) signer(ctx context.Context, s signingFlags, r registryFlags) (*sign.Signer, error) {
	ko := sign.KeyOptions{KeyRef: s.Key, PassFunc: a.PassFunc(s.Key)}
	if s.Key == "" {
		ko.Keyless = s.Options()
	}
	sg, err := sign.New(ctx, sign.Options{Key: ko, Registry: r.Options(), TlogUpload: s.TlogUpload, RekorURL: s.RekorURL, TrustedRoot: s.TrustedRoot})
	if err != nil {
		return nil, cli.AsUsage(err)
	}
	return sg, nil
}

// invocation describes the CI run for the vulnerability attestation.
func (a *app) invocation() sign.Invocation {
	server, repo, run := a.IO.Getenv("GITHUB_SERVER_URL"), a.IO.Getenv("GITHUB_REPOSITORY"), a.IO.Getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || run == "" {
		return sign.Invocation{}
	}
	inv := sign.Invocation{URI: server + "/" + repo + "/actions/runs/" + run, EventID: run}
	if at := a.IO.Getenv("GITHUB_RUN_ATTEMPT"); at != "" {
		inv.URI += "/attempts/" + at
		inv.EventID += "-" + at
	}
	return inv
}
