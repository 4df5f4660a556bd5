package admission

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/admission"
	"github.com/readiness-dev/readiness/internal/cli"
)

const keyFile = "../../admission/testdata/cosign.pub"

// TestNewAdmissionPolicyCmdFlags checks flag parsing apart from behaviour.
func TestNewAdmissionPolicyCmdFlags(t *testing.T) {
	streams, _, _ := cli.Test()
	a := &app{&cli.App{IO: streams, Now: time.Now}}
	var got *admissionPolicyOptions
	cmd := newAdmissionPolicyCmd(a, func(_ context.Context, o *admissionPolicyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--format", "kyverno", "--key", keyFile, "--max-age", "7d", "--image", "ghcr.io/acme/*",
		"--image", "ghcr.io/acme/**", "--insecure-ignore-tlog", "--name", "go-only", "-o", "p.yaml"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	want := &admissionPolicyOptions{
		Format: "kyverno", Name: "go-only", Key: keyFile, RekorURL: admission.DefaultRekorURL, IgnoreTlog: true,
		FulcioURL: admission.DefaultFulcioURL, MaxAge: cli.DurationFlag(7 * 24 * time.Hour),
		Images: []string{"ghcr.io/acme/*", "ghcr.io/acme/**"}, Output: "p.yaml", keyPEM: pem,
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(admissionPolicyOptions{})); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
}

// TestAdmissionPolicyExitCodes runs the command tree: a policy is written
// (exit 0) or a bad flag is a usage error (exit 2) that writes nothing.
func TestAdmissionPolicyExitCodes(t *testing.T) {
	base := []string{"admission", "policy", "--key", keyFile, "--image", "ghcr.io/acme/*"}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"written", base, 0, ""},
		{"kyverno keyless", []string{"admission", "policy", "--format", "kyverno", "--image", "ghcr.io/acme/*",
			"--certificate-identity", "release@acme.example", "--certificate-oidc-issuer", "https://accounts.google.com"}, 0, ""},
		{"no signer", []string{"admission", "policy", "--image", "ghcr.io/acme/*"}, 2, "say whose signature to demand"},
		{"key and identity", append(base, "--certificate-identity", "a@b.c", "--certificate-oidc-issuer", "https://x"), 2, "not both"},
		{"max-age zero", append(base, "--max-age", "0"), 2, "--max-age must be positive"},
		{"max-age garbage", append(base, "--max-age", "soon"), 2, "max-age"},
		{"unknown format", append(base, "--format", "gatekeeper"), 2, `unknown format "gatekeeper"`},
		{"bad glob", []string{"admission", "policy", "--key", keyFile, "--image", "ghcr.io/Acme/*"}, 2, "matches no image reference"},
		{"no image", []string{"admission", "policy", "--key", keyFile}, 2, "name the images"},
		{"missing key file", []string{"admission", "policy", "--key", "nope.pub", "--image", "ghcr.io/acme/*"}, 2, "read --key"},
		{"private key as key", []string{"admission", "policy", "--key", "testdata/cosign.key", "--image", "ghcr.io/acme/*"}, 2, "not a private key"},
		{"unknown flag", append(base, "--keyless"), 2, "unknown flag"},
		{"argument", append(base, "extra"), 2, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			streams, out, errOut := cli.Test()
			app := &cli.App{IO: streams, Now: time.Now, Commands: func(a *cli.App) []*cobra.Command { return []*cobra.Command{NewCmd(a)} }}
			code := cli.Run(t.Context(), app, tc.args)
			if code != tc.code || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errOut.String(), tc.code, tc.wantErr)
			}
			if code != 0 && out.Len() != 0 {
				t.Errorf("a refused run wrote %q to stdout", out.String())
			}
			if code == 0 && !strings.Contains(out.String(), admission.EvidencePredicateType) {
				t.Errorf("stdout holds no policy:\n%s", out.String())
			}
		})
	}
}

// Test_policyRun writes the generator's document, to stdout or to -o FILE.
func Test_policyRun(t *testing.T) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	opts := &admissionPolicyOptions{Format: admission.FormatPolicyController, Name: admission.DefaultName, keyPEM: pem,
		RekorURL: admission.DefaultRekorURL, FulcioURL: admission.DefaultFulcioURL,
		MaxAge: cli.DurationFlag(720 * time.Hour), Images: []string{"ghcr.io/acme/*"}}
	want, err := admission.Generate(opts.options())
	if err != nil {
		t.Fatal(err)
	}
	streams, out, _ := cli.Test()
	a := &app{&cli.App{IO: streams, Now: time.Now}}
	if err := a.policyRun(opts); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), out.String()); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	opts.Output = filepath.Join(t.TempDir(), "cip.yaml")
	out.Reset()
	if err := a.policyRun(opts); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(opts.Output)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" || out.Len() != 0 {
		t.Errorf("-o file (-want +got):\n%s\nstdout %q", d, out.String())
	}
	opts.Output = filepath.Join(t.TempDir(), "missing", "cip.yaml")
	if err := a.policyRun(opts); err == nil || !strings.Contains(err.Error(), "write") {
		t.Errorf("unwritable -o: err %v, want a write error", err)
	}
}
