package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/need"
	"github.com/readiness-dev/readiness/internal/testutil/sigstoretest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// `image release --keyless` through the CLI, offline: the real gates (real
// trivy), a private Sigstore on loopback (the real Fulcio server code with
// an ephemeral CA, mockoidc as the OIDC issuer, a CT log stand-in; see
// internal/testutil/sigstoretest), the transparency log off. Then
// `image verify` and the real cosign CLI check identity and issuer.

const keylessIdentity = "jane.doe@example.com"

func keylessRelease(sg *sigstoretest.Sigstore, token string, extra ...string) []string {
	return append([]string{"image", "release", "--keyless", "--identity-token", token,
		"--fulcio-url", sg.FulcioURL, "--oidc-issuer", sg.Issuer, "--trusted-root", sg.TrustedRoot,
		"--tlog-upload=false"}, extra...)
}

func keylessVerify(identity, issuer, trustedRoot string) []string {
	return []string{"image", "verify", "--certificate-identity", identity, "--certificate-oidc-issuer", issuer,
		"--trusted-root", trustedRoot, "--insecure-ignore-tlog", "--require-vuln-attestation"}
}

func TestImageReleaseKeylessOfflineThenVerify(t *testing.T) {
	e := newRelEnv(t)
	sg := sigstoretest.Start(t)
	other := sigstoretest.Start(t) // another CA, CT log and OIDC issuer
	d := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	image := e.reg.Host + "/api:1"

	code, stdout, stderr := e.run(t, nil, nil, append(keylessRelease(sg, sigstoretest.TokenFile(t, sg.Token(t, nil))), image)...)
	if code != 0 {
		t.Fatalf("keyless release exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, s := range []string{"released " + d.String(), keylessIdentity, sg.Issuer, ".sig (written)", sign.EvidencePredicateType} {
		if !strings.Contains(stdout, s) {
			t.Errorf("release output lacks %q:\n%s", s, stdout)
		}
	}

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		want     string
		ref      string
		wantNone bool
	}{
		{"the signer's identity and issuer", keylessVerify(keylessIdentity, sg.Issuer, sg.TrustedRoot), 0, "readiness: verified", image, false},
		{"by digest", keylessVerify(keylessIdentity, sg.Issuer, sg.TrustedRoot), 0, "readiness: verified", d.String(), false},
		{"another identity", keylessVerify("mallory@example.com", sg.Issuer, sg.TrustedRoot), 1, "none of the expected identities matched", image, true},
		{"another issuer", keylessVerify(keylessIdentity, other.Issuer, sg.TrustedRoot), 1, "none of the expected identities matched", image, true},
		{"trusting only another CA", keylessVerify(keylessIdentity, sg.Issuer, other.TrustedRoot), 1, "certificate verification failed", image, true},
		{"a trusted root that is not one", keylessVerify(keylessIdentity, sg.Issuer, sg.CAPEMFile(t)), 2, "trusted root", image, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.run(t, nil, nil, append(tc.args, tc.ref)...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("exit %d (want %d), output lacks %q\nstdout: %s\nstderr: %s", code, tc.code, tc.want, stdout, stderr)
			}
			if tc.wantNone && strings.Contains(stdout, "readiness: verified") {
				t.Errorf("verified:\n%s", stdout)
			}
		})
	}

	t.Run("cosign CLI", func(t *testing.T) {
		cosign := needCosign(t)
		// cosign v2 takes --trusted-root for signatures; for attestations
		// outside its new bundle format only the legacy variables
		// (SIGSTORE_ROOT_FILE, SIGSTORE_CT_LOG_PUBLIC_KEY_FILE).
		const noMatch = "none of the expected identities matched"
		root := func(s *sigstoretest.Sigstore) []string { return []string{"--trusted-root", s.TrustedRoot} }
		for _, tc := range []struct {
			name     string
			args     []string
			identity string
			issuer   string
			trust    *sigstoretest.Sigstore
			refusal  string // "" verifies
		}{
			{"verify the signature", []string{"verify"}, keylessIdentity, sg.Issuer, sg, ""},
			{"verify the evidence attestation", []string{"verify-attestation", "--type", sign.EvidencePredicateType}, keylessIdentity, sg.Issuer, sg, ""},
			{"verify the vulnerability attestation", []string{"verify-attestation", "--type", "vuln"}, keylessIdentity, sg.Issuer, sg, ""},
			{"another identity", []string{"verify"}, "mallory@example.com", sg.Issuer, sg, noMatch},
			{"another issuer", []string{"verify"}, keylessIdentity, other.Issuer, sg, noMatch},
			{"trusting only another CA", []string{"verify"}, keylessIdentity, sg.Issuer, other, "leaf certificate verification failed"},
			{"attestation, another identity", []string{"verify-attestation", "--type", sign.EvidencePredicateType}, "mallory@example.com", sg.Issuer, sg, noMatch},
			{"attestation, another issuer", []string{"verify-attestation", "--type", sign.EvidencePredicateType}, keylessIdentity, other.Issuer, sg, noMatch},
			{"attestation, trusting only another CA", []string{"verify-attestation", "--type", sign.EvidencePredicateType}, keylessIdentity, sg.Issuer, other, "certificate signed by unknown authority"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append(tc.args, "--certificate-identity", tc.identity, "--certificate-oidc-issuer", tc.issuer, "--insecure-ignore-tlog")
				var env []string
				if tc.args[0] == "verify" {
					args = append(args, root(tc.trust)...)
				} else {
					env = tc.trust.LegacyTrustEnv(t)
				}
				out, err := runCosign(t, cosign, env, append(args, d.String())...)
				if (err == nil) != (tc.refusal == "") || !strings.Contains(out, tc.refusal) {
					t.Errorf("cosign %s: err %v, want refusal %q\n%s", strings.Join(args, " "), err, tc.refusal, out)
				}
				if tc.refusal == "" && !strings.Contains(out, d.DigestStr()) {
					t.Errorf("cosign output does not name %s:\n%s", d.DigestStr(), out)
				}
			})
		}
	})
}

func TestImageReleaseKeylessRefused(t *testing.T) {
	e := newRelEnv(t)
	sg := sigstoretest.Start(t)
	d := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	image := e.reg.Host + "/api:1"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"expired token", keylessRelease(sg, sg.ExpiredToken(t, nil)), 1, "obtain a Fulcio certificate"},
		{"token forged with another key", keylessRelease(sg, sg.ForgedToken(t, nil)), 1, "obtain a Fulcio certificate"},
		{"no transparency log and no private trust root", []string{"image", "release", "--keyless", "--identity-token", "x", "--tlog-upload=false"}, 2, "needs --trusted-root"},
		{"trusted root missing", []string{"image", "release", "--keyless", "--identity-token", "x", "--trusted-root", "/nonexistent.json"}, 2, "trusted root /nonexistent.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.run(t, nil, nil, append(tc.args, image)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr lacks %q\nstdout: %s\nstderr: %s", code, tc.code, tc.want, stdout, stderr)
			}
			if got := signtest.CosignTags(e.reg.Tags(t, "api"), d.DigestStr()); len(got) != 0 {
				t.Errorf("cosign tags written: %v", got)
			}
		})
	}
}

// needCosign finds the cosign CLI (scripts/install-cosign.sh puts it in
// $(go env GOPATH)/bin); under CI=true its absence fails the test.
func needCosign(t *testing.T) string {
	t.Helper()
	return need.Tool(t, "cosign")
}

// runCosign runs cosign offline: its TUF cache and home in a temp dir, so
// only the trust root on the command line can vouch for anything.
func runCosign(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = append(append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf")), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
