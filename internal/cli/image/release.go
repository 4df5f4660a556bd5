package image

import (
	"context"
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
	// SBOM attests a CycloneDX SBOM of every scanned image, produced with
	// the scan (live: the image-scan check runs with sbom: cyclonedx;
	// carried: the bundle must hold one), and refuses without it.
	SBOM     bool
	Signing  signingFlags
	Registry registryFlags
	Policy   cli.PolicyOptions
	Render   cli.RenderOptions
}

// AddFlags registers the flags shared by release and sign.
func (o *imageReleaseOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default: readiness.yaml when it exists; without one, only the image-scan check runs, with its defaults)")
	f.StringVar(&o.ScanCheck, "scan-check", "", "the image-scan check `NAME` to pin to the digest, when readiness.yaml has several")
	f.Var((*cli.DurationFlag)(&o.Timeout), "timeout", "deadline for the gates (default: the config's timeout)")
	f.StringVar(&o.ResultFile, "result", "", "write what the release did (digest, signer, tags, phase timings) as JSON to `FILE`")
	f.BoolVar(&o.SBOM, "sbom", false, "also attest a CycloneDX SBOM of every scanned image, written by trivy with the scan's own settings (sbom: cyclonedx), as an https://cyclonedx.org/bom attestation; refuse without one")
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
     attestation (with --sbom also trivy's CycloneDX SBOM of the same
     digest, written with the scan's settings), then verify them all.

A multi-platform index is signed as a whole, and only when every platform
image in it was scanned. Signing uses --key (cosign.key, env://, KMS) with
its password from COSIGN_PASSWORD or a prompt, or --keyless: Fulcio + Rekor
with the CI's OIDC token. If a push fails halfway, the command says what
was written and exits 1; run it again to complete the set (the signature
is reused, never duplicated).

Exit codes: 0 released, 1 NO-GO or not released, 2 usage or configuration error.`,
		Example: `  COSIGN_PASSWORD=… readiness image release --key cosign.key ghcr.io/acme/api:1.4.2
  readiness image release --keyless ghcr.io/acme/api:1.4.2   # in GitHub Actions, with id-token: write
  readiness image release --key cosign.key --tlog-upload=false --format json --output evidence.json registry.local/api:rc1
  readiness image release --key cosign.key --sbom ghcr.io/acme/api:1.4.2   # and a CycloneDX SBOM attestation`,
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
	signer, err := a.signer(ctx, opts.Signing, opts.Registry)
	if err != nil {
		return err
	}
	keyTime := time.Since(start)
	rel := &sign.Release{Signer: signer, Gates: ev.Gates, RequireSBOM: opts.SBOM, Invocation: a.invocation(), Timeout: opts.Registry.NetworkTimeout, Now: a.Now, Scanner: ev.Scanner}
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
	src := release.Source{Live: release.Live{
		Pipeline: a.Pipeline(), Config: cfg, ScanCheck: opts.ScanCheck, Policy: opts.Policy.Options(),
		Timeout: opts.Timeout, Insecure: opts.Registry.AllowHTTP || opts.Registry.AllowInsecure, SBOM: opts.SBOM, Judge: a.Judge,
	}}
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
			sbom := ""
			if v.SBOM != nil {
				sbom = fmt.Sprintf(", %d SBOM attestation(s)", len(v.SBOM.Images))
			}
			line("verified", fmt.Sprintf("%d signature(s), evidence %s, %d vulnerability attestation(s)%s", v.Signatures, v.Evidence.Verdict, vuln, sbom))
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
