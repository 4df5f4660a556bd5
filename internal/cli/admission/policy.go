package admission

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/admission"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/sign"
)

// admissionPolicyOptions are the flags of `readiness admission policy`:
// the signer as image verify names it, the age limit, the images, and
// where the document goes.
type admissionPolicyOptions struct {
	Format               string
	Name                 string
	Key                  string
	CertIdentity         string
	CertIdentityRegexp   string
	CertOIDCIssuer       string
	CertOIDCIssuerRegexp string
	RekorURL             string
	IgnoreTlog           bool
	FulcioURL            string
	MaxAge               cli.DurationFlag
	Images               []string
	Output               string

	// keyPEM is --key's content, read while the flags are judged.
	keyPEM []byte
}

// AddFlags registers the flags.
func (o *admissionPolicyOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", admission.FormatPolicyController, "policy to write: "+strings.Join(admission.Formats, " (a Sigstore ClusterImagePolicy) or ")+" (a Kyverno ClusterPolicy)")
	f.StringVar(&o.Name, "name", admission.DefaultName, "the policy's metadata.name")
	f.StringVar(&o.Key, "key", "", "the team's cosign public key `FILE` (cosign.pub), written into the policy")
	f.StringVar(&o.CertIdentity, "certificate-identity", "", "keyless: the signer's certificate identity (an email, or a workflow URI)")
	f.StringVar(&o.CertIdentityRegexp, "certificate-identity-regexp", "", "keyless: a regexp the certificate identity must match")
	f.StringVar(&o.CertOIDCIssuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer (https://token.actions.githubusercontent.com for GitHub Actions)")
	f.StringVar(&o.CertOIDCIssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regexp the OIDC issuer must match")
	f.StringVar(&o.RekorURL, "rekor-url", admission.DefaultRekorURL, "the transparency log the signatures must be in")
	f.BoolVar(&o.IgnoreTlog, "insecure-ignore-tlog", false, "do not require a Rekor entry (key pairs only, for images signed with --tlog-upload=false)")
	f.StringVar(&o.FulcioURL, "fulcio-url", admission.DefaultFulcioURL, "keyless: the certificate authority")
	f.Var(&o.MaxAge, "max-age", "admit evidence no older than `D` (e.g. 720h, 30d); must be positive")
	f.StringArrayVar(&o.Images, "image", nil, "an image `GLOB` the policy covers (ghcr.io/acme/*, ** spans path parts); repeatable")
	f.StringVarP(&o.Output, "output", "o", "", "write the policy to `FILE` instead of stdout")
}

// options are the generator's options.
func (o *admissionPolicyOptions) options() admission.Options {
	return admission.Options{
		Format: o.Format, Name: o.Name,
		CertIdentity: o.CertIdentity, CertIdentityRegexp: o.CertIdentityRegexp,
		CertOIDCIssuer: o.CertOIDCIssuer, CertOIDCIssuerRegexp: o.CertOIDCIssuerRegexp,
		RekorURL: o.RekorURL, IgnoreTlog: o.IgnoreTlog, FulcioURL: o.FulcioURL,
		MaxAge: o.MaxAge.D(), Images: o.Images, KeyPEM: o.keyPEM,
	}
}

// newAdmissionPolicyCmd builds `readiness admission policy`. runF replaces
// the behaviour in tests of flag parsing.
func newAdmissionPolicyCmd(app *app, runF func(context.Context, *admissionPolicyOptions) error) *cobra.Command {
	opts := &admissionPolicyOptions{MaxAge: cli.DurationFlag(sign.DefaultVerifyMaxAge)}
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Write a policy-controller or Kyverno policy that admits only images with a fresh GO for their digest",
		Long: `Write the policy a cluster enforces so that an image matching --image runs
only with what readiness image verify demands: a signature by the team's
signer (--key, or a keyless --certificate-identity[-regexp] with
--certificate-oidc-issuer[-regexp]) and a readiness evidence attestation by
the same signer whose verdict is GO, not from an interrupted run, about the
image's own digest, and younger than --max-age (30d by default, as verify).

--format policy-controller writes a Sigstore ClusterImagePolicy (two
authorities, signature and evidence, both required by its policy block);
--format kyverno writes a Kyverno ClusterPolicy with verifyImages.

Signatures must be in the transparency log (--rekor-url) unless
--insecure-ignore-tlog, for key pairs that sign with --tlog-upload=false.

Exit codes: 0 written, 2 usage error.`,
		Example: `  readiness admission policy --format policy-controller --key cosign.pub --max-age 720h --image 'ghcr.io/acme/*' > cip.yaml
  readiness admission policy --format kyverno -o kyverno.yaml --image 'ghcr.io/acme/**' \
      --certificate-identity-regexp '^https://github.com/acme/api/' \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			// The key is an input like a flag: unreadable or not a public
			// key is a usage error, before anything is written.
			if opts.Key != "" {
				pem, err := os.ReadFile(opts.Key)
				if err != nil {
					return cli.Usagef("read --key: %v", cli.UnwrapFSError(err))
				}
				opts.keyPEM = pem
			}
			if err := opts.options().Validate(); err != nil {
				return cli.Usagef("%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return app.policyRun(opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

// policyRun generates the document and writes it.
func (a *app) policyRun(opts *admissionPolicyOptions) error {
	doc, err := admission.Generate(opts.options())
	if err != nil {
		return cli.Usagef("%v", err)
	}
	if opts.Output == "" {
		_, err := a.IO.Out.Write(doc)
		return err
	}
	if err := os.WriteFile(opts.Output, doc, 0o644); err != nil {
		// Nothing was judged, so not a NO-GO: exit 2, like an unreadable key.
		return cli.Usagef("write %s: %v", opts.Output, cli.UnwrapFSError(err))
	}
	return nil
}
