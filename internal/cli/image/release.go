package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/pipeline"
	"github.com/readiness-dev/readiness/internal/release"
	"github.com/readiness-dev/readiness/internal/report"
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

// options are the keyless options for sign.KeyOptions.
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
func (a *app) Signer(ctx context.Context, s signingFlags, r registryFlags) (*sign.Signer, error) {
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
func (a *app) Invocation() sign.Invocation {
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

// imageReleaseOptions are the flags of `image release` and `image sign`.
type imageReleaseOptions struct {
	Image      string
	ConfigPath string
	ScanCheck  string
	Timeout    time.Duration
	Evidence   string // image sign only
	// EvidenceKey is the scanner's public key the --evidence envelope
	// must verify with, or EvidenceIdentity (exact or regexp) and
	// EvidenceIssuer its keyless certificate's (image sign only).
	EvidenceKey            string
	EvidenceIdentity       string
	EvidenceIdentityRegexp string
	EvidenceIssuer         string
	MaxAge                 cli.DurationFlag
	ResultFile             string
	Signing                signingFlags
	Registry               registryFlags
	Policy                 cli.PolicyOptions
	Render                 cli.RenderOptions
}

// AddFlags registers the flags shared by release and sign.
func (o *imageReleaseOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default: readiness.yaml when it exists; without one, only the image-scan check runs, with its defaults)")
	f.StringVar(&o.ScanCheck, "scan-check", "", "the image-scan check `NAME` to pin to the digest, when readiness.yaml has several")
	f.Var((*cli.DurationFlag)(&o.Timeout), "timeout", "deadline for the gates (default: the config's timeout)")
	f.StringVar(&o.ResultFile, "result", "", "write what the release did (digest, signer, tags, phase timings) as JSON to `FILE`")
	o.Signing.AddFlags(cmd)
	o.Registry.AddFlags(cmd)
	o.Policy.AddFlags(cmd)
	o.Render.AddFlags(cmd)
}

func (o *imageReleaseOptions) validate() error {
	if o.Timeout < 0 {
		return cli.Usagef("--timeout must be positive")
	}
	if err := o.Signing.validate(); err != nil {
		return err
	}
	if err := o.Registry.validate(); err != nil {
		return err
	}
	return o.Render.Validate()
}

// newImageReleaseCmd builds `readiness image release`.
func newImageReleaseCmd(app *app, runF func(context.Context, *imageReleaseOptions) error) *cobra.Command {
	opts := &imageReleaseOptions{}
	cmd := &cobra.Command{
		Use:   "release IMAGE",
		Short: "Resolve IMAGE's digest, run the gates on it, and only on GO sign it and attach the evidence",
		Long: `Release an image in an order that cannot be skipped:

  1. resolve IMAGE to its digest (a tag alone is never signed);
  2. run the configured gates, with the image-scan check pinned to that digest;
  3. on NO-GO: print the verdict, exit 1, and write nothing to the registry;
  4. on GO: sign the digest, attach trivy's report as a cosign vulnerability
     attestation and the evidence document as a readiness evidence
     attestation, then verify all three.

A multi-platform index is signed as a whole, and only when every platform
image in it was scanned. Signing uses --key (cosign.key, env://, KMS) with
its password from COSIGN_PASSWORD or a prompt, or --keyless: Fulcio + Rekor
with the CI's OIDC token. If a push fails halfway, the command says what
was written and exits 1; run it again to complete the set (the signature
is reused, never duplicated).

Exit codes: 0 released, 1 NO-GO or not released, 2 usage or configuration error.`,
		Example: `  COSIGN_PASSWORD=… readiness image release --key cosign.key ghcr.io/acme/api:1.4.2
  readiness image release --keyless ghcr.io/acme/api:1.4.2   # in GitHub Actions, with id-token: write
  readiness image release --key cosign.key --tlog-upload=false --format json --output evidence.json registry.local/api:rc1`,
		Args: cli.ExactArgs(1, "name one image to release: readiness image release IMAGE"),
		PreRunE: func(_ *cobra.Command, args []string) error {
			opts.Image = args[0]
			return opts.validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return app.imageReleaseRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

// newImageSignCmd builds `readiness image sign`.
func newImageSignCmd(app *app, runF func(context.Context, *imageReleaseOptions) error) *cobra.Command {
	opts := &imageReleaseOptions{MaxAge: cli.DurationFlag(24 * time.Hour)}
	cmd := &cobra.Command{
		Use:   "sign IMAGE",
		Short: "Sign IMAGE's digest, only with a GO evidence document for that exact digest",
		Long: `Sign an image and attach its attestations, like 'image release', but
from evidence already gathered: --evidence FILE names an evidence bundle the
scan job signed (readiness image scan --bundle FILE --key scan.key): a DSSE
envelope around the evidence document plus trivy's raw reports, addressed
by sha256, so it can be carried from a CI job to another machine.
--evidence-key names the scan job's public key; the envelope is verified
with it before anything in it is read, and an unsigned bundle or another
key's is refused. A bundle the scan job signed keylessly (image scan
--bundle FILE --keyless --tlog-upload=false) is trusted instead with
--evidence-certificate-identity (or -regexp) and
--evidence-certificate-oidc-issuer, against --trusted-root (default: the
public Sigstore root): the certificate's chain, SCT, identity and issuer,
then the signature. Offline its signing time is not proven: the
certificate must still be valid when the bundle is read. Nothing in it is believed even then: the image-scan
findings are rebuilt from the reports, each report must be trivy's report
of the exact manifest and config digest the registry serves, a scan run
under looser settings than this machine's image-scan check (ignore_unfixed,
fewer scanners, an older DB, suppressions this machine does not make,
another unknown_severity) is refused naming the difference, and the result
is judged with this machine's readiness.yaml and policy only. It must also
be younger than --max-age. Without --evidence the gates run on the spot,
exactly as 'image release' runs them.

There is no way to sign without a passing scan of the digest.

Exit codes: 0 signed, 1 refused or failed, 2 usage or configuration error.`,
		Example: `  readiness image scan --bundle bundle.json --key scan.key ghcr.io/acme/api@sha256:…
  readiness image sign --key cosign.key --evidence bundle.json --evidence-key scan.pub ghcr.io/acme/api@sha256:…
  readiness image sign --key cosign.key --evidence bundle.json --evidence-certificate-identity ci@acme.dev \
    --evidence-certificate-oidc-issuer https://accounts.google.com ghcr.io/acme/api@sha256:…`,
		Args: cli.ExactArgs(1, "name one image to sign: readiness image sign IMAGE"),
		PreRunE: func(_ *cobra.Command, args []string) error {
			opts.Image = args[0]
			if opts.MaxAge <= 0 {
				return cli.Usagef("--max-age must be positive")
			}
			if err := opts.validateEvidenceTrust(); err != nil {
				return err
			}
			return opts.validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return app.imageReleaseRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	cmd.Flags().StringVar(&opts.Evidence, "evidence", "", "a signed evidence bundle `FILE` (image scan --bundle FILE --key …) for IMAGE's digest")
	cmd.Flags().StringVar(&opts.EvidenceKey, "evidence-key", "", "the scanner's public `KEY` (cosign.pub, env://VAR, a KMS URI) the --evidence envelope must be signed with")
	cmd.Flags().StringVar(&opts.EvidenceIdentity, "evidence-certificate-identity", "", "keyless --evidence: the scan job's certificate identity (an email, or a workflow URI); with --evidence-certificate-oidc-issuer")
	cmd.Flags().StringVar(&opts.EvidenceIdentityRegexp, "evidence-certificate-identity-regexp", "", "keyless --evidence: a regexp the scan job's certificate identity must match (anchor it: ^…$)")
	cmd.Flags().StringVar(&opts.EvidenceIssuer, "evidence-certificate-oidc-issuer", "", "keyless --evidence: the OIDC issuer of the scan job's certificate (https://token.actions.githubusercontent.com for GitHub Actions); the trust root is --trusted-root's")
	cmd.Flags().Var(&opts.MaxAge, "max-age", "refuse --evidence older than `D` (e.g. 2h, 1d)")
	cmd.Flags().Lookup("trusted-root").Usage = "a private Sigstore's trusted_root.json `FILE` (Fulcio CAs, CT logs, Rekor keys), as cosign's --trusted-root: for --keyless signing, and the trust root a keyless --evidence's certificate must chain to; default: the public Sigstore root via TUF"
	return cmd
}

// validateEvidenceTrust demands exactly one kind of scanner trust with
// --evidence: a key, or a keyless identity and issuer.
func (o *imageReleaseOptions) validateEvidenceTrust() error {
	keyless := o.EvidenceIdentity != "" || o.EvidenceIdentityRegexp != "" || o.EvidenceIssuer != ""
	switch {
	case o.Evidence == "" && (o.EvidenceKey != "" || keyless):
		return cli.Usagef("--evidence-key and --evidence-certificate-* verify --evidence; name the bundle with --evidence FILE")
	case o.Evidence == "":
		return nil
	case o.EvidenceKey != "" && keyless:
		return cli.Usagef("trust the scanner's key (--evidence-key) or its keyless identity (--evidence-certificate-*), not both")
	case o.EvidenceKey == "" && !keyless:
		return cli.Usagef("--evidence needs the scanner's trust material: --evidence-key cosign.pub (image scan --bundle FILE --key …), or --evidence-certificate-identity and --evidence-certificate-oidc-issuer (image scan --bundle FILE --keyless); an unsigned bundle is never signed")
	case !keyless:
		return nil
	case o.EvidenceIdentity != "" && o.EvidenceIdentityRegexp != "":
		return cli.Usagef("give --evidence-certificate-identity or --evidence-certificate-identity-regexp, not both")
	case o.EvidenceIdentity == "" && o.EvidenceIdentityRegexp == "":
		return cli.Usagef("--evidence-certificate-oidc-issuer needs the scanner's identity too: --evidence-certificate-identity or --evidence-certificate-identity-regexp")
	case o.EvidenceIssuer == "":
		return cli.Usagef("the scanner's keyless identity needs its issuer too: --evidence-certificate-oidc-issuer (https://token.actions.githubusercontent.com for GitHub Actions)")
	}
	return nil
}

// evidenceTrust is whom --evidence must be signed by.
func (o *imageReleaseOptions) evidenceTrust() *sign.EvidenceTrust {
	return &sign.EvidenceTrust{
		Key: o.EvidenceKey, CertIdentity: o.EvidenceIdentity, CertIdentityRegexp: o.EvidenceIdentityRegexp,
		CertOIDCIssuer: o.EvidenceIssuer, TrustedRoot: o.Signing.TrustedRoot,
	}
}

// imageReleaseRun is `image release`, and `image sign` (with --evidence
// the gates are replaced by the carried bundle, re-judged by the release
// package). Every input is read and checked before the key is loaded or
// the registry contacted.
func (a *app) imageReleaseRun(ctx context.Context, opts *imageReleaseOptions) error {
	if _, err := sign.ParseRef(opts.Image, opts.Registry.Options()); err != nil {
		return cli.AsUsage(err)
	}
	if opts.Evidence != "" {
		if err := opts.Render.RefuseInputs(append([]string{opts.Evidence}, opts.Policy.Dirs...)); err != nil {
			return err
		}
	}
	ev, err := a.evidence(ctx, opts)
	if err != nil {
		var refused *sign.RefusedError
		if errors.As(err, &refused) {
			return &cli.ExitError{Code: cli.ExitNOGO, Err: fmt.Errorf("not released: %w", err)}
		}
		return err
	}
	for _, n := range ev.Notes {
		fmt.Fprintf(a.IO.ErrOut, "readiness: note: --evidence: %s\n", n)
	}
	if err := opts.Render.RefuseInputs(ev.Inputs); err != nil {
		return err
	}
	start := time.Now()
	signer, err := a.Signer(ctx, opts.Signing, opts.Registry)
	if err != nil {
		return err
	}
	keyTime := time.Since(start)
	rel := &sign.Release{Signer: signer, Gates: ev.Gates, Invocation: a.Invocation(), Timeout: opts.Registry.NetworkTimeout, Now: a.Now, Scanner: ev.Scanner}
	res, err := rel.Run(ctx, opts.Image)
	if res != nil {
		res.Phases.Key = keyTime
	}
	return a.reportRelease(res, err, opts)
}

// evidence prepares where the evidence comes from: the gates run on the
// spot, or the signed bundle of --evidence.
func (a *app) evidence(ctx context.Context, opts *imageReleaseOptions) (*release.Evidence, error) {
	cfg, err := a.imageScanConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	src := release.Source{
		Pipeline: a.Pipeline(), Config: cfg, ScanCheck: opts.ScanCheck, Policy: opts.Policy.Options(),
		Timeout: opts.Timeout, Insecure: opts.Registry.AllowHTTP || opts.Registry.AllowInsecure, Judge: a.Judge,
	}
	if opts.Evidence != "" {
		src.Evidence, src.Trust, src.MaxAge = opts.Evidence, opts.evidenceTrust(), opts.MaxAge.D()
	}
	return src.Prepare(ctx)
}

func (a *app) reportRelease(res *sign.ReleaseResult, runErr error, opts *imageReleaseOptions) error {
	var refErr *sign.RefError
	var exitErr *cli.ExitError
	var usage *pipeline.UsageError
	switch {
	case errors.As(runErr, &refErr):
		return cli.AsUsage(runErr)
	case errors.As(runErr, &exitErr), errors.As(runErr, &usage):
		return runErr
	}
	if res != nil && res.Evidence != nil {
		if err := a.RenderReleased(res.Evidence, opts.Render, releasedChains(res)); err != nil {
			return err
		}
	}
	if res != nil && opts.ResultFile != "" {
		if err := cli.WriteJSON(opts.ResultFile, res); err != nil {
			fmt.Fprintf(a.IO.ErrOut, "readiness: warning: --result: %v\n", err)
		}
	}
	// The release report goes where the verdict went, unless that is a
	// machine format on stdout.
	w := a.IO.Out
	if f := opts.Render.StdoutFormat(); f != "" && f != "text" {
		w = a.IO.ErrOut
	}
	switch {
	case errors.Is(runErr, sign.ErrNoGo):
		fmt.Fprintf(w, "\nreadiness: %s is NO-GO: nothing was signed, nothing was pushed\n", res.Target)
		return cli.ErrNOGO
	case runErr != nil:
		printReleaseSteps(w, res)
		return &cli.ExitError{Code: cli.ExitNOGO, Err: fmt.Errorf("not released: %w", runErr)}
	}
	fmt.Fprintf(w, "\nreadiness: released %s\n", res.Target)
	printReleaseSteps(w, res)
	return nil
}

// releasedChains says, for the HTML report, what this run signed and
// attested, keyed by every image digest the signature covers: the target,
// or each platform image of an index signed as a whole.
func releasedChains(res *sign.ReleaseResult) map[string]report.Release {
	if res == nil || res.Target == nil {
		return nil
	}
	var r report.Release
	if s := res.Signature; s != nil && (s.Written || s.Existing) {
		r.Signature = fmt.Sprintf("%s by %s", s.Tag, res.Signer)
		if res.Target.Index {
			r.Signature = fmt.Sprintf("index %s signed as a whole: %s", res.Target.Digest, r.Signature)
		}
		if v := res.Verification; v != nil && !v.OK() {
			r.Signature += "; verification FAILED: " + strings.Join(v.Failures, "; ")
			r.Unverified = true
		}
	}
	if at := res.Attestations; at != nil && at.Written {
		for _, p := range uniq(at.PredicateTypes) {
			r.Attestations = append(r.Attestations, p+" in "+at.Tag)
		}
	}
	if r.Signature == "" && len(r.Attestations) == 0 {
		return nil
	}
	out := map[string]report.Release{res.Target.Digest: r}
	for _, p := range res.Target.Platforms {
		out[p.Digest] = r
	}
	return out
}

// printReleaseSteps lists what was done, one line each.
func printReleaseSteps(w io.Writer, res *sign.ReleaseResult) {
	if res == nil || res.Target == nil {
		return
	}
	line := func(k, v string) { fmt.Fprintf(w, "  %-13s %s\n", k, v) }
	if res.Target.Index {
		var ps []string
		for _, p := range res.Target.Platforms {
			ps = append(ps, p.Platform)
		}
		line("index", fmt.Sprintf("signed as a whole; every platform scanned: %s", strings.Join(ps, ", ")))
	}
	line("signer", res.Signer.String())
	if s := res.Signature; s != nil {
		state := "not written"
		switch {
		case s.Written:
			state = "written"
		case s.Existing:
			state = "already there, reused"
		}
		line("signature", s.Tag+" ("+state+")")
	}
	if at := res.Attestations; at != nil {
		state := "not written"
		if at.Written {
			state = "written"
		}
		line("attestations", fmt.Sprintf("%s (%s): %s", at.Tag, state, strings.Join(uniq(at.PredicateTypes), ", ")))
	}
	if v := res.Verification; v != nil {
		if v.OK() {
			vuln := 0
			if v.Vuln != nil {
				vuln = v.Vuln.Count
			}
			line("verified", fmt.Sprintf("%d signature(s), evidence %s, %d vulnerability attestation(s)", v.Signatures, v.Evidence.Verdict, vuln))
		} else {
			line("verify", "FAILED: "+strings.Join(v.Failures, "; "))
		}
	}
	p := res.Phases
	line("phases", fmt.Sprintf("key %s · resolve %s · gates %s · sign %s · attest %s · verify %s",
		ms(p.Key), ms(p.Resolve), ms(p.Gates), ms(p.Sign), ms(p.Attest), ms(p.Verify)))
}

func uniq(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// imageVerifyOptions are the flags of `image verify`: sign's own options,
// plus the image, the output format and the registry flags.
type imageVerifyOptions struct {
	Image string
	sign.VerifyOptions
	Format string
	Net    registryFlags
}

// AddFlags registers the flags.
func (o *imageVerifyOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Key, "key", "", "public key to trust: cosign.pub, env://VAR, an https:// URL; with readiness-kms also a KMS URI, k8s:// or gitlab://")
	f.StringVar(&o.CertIdentity, "certificate-identity", "", "keyless: the signer's certificate identity (an email, or a workflow URI)")
	f.StringVar(&o.CertIdentityRegexp, "certificate-identity-regexp", "", "keyless: a regexp the certificate identity must match")
	f.StringVar(&o.CertOIDCIssuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer (https://token.actions.githubusercontent.com for GitHub Actions)")
	f.StringVar(&o.CertOIDCIssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regexp the OIDC issuer must match")
	f.BoolVar(&o.IgnoreTlog, "insecure-ignore-tlog", false, "do not require a Rekor entry (for images signed with --tlog-upload=false)")
	f.StringVar(&o.RekorURL, "rekor-url", sign.DefaultRekorURL, "Rekor transparency log")
	f.StringVar(&o.TrustedRoot, "trusted-root", "", "trust a private Sigstore: its trusted_root.json `FILE` (Fulcio CAs, CT logs, Rekor keys), as cosign's --trusted-root; default: the public Sigstore root via TUF")
	f.BoolVar(&o.RequireVuln, "require-vuln-attestation", false, "also require the cosign vulnerability attestation")
	f.Var((*cli.DurationFlag)(&o.MaxAge), "max-age", "reject evidence older than `D` (e.g. 12h, 7d); 0 disables the limit")
	f.BoolVar(&o.DenyWaived, "deny-waived", false, "reject a GO that relied on a waiver (readiness.yaml's or policy code's) or on a block_on without critical and high")
	f.StringVarP(&o.Format, "format", "f", "text", "output format: text or json")
	o.Net.AddFlags(cmd)
}

// verifyOptions are sign's options with the registry flags applied.
func (o *imageVerifyOptions) verifyOptions() sign.VerifyOptions {
	vo := o.VerifyOptions
	vo.Registry = o.Net.Options()
	return vo
}

// newImageVerifyCmd builds `readiness image verify`.
func newImageVerifyCmd(app *app, runF func(context.Context, *imageVerifyOptions) error) *cobra.Command {
	opts := &imageVerifyOptions{VerifyOptions: sign.VerifyOptions{MaxAge: sign.DefaultVerifyMaxAge}}
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Verify IMAGE's signature and that its attested verdict is a fresh GO for its exact digest",
		Long: `Verify, for IMAGE's digest: a valid signature by the trusted key (or keyless
identity); a valid evidence attestation whose verdict is GO, whose scanned
subjects include the digest, whose generated_at agrees with the scans and
DB it records, and that is younger than --max-age (30d by default; a NO-GO
writes nothing, so only an age limit retires an old GO; --max-age 0
disables it); with --deny-waived, that the GO relied on no waiver and no
block_on without critical and high; and with --require-vuln-attestation
the cosign vulnerability attestation.

This is what a deploy step or an admission controller runs before letting
an image in.

Exit codes: 0 verified, 1 not verified, 2 usage error.`,
		Example: `  readiness image verify --key cosign.pub --max-age 7d ghcr.io/acme/api:1.4.2
  readiness image verify --certificate-identity-regexp '^https://github.com/acme/api/' \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com ghcr.io/acme/api@sha256:…`,
		Args: cli.ExactArgs(1, "name one image to verify: readiness image verify IMAGE"),
		PreRunE: func(_ *cobra.Command, args []string) error {
			opts.Image = args[0]
			if opts.Format != "text" && opts.Format != "json" {
				return cli.Usagef("unknown --format %q; use text or json", opts.Format)
			}
			if err := opts.Net.validate(); err != nil {
				return err
			}
			if err := opts.verifyOptions().Validate(); err != nil {
				return cli.Usagef("%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return app.imageVerifyRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

func (a *app) imageVerifyRun(ctx context.Context, opts *imageVerifyOptions) error {
	vo := opts.verifyOptions()
	vo.Now = a.Now
	rctx, cancel := context.WithTimeout(ctx, opts.Net.NetworkTimeout)
	defer cancel()
	// The key first: a bad key is a usage error (exit 2) whatever the
	// image reference, and costs no registry round trip.
	verifier, err := sign.NewVerifier(rctx, vo)
	if err != nil {
		return cli.AsUsage(err)
	}
	t, err := sign.Resolve(rctx, opts.Image, vo.Registry)
	if err != nil {
		var re *sign.RefError
		if errors.As(err, &re) {
			return cli.AsUsage(err)
		}
		return &cli.ExitError{Code: cli.ExitNOGO, Err: fmt.Errorf("not verified: %w", err)}
	}
	v, err := verifier.Verify(rctx, t)
	if err != nil {
		var ke *sign.KeyError
		if errors.As(err, &ke) {
			return cli.AsUsage(err)
		}
		return &cli.ExitError{Code: cli.ExitNOGO, Err: fmt.Errorf("not verified: %w", err)}
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(a.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		printVerification(a.IO.Out, v, a.Now())
	}
	if !v.OK() {
		return cli.ErrNOGO
	}
	return nil
}

func printVerification(w io.Writer, v *sign.Verification, now time.Time) {
	if v.OK() {
		fmt.Fprintf(w, "readiness: verified %s\n", v.Image)
	} else {
		fmt.Fprintf(w, "readiness: NOT verified %s\n", v.Image)
	}
	line := func(k, val string) { fmt.Fprintf(w, "  %-10s %s\n", k, val) }
	line("signature", fmt.Sprintf("%d valid", v.Signatures))
	if e := v.Evidence; e != nil {
		line("evidence", fmt.Sprintf("%s, generated %s (%s ago) by %s, signed by %s", e.Verdict, e.GeneratedAt.Format(time.RFC3339), e.Age, e.Tool, e.Signer.String()))
		if e.Scanner != nil {
			how := " (the signed bundle's key)"
			if e.Scanner.Mode == sign.ModeKeyless {
				how = " (the signed bundle's certificate)"
			}
			line("scanned by", e.Scanner.String()+how)
		}
	}
	if v.MaxAge == "none" {
		line("max age", "none (--max-age 0)")
	} else if v.MaxAge != "" {
		line("max age", v.MaxAge+" (--max-age; 0 disables it)")
	}
	if vu := v.Vuln; vu != nil {
		line("vuln", fmt.Sprintf("%d attestation(s), %s, DB schema %s, scan finished %s", vu.Count, vu.Scanner, vu.DBVersion, vu.ScanFinishedOn.Format(time.RFC3339)))
	}
	for _, f := range v.Failures {
		line("✗", f)
	}
}
