package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/pipeline"
	"github.com/readiness-dev/readiness/internal/release"
	"github.com/readiness-dev/readiness/internal/sign"
)

// newImageCmd builds `readiness image`.
func newImageCmd(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Scan container images (and release, sign and verify them)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		newImageScanCmd(app, nil),
		newImageReleaseCmd(app, nil),
		newImageSignCmd(app, nil),
		newImageVerifyCmd(app, nil),
		// image subcommands: one line each
	)
	return cmd
}

// imageScanOptions are the flags of `readiness image scan`.
type imageScanOptions struct {
	Images        []string
	ConfigPath    string
	Check         string
	Inputs        []string
	OCILayouts    []string
	Trivy         string
	Severity      []string
	IgnoreUnfixed bool
	Scanners      []string
	SkipDBUpdate  bool
	CacheDir      string
	Platforms     []string
	ReportDir     string
	SBOM          bool
	Bundle        string
	// Key signs the bundle as a DSSE envelope; Signing.Keyless instead
	// as a Sigstore bundle with a Fulcio certificate.
	Key     string
	Signing keylessFlags
	Timeout time.Duration
	Policy  cli.PolicyOptions
	Render  cli.RenderOptions

	// changed reports whether a flag was given (flags override the config).
	changed func(string) bool
}

// AddFlags registers the flags.
func (o *imageScanOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` for waivers, policy and image-scan defaults (default: readiness.yaml when it exists)")
	f.StringVar(&o.Check, "check", "", "take defaults from the image-scan check `NAME` (needed when the config has several)")
	f.StringArrayVar(&o.Inputs, "input", nil, "scan a docker image tarball `FILE.tar` (repeatable)")
	f.StringArrayVar(&o.OCILayouts, "oci-layout", nil, "scan every image in the OCI layout `DIR` (repeatable)")
	f.StringVar(&o.Trivy, "trivy", "", "trivy binary `PATH` (default: trivy on PATH)")
	f.StringSliceVar(&o.Severity, "severity", nil, "severities that block, e.g. CRITICAL,HIGH (default: the policy's, critical and high)")
	f.BoolVar(&o.IgnoreUnfixed, "ignore-unfixed", false, "leave out vulnerabilities that have no fixed version")
	f.StringSliceVar(&o.Scanners, "scanners", nil, "trivy scanners: vuln (default), secret, misconfig")
	f.BoolVar(&o.SkipDBUpdate, "skip-db-update", false, "offline: trivy downloads no DB and calls no API; the DB in the cache dir must exist")
	f.StringVar(&o.CacheDir, "cache-dir", "", "trivy cache `DIR` (its vulnerability DB lives there)")
	f.StringSliceVar(&o.Platforms, "platform", nil, "scan only these platforms of a multi-platform image, e.g. linux/amd64 (repeatable)")
	f.StringVar(&o.ReportDir, "report-dir", "", "save trivy's raw JSON reports in `DIR` (default: a new temp dir)")
	f.BoolVar(&o.SBOM, "sbom", false, "also have trivy write a CycloneDX SBOM of every scanned image with the scan's settings (sbom: cyclonedx); --bundle carries it for 'image sign --sbom'")
	f.StringVar(&o.Bundle, "bundle", "", "also write the evidence with trivy's raw reports (by sha256) as one portable `FILE` for 'image sign --evidence'")
	f.StringVar(&o.Key, "key", "", "sign the --bundle with this private `KEY` (cosign.key, env://VAR, a KMS URI) as a DSSE envelope, as 'image sign --evidence' requires; its password comes from COSIGN_PASSWORD or a prompt")
	o.Signing.AddFlags(cmd)
	f.Lookup("keyless").Usage = "sign the --bundle keylessly instead: an ephemeral key certified by Fulcio for the CI's OIDC identity; the certificate is stored with the envelope (the identity becomes visible to whoever holds the bundle)"
	f.Lookup("tlog-upload").Usage = "record the signature in Rekor; not supported yet for the --bundle: with --keyless give --tlog-upload=false (image sign then checks the certificate when it reads the bundle, so sign within its lifetime)"
	f.Var((*cli.DurationFlag)(&o.Timeout), "timeout", "deadline for the scan (default: the check's timeout, 10m)")
	o.Policy.AddFlags(cmd)
	o.Render.AddFlags(cmd)
}

// newImageScanCmd builds `readiness image scan`. runF replaces the behaviour
// in tests of flag parsing.
func newImageScanCmd(app *app, runF func(context.Context, *imageScanOptions) error) *cobra.Command {
	opts := &imageScanOptions{}
	cmd := &cobra.Command{
		Use:   "scan [IMAGE...]",
		Short: "Scan images with trivy, by digest, and print GO or NO-GO",
		Long: `Scan container images with trivy and judge the findings with the policy.

A registry reference is resolved to its digest first, and a multi-platform
index is scanned for every platform it holds (or those given with
--platform). Waivers, block_on and the image-scan check's with: settings come
from readiness.yaml (--config); flags override them.

Exit codes: 0 GO, 1 NO-GO, 2 usage or configuration error.`,
		Example: `  readiness image scan ghcr.io/acme/api:1.4.2
  readiness image scan --input api.tar --format sarif --output trivy.sarif
  readiness image scan --oci-layout ./oci --platform linux/arm64
  readiness image scan --skip-db-update --cache-dir .cache/trivy ghcr.io/acme/api@sha256:…`,
		Args: cobra.ArbitraryArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			opts.changed = cmd.Flags().Changed
			if len(args)+len(opts.Inputs)+len(opts.OCILayouts) == 0 {
				return cli.Usagef("name an image to scan: IMAGE, --input FILE.tar or --oci-layout DIR (see 'readiness image scan --help')")
			}
			if opts.Timeout < 0 {
				return cli.Usagef("--timeout must be positive")
			}
			if err := opts.validateSigning(cmd.Flags().Changed); err != nil {
				return err
			}
			if _, err := blockOn(opts.Severity); err != nil {
				return err
			}
			return opts.Render.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return app.imageScanRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

// validateSigning checks how the --bundle is signed: with --key or
// --keyless (not both), and keyless flags only with --keyless.
func (opts *imageScanOptions) validateSigning(changed func(string) bool) error {
	k := opts.Signing
	switch {
	case opts.Key != "" && k.Keyless:
		return cli.Usagef("--key and --keyless exclude each other: sign the bundle with one")
	case opts.Key != "" && opts.Bundle == "":
		return cli.Usagef("--key signs the bundle; name it with --bundle FILE")
	case k.Keyless && opts.Bundle == "":
		return cli.Usagef("--keyless signs the bundle; name it with --bundle FILE")
	case k.Keyless && k.TlogUpload:
		return cli.Usagef("image scan --keyless does not record the bundle in Rekor yet: add --tlog-upload=false (image sign then accepts the bundle only while its Fulcio certificate is valid, 10 minutes for the public Fulcio)")
	}
	if !k.Keyless {
		for _, name := range []string{"identity-token", "fulcio-url", "oidc-issuer", "oidc-client-id", "oidc-provider", "trusted-root", "tlog-upload"} {
			if changed(name) {
				return cli.Usagef("--%s is for signing the bundle keylessly: add --keyless --bundle FILE, or drop it", name)
			}
		}
	}
	return nil
}

// blockOn maps --severity (trivy's or readiness's names, any case) onto
// the severities that block.
func blockOn(in []string) ([]checks.Severity, error) {
	var out []checks.Severity
	for _, s := range in {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "unknown":
			return nil, cli.Usagef("--severity UNKNOWN: vulnerabilities trivy rates UNKNOWN are reported as medium (unknown_severity in readiness.yaml); add MEDIUM to block on them")
		case !checks.Severity(s).Valid():
			return nil, cli.Usagef("--severity %q is not a severity; use CRITICAL, HIGH, MEDIUM, LOW or INFO", s)
		}
		out = append(out, checks.Severity(s))
	}
	return out, nil
}

// imageScanRun runs the image-scan check of readiness.yaml (or a default
// one) with the flags laid over its settings, through the shared pipeline.
func (a *app) imageScanRun(ctx context.Context, opts *imageScanOptions) error {
	cfg, err := a.imageScanConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	spec, err := pipeline.SpecOrDefault(cfg, release.ScanType, "--check", opts.Check)
	if err != nil {
		return err
	}
	if opts.Timeout > 0 {
		spec.Timeout = config.Duration(opts.Timeout)
	}
	if block, _ := blockOn(opts.Severity); len(block) > 0 {
		spec.BlockOn = nil
		for _, b := range block {
			spec.BlockOn = append(spec.BlockOn, string(b))
		}
	}
	sel := pipeline.Selection{
		Config: cfg, Only: []string{spec.Name}, Specs: []config.CheckSpec{spec}, Policy: opts.Policy.Options(),
		Overrides: map[string]config.Overrides{spec.Name: opts.overrides()},
	}
	if opts.Timeout > 0 {
		// The scan is the whole run: --timeout bounds both, or the
		// config's run timeout would cut a scan the flag allowed.
		sel.Timeout, sel.CheckTimeoutFlag = opts.Timeout, "--timeout"
	}
	if opts.Bundle == "" {
		return a.Execute(ctx, sel, opts.Render)
	}
	if err := opts.Render.RefuseInputs(sel.Inputs()); err != nil {
		return err
	}
	// The key is loaded (its password asked) before the scan, so that a
	// wrong password costs nothing.
	var signer *sign.Signer
	switch {
	case opts.Key != "":
		if signer, err = sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: opts.Key, PassFunc: a.PassFunc(opts.Key)}}); err != nil {
			return cli.AsUsage(err)
		}
	case opts.Signing.Keyless:
		// The token is read, and Fulcio asked, only after the scan.
		so := sign.Options{Key: sign.KeyOptions{Keyless: opts.Signing.Options()}, TrustedRoot: opts.Signing.TrustedRoot, TlogUpload: opts.Signing.TlogUpload}
		if signer, err = sign.New(ctx, so); err != nil {
			return cli.AsUsage(err)
		}
	}
	doc, err := a.Judge(ctx, sel)
	if err != nil {
		return err
	}
	published := a.Publish(doc, opts.Render)
	if err := writeBundle(ctx, opts.Bundle, doc, signer); err != nil {
		return &cli.ExitError{Code: cli.ExitNOGO, Err: fmt.Errorf("--bundle %s was not written: %w", opts.Bundle, err)}
	}
	return published
}

// writeBundle writes doc with the reports its scans name, read back from
// this machine and checked against the sha256 each scan recorded; with a
// signer, as a DSSE envelope whose in-toto subjects are the scanned
// digests.
func writeBundle(ctx context.Context, path string, doc *evidence.Document, signer *sign.Signer) error {
	b, err := evidence.CollectReports(doc)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		return err
	}
	data := buf.Bytes()
	if signer != nil {
		if data, err = signer.Seal(ctx, sign.BundlePredicateType, data, release.ScannedSubjects(doc)); err != nil {
			return err
		}
	}
	return os.WriteFile(path, data, 0o644)
}

// imageScanConfig loads --config, or readiness.yaml when it exists.
func (a *app) imageScanConfig(path string) (*config.Config, error) {
	if path != "" {
		return a.OptionalConfig(path, true)
	}
	return a.OptionalConfig("readiness.yaml", false)
}

// scanFlags names the flag that sets each `with:` key, for messages. Keys
// that are also plain words (trivy, scanners) are left out: a message about
// the trivy binary is not about the --trivy flag.
var scanFlags = map[string]string{
	"oci_layouts": "--oci-layout", "ignore_unfixed": "--ignore-unfixed", "skip_db_update": "--skip-db-update",
	"cache_dir": "--cache-dir", "report_dir": "--report-dir",
}

// overrides lays the flags over the image-scan check's settings: images
// named on the command line replace the configured ones; other flags
// override only when given. Paths are the user's, relative to where they
// stand.
func (opts *imageScanOptions) overrides() config.Overrides {
	abs := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i], _ = filepath.Abs(p)
		}
		return out
	}
	absOne := func(p string) string {
		a, _ := filepath.Abs(p)
		return a
	}
	set := map[string]any{"images": append([]string{}, opts.Images...), "inputs": abs(opts.Inputs), "oci_layouts": abs(opts.OCILayouts)}
	changed := opts.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	if changed("trivy") {
		t := opts.Trivy
		if strings.ContainsRune(t, filepath.Separator) {
			t = absOne(t)
		}
		set["trivy"] = t
	}
	if changed("ignore-unfixed") {
		set["ignore_unfixed"] = opts.IgnoreUnfixed
	}
	if changed("scanners") {
		set["scanners"] = opts.Scanners
	}
	if changed("skip-db-update") {
		set["skip_db_update"] = opts.SkipDBUpdate
	}
	if changed("cache-dir") {
		set["cache_dir"] = absOne(opts.CacheDir)
	}
	if changed("platform") {
		set["platforms"] = opts.Platforms
	}
	if changed("report-dir") {
		set["report_dir"] = absOne(opts.ReportDir)
	}
	if changed("sbom") && opts.SBOM {
		set["sbom"] = evidence.SBOMFormatCycloneDX
	}
	return config.Overrides{Set: set, Flags: scanFlags}
}
