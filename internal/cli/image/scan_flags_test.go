package image

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/imagescan"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/sign"
)

func TestNewImageScanCmdFlags(t *testing.T) {
	streams, _, _ := cli.Test()
	app := &app{&cli.App{IO: streams, Now: time.Now}}
	var got *imageScanOptions
	cmd := newImageScanCmd(app, func(_ context.Context, o *imageScanOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"ghcr.io/acme/api:1", "r/b@sha256:0123456789012345678901234567890123456789012345678901234567890123",
		"--input", "a.tar", "--oci-layout", "oci", "--trivy", "/opt/trivy", "--severity", "CRITICAL,high",
		"--ignore-unfixed", "--scanners", "vuln,secret", "--skip-db-update", "--cache-dir", "/c",
		"--platform", "linux/amd64", "--platform", "linux/arm64", "--report-dir", "/r", "--sbom", "--timeout", "3m",
		"--format", "sarif", "--policy", "p", "--config", "x.yaml"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	got.changed = nil
	want := &imageScanOptions{
		Images:     []string{"ghcr.io/acme/api:1", "r/b@sha256:0123456789012345678901234567890123456789012345678901234567890123"},
		ConfigPath: "x.yaml", Inputs: []string{"a.tar"}, OCILayouts: []string{"oci"}, Trivy: "/opt/trivy",
		Severity: []string{"CRITICAL", "high"}, IgnoreUnfixed: true, Scanners: []string{"vuln", "secret"},
		SkipDBUpdate: true, CacheDir: "/c", Platforms: []string{"linux/amd64", "linux/arm64"}, ReportDir: "/r", SBOM: true,
		Timeout: 3 * time.Minute, Policy: cli.PolicyOptions{Dirs: []string{"p"}}, Render: cli.RenderOptions{Format: "sarif"},
		Signing: keylessFlags{FulcioURL: sign.DefaultFulcioURL, OIDCIssuer: sign.DefaultOIDCIssuer, OIDCClientID: "sigstore", TlogUpload: true},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(imageScanOptions{})); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

// How image scan signs its --bundle: a key or keylessly, never both, and
// keyless flags only with --keyless (issue 23 section 3).
func TestImageScanSigningFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // "" accepted; else the usage error says it
	}{
		{"keyless with its flags", []string{"--bundle", "b.json", "--keyless", "--identity-token", "t.jwt", "--fulcio-url", "http://f", "--oidc-issuer", "http://i", "--trusted-root", "tr.json", "--tlog-upload=false"}, ""},
		{"keyless against the public Sigstore", []string{"--bundle", "b.json", "--keyless", "--tlog-upload=false"}, ""},
		{"a key", []string{"--bundle", "b.json", "--key", "scan.key"}, ""},
		{"key and keyless", []string{"--bundle", "b.json", "--key", "scan.key", "--keyless", "--tlog-upload=false"}, "exclude each other"},
		{"keyless without a bundle", []string{"--keyless", "--tlog-upload=false"}, "--keyless signs the bundle; name it with --bundle FILE"},
		{"keyless with the transparency log", []string{"--bundle", "b.json", "--keyless"}, "--tlog-upload=false"},
		{"an identity token without keyless", []string{"--bundle", "b.json", "--key", "scan.key", "--identity-token", "t.jwt"}, "--identity-token is for signing the bundle keylessly"},
		{"a trust root without keyless", []string{"--bundle", "b.json", "--trusted-root", "tr.json"}, "--trusted-root is for signing the bundle keylessly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, _ := cli.Test()
			var got *imageScanOptions
			cmd := newImageScanCmd(&app{&cli.App{IO: streams, Now: time.Now}}, func(_ context.Context, o *imageScanOptions) error { got = o; return nil })
			cmd.SetArgs(append(tc.args, "ghcr.io/acme/api:1"))
			err := cmd.Execute()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if slices.Contains(tc.args, "--keyless") && (!got.Signing.Keyless || got.Signing.TlogUpload) {
					t.Errorf("keyless flags %+v", got.Signing)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a usage error saying %q", err, tc.want)
			}
		})
	}
}

// Flags override readiness.yaml only when given; images named on the
// command line replace the configured ones.
func TestImageScanApply(t *testing.T) {
	cfg, err := config.Parse("/repo/readiness.yaml", []byte(`version: 1
checks:
  - name: image-scan
    with:
      images: ["configured:1"]
      inputs: [/repo/x.tar]
      trivy: /repo/bin/trivy
      scanners: [vuln, secret]
      ignore_unfixed: true
      skip_db_update: true
      cache_dir: /repo/cache
      platforms: [linux/arm64]
      db_max_age: 1h
      report_dir: /repo/out
`), config.LoadOptions{Now: time.Now(), KnownTypes: []string{"image-scan"}})
	if err != nil {
		t.Fatal(err)
	}
	cwd, _ := filepath.Abs(".")
	tests := []struct {
		name    string
		opts    imageScanOptions
		changed []string
		want    imagescan.Options
	}{
		{"only images given", imageScanOptions{Images: []string{"cli:2"}}, nil, imagescan.Options{
			Images: []string{"cli:2"}, Inputs: []string{}, OCILayouts: []string{}, Trivy: "/repo/bin/trivy",
			Scanners: []string{"vuln", "secret"}, IgnoreUnfixed: true, SkipDBUpdate: true, CacheDir: "/repo/cache",
			Platforms: []string{"linux/arm64"}, DBMaxAge: config.Duration(time.Hour), ReportDir: "/repo/out",
		}},
		{"every flag given", imageScanOptions{
			Inputs: []string{"a.tar"}, Trivy: "trivy", Scanners: []string{"vuln"}, IgnoreUnfixed: false,
			SkipDBUpdate: false, CacheDir: "c", Platforms: []string{"linux/amd64"}, ReportDir: "r",
		}, []string{"trivy", "scanners", "ignore-unfixed", "skip-db-update", "cache-dir", "platform", "report-dir"}, imagescan.Options{
			Images: []string{}, Inputs: []string{filepath.Join(cwd, "a.tar")}, OCILayouts: []string{}, Trivy: "trivy",
			Scanners: []string{"vuln"}, CacheDir: filepath.Join(cwd, "c"), Platforms: []string{"linux/amd64"},
			DBMaxAge: config.Duration(time.Hour), ReportDir: filepath.Join(cwd, "r"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			set := map[string]bool{}
			for _, c := range tt.changed {
				set[c] = true
			}
			opts.changed = func(n string) bool { return set[n] }
			spec, err := cfg.Checks[0].Override(opts.overrides().Set)
			if err != nil {
				t.Fatal(err)
			}
			o, err := imagescan.OptionsFromSpec(checks.Env{Dir: "/repo", ConfigFile: cfg.Path}, spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, o); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}
