package image

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/sign"
)

func TestNewImageReleaseCmdFlags(t *testing.T) {
	streams, _, _ := cli.Test()
	app := &app{&cli.App{IO: streams, Now: time.Now}}
	var got *imageReleaseOptions
	cmd := newImageReleaseCmd(app, func(_ context.Context, o *imageReleaseOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"ghcr.io/acme/api:1", "--key", "awskms:///alias/release", "--tlog-upload=false",
		"--allow-http-registry", "--network-timeout", "90s", "--config", "r.yaml", "--scan-check", "api-scan",
		"--timeout", "20m", "--result", "out.json", "--format", "json", "--policy", "p", "--sbom"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := &imageReleaseOptions{
		Image: "ghcr.io/acme/api:1", ConfigPath: "r.yaml", ScanCheck: "api-scan", Timeout: 20 * time.Minute, ResultFile: "out.json", SBOM: true,
		Signing: signingFlags{Key: "awskms:///alias/release", keylessFlags: keylessFlags{FulcioURL: sign.DefaultFulcioURL, OIDCIssuer: sign.DefaultOIDCIssuer,
			OIDCClientID: "sigstore", TlogUpload: false}, RekorURL: sign.DefaultRekorURL},
		Registry: registryFlags{AllowHTTP: true, NetworkTimeout: 90 * time.Second},
		Policy:   cli.PolicyOptions{Dirs: []string{"p"}}, Render: cli.RenderOptions{Format: "json"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(signingFlags{})); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestNewImageVerifyCmdFlags(t *testing.T) {
	streams, _, _ := cli.Test()
	app := &app{&cli.App{IO: streams, Now: time.Now}}
	var got *imageVerifyOptions
	cmd := newImageVerifyCmd(app, func(_ context.Context, o *imageVerifyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"ghcr.io/acme/api@sha256:0123456789012345678901234567890123456789012345678901234567890123",
		"--certificate-identity-regexp", "^https://github.com/acme/", "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
		"--max-age", "7d", "--require-vuln-attestation", "--sbom", "--format", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := &imageVerifyOptions{
		Image: "ghcr.io/acme/api@sha256:0123456789012345678901234567890123456789012345678901234567890123",
		VerifyOptions: sign.VerifyOptions{
			CertIdentityRegexp: "^https://github.com/acme/", CertOIDCIssuer: "https://token.actions.githubusercontent.com",
			RekorURL: sign.DefaultRekorURL, RequireVuln: true, RequireSBOM: true, MaxAge: 7 * 24 * time.Hour,
		},
		Format: "json",
		Net:    registryFlags{NetworkTimeout: 5 * time.Minute},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(signingFlags{})); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestPassFuncPrefersCOSIGN_PASSWORD(t *testing.T) {
	streams, _, errOut := cli.Test()
	streams.Getenv = func(k string) string {
		if k == "COSIGN_PASSWORD" {
			return "s3cret"
		}
		return ""
	}
	app := &app{&cli.App{IO: streams, Now: time.Now}}
	pw, err := app.PassFunc("cosign.key")(false)
	if err != nil || string(pw) != "s3cret" || errOut.Len() != 0 {
		t.Errorf("password %q, err %v, prompt %q", pw, err, errOut.String())
	}
	streams.Getenv = func(string) string { return "" }
	pw, err = app.PassFunc("cosign.key")(false)
	if err != nil || len(pw) != 0 || errOut.Len() != 0 {
		t.Errorf("without a terminal or COSIGN_PASSWORD: password %q, err %v, prompt %q", pw, err, errOut.String())
	}
}

func TestInvocationFromGitHubActions(t *testing.T) {
	streams, _, _ := cli.Test()
	env := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/api", "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2"}
	streams.Getenv = func(k string) string { return env[k] }
	app := &app{&cli.App{IO: streams, Now: time.Now}}
	want := sign.Invocation{URI: "https://github.com/acme/api/actions/runs/42/attempts/2", EventID: "42-2"}
	if diff := cmp.Diff(want, app.invocation()); diff != "" {
		t.Errorf("invocation (-want +got):\n%s", diff)
	}
}

func TestKeylessFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want *signingFlags // nil: a usage error
	}{
		{"keyless with a private trust root and no transparency log",
			[]string{"--keyless", "--identity-token", "t.jwt", "--fulcio-url", "http://fulcio.internal", "--oidc-issuer", "https://idp.internal", "--trusted-root", "tr.json", "--tlog-upload=false"},
			&signingFlags{keylessFlags: keylessFlags{Keyless: true, IDToken: "t.jwt", FulcioURL: "http://fulcio.internal", OIDCIssuer: "https://idp.internal",
				OIDCClientID: "sigstore", TrustedRoot: "tr.json"}, RekorURL: sign.DefaultRekorURL}},
		{"keyless against the public Sigstore without the transparency log", []string{"--keyless", "--tlog-upload=false"}, nil},
		{"keyless and a key", []string{"--keyless", "--key", "cosign.key"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, _ := cli.Test()
			var got *imageReleaseOptions
			cmd := newImageReleaseCmd(&app{&cli.App{IO: streams, Now: time.Now}}, func(_ context.Context, o *imageReleaseOptions) error { got = o; return nil })
			cmd.SetArgs(append(tc.args, "ghcr.io/acme/api:1"))
			err := cmd.Execute()
			if tc.want == nil {
				if err == nil {
					t.Fatalf("accepted: %+v", got.Signing)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(*tc.want, got.Signing, cmp.AllowUnexported(signingFlags{})); diff != "" {
				t.Errorf("signing flags (-want +got):\n%s", diff)
			}
		})
	}
	streams, _, _ := cli.Test()
	var got *imageVerifyOptions
	cmd := newImageVerifyCmd(&app{&cli.App{IO: streams, Now: time.Now}}, func(_ context.Context, o *imageVerifyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--certificate-identity", "jane@example.com", "--certificate-oidc-issuer", "https://idp.internal",
		"--trusted-root", "tr.json", "--insecure-ignore-tlog", "ghcr.io/acme/api:1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if vo := got.verifyOptions(); vo.TrustedRoot != "tr.json" || !vo.IgnoreTlog || vo.CertIdentity != "jane@example.com" {
		t.Errorf("verify options %+v", vo)
	}
}

// image sign --evidence takes exactly one kind of scanner trust: a key,
// or a keyless identity (exact or regexp) with its issuer.
func TestImageSignEvidenceTrustFlags(t *testing.T) {
	key := []string{"--key", "cosign.key"}
	for _, tc := range []struct {
		name string
		args []string
		want string // "" accepted; else the usage error says it
	}{
		{"a scanner key", []string{"--evidence", "b.json", "--evidence-key", "scan.pub"}, ""},
		{"a keyless identity and issuer", []string{"--evidence", "b.json", "--evidence-certificate-identity", "ci@example.com", "--evidence-certificate-oidc-issuer", "https://i", "--trusted-root", "tr.json"}, ""},
		{"a keyless identity regexp and issuer", []string{"--evidence", "b.json", "--evidence-certificate-identity-regexp", "^ci@", "--evidence-certificate-oidc-issuer", "https://i"}, ""},
		{"no trust", []string{"--evidence", "b.json"}, "needs the scanner's trust material"},
		{"a key and an identity", []string{"--evidence", "b.json", "--evidence-key", "scan.pub", "--evidence-certificate-identity", "ci@example.com", "--evidence-certificate-oidc-issuer", "https://i"}, "not both"},
		{"identity and regexp", []string{"--evidence", "b.json", "--evidence-certificate-identity", "ci@example.com", "--evidence-certificate-identity-regexp", "^ci@", "--evidence-certificate-oidc-issuer", "https://i"}, "not both"},
		{"an identity without issuer", []string{"--evidence", "b.json", "--evidence-certificate-identity", "ci@example.com"}, "--evidence-certificate-oidc-issuer"},
		{"an issuer without identity", []string{"--evidence", "b.json", "--evidence-certificate-oidc-issuer", "https://i"}, "needs the scanner's identity too"},
		{"an identity without evidence", []string{"--evidence-certificate-identity", "ci@example.com", "--evidence-certificate-oidc-issuer", "https://i"}, "name the bundle with --evidence FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, _ := cli.Test()
			var got *imageReleaseOptions
			cmd := newImageSignCmd(&app{&cli.App{IO: streams, Now: time.Now}}, func(_ context.Context, o *imageReleaseOptions) error { got = o; return nil })
			cmd.SetArgs(append(append(tc.args, key...), "ghcr.io/acme/api@sha256:"+strings.Repeat("ab", 32)))
			err := cmd.Execute()
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %v, want a usage error saying %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			tr := got.evidenceTrust()
			if tr.TrustedRoot != got.Signing.TrustedRoot || (tr.Key == "") == (tr.CertOIDCIssuer == "") {
				t.Errorf("evidence trust %+v", tr)
			}
		})
	}
}
