package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/sign"
)

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
	f.BoolVar(&o.RequireSBOM, "sbom", false, "also require, for every image (each platform of an index), a CycloneDX SBOM attestation holding exactly the SBOM the GO evidence records (by sha256) for its scan")
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
block_on without critical and high; with --require-vuln-attestation
the cosign vulnerability attestation; and with --sbom, for every image, a
CycloneDX SBOM attestation that is byte for byte the SBOM the evidence
records for its scan (image release --sbom).

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
	if sb := v.SBOM; sb != nil && len(sb.Images) > 0 {
		line("sbom", fmt.Sprintf("%d CycloneDX attestation(s), each the SBOM the evidence records", len(sb.Images)))
	}
	for _, f := range v.Failures {
		line("✗", f)
	}
}
