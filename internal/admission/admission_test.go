package admission

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/testutil/golden"
)

func testKey(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyOpts(t testing.TB, format string) Options {
	return Options{
		Format: format, Name: DefaultName, KeyPEM: testKey(t),
		RekorURL: DefaultRekorURL, FulcioURL: DefaultFulcioURL,
		MaxAge: 720 * time.Hour, Images: []string{"ghcr.io/acme/*", "registry.example.com/team/**"},
	}
}

func keylessOpts(format string) Options {
	return Options{
		Format: format, Name: "acme-go-only",
		CertIdentityRegexp: `^https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v`,
		CertOIDCIssuer:     "https://token.actions.githubusercontent.com",
		RekorURL:           DefaultRekorURL, FulcioURL: DefaultFulcioURL,
		MaxAge: 7 * 24 * time.Hour, Images: []string{"ghcr.io/acme/api*"},
	}
}

// TestGenerateGolden pins each format's document for a key pair (with and
// without the transparency log) and a keyless signer.
func TestGenerateGolden(t *testing.T) {
	offline := func(o Options) Options { o.IgnoreTlog = true; return o }
	tests := []struct {
		name string
		opts Options
	}{
		{"policy-controller-key", keyOpts(t, FormatPolicyController)},
		{"policy-controller-key-notlog", offline(keyOpts(t, FormatPolicyController))},
		{"policy-controller-keyless", keylessOpts(FormatPolicyController)},
		{"kyverno-key", keyOpts(t, FormatKyverno)},
		{"kyverno-key-notlog", offline(keyOpts(t, FormatKyverno))},
		{"kyverno-keyless", keylessOpts(FormatKyverno)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Generate(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(got, &doc); err != nil {
				t.Fatalf("generated YAML does not parse: %v", err)
			}
			golden.Assert(t, filepath.Join("testdata", tc.name+".yaml"), got)
		})
	}
}

// TestValidate refuses every input that cannot make a sound policy, each
// with its one sentence.
func TestValidate(t *testing.T) {
	key := testKey(t)
	base := keyOpts(t, FormatPolicyController)
	tests := []struct {
		name string
		mod  func(*Options)
		want string // substring of the error; "" means valid
	}{
		{"key pair", func(*Options) {}, ""},
		{"keyless", func(o *Options) { *o = keylessOpts(FormatKyverno) }, ""},
		{"unknown format", func(o *Options) { o.Format = "opa" }, `unknown format "opa"`},
		{"no signer", func(o *Options) { o.KeyPEM = nil }, "say whose signature to demand"},
		{"key and identity", func(o *Options) { o.CertIdentity = "a@b.c"; o.CertOIDCIssuer = "https://x" }, "not both"},
		{"identity without issuer", func(o *Options) { o.KeyPEM = nil; o.CertIdentity = "a@b.c" }, "exactly one of --certificate-oidc-issuer"},
		{"identity and its regexp", func(o *Options) {
			o.KeyPEM = nil
			o.CertIdentity, o.CertIdentityRegexp, o.CertOIDCIssuer = "a@b.c", "a.*", "https://x"
		}, "exactly one of --certificate-identity"},
		{"keyless without tlog", func(o *Options) {
			*o = keylessOpts(FormatPolicyController)
			o.IgnoreTlog = true
		}, "private Sigstore"},
		{"max-age zero", func(o *Options) { o.MaxAge = 0 }, "--max-age must be positive"},
		{"max-age negative", func(o *Options) { o.MaxAge = -time.Hour }, "--max-age must be positive"},
		{"no image", func(o *Options) { o.Images = nil }, "name the images"},
		{"empty glob", func(o *Options) { o.Images = []string{""} }, "glob is empty"},
		{"glob with space", func(o *Options) { o.Images = []string{"ghcr.io/acme/ api"} }, "space"},
		{"glob with capitals", func(o *Options) { o.Images = []string{"ghcr.io/Acme/*"} }, "matches no image reference"},
		{"glob with brackets", func(o *Options) { o.Images = []string{"ghcr.io/acme/[ab]pi"} }, "character the admission controllers' globs reject"},
		{"glob with question mark", func(o *Options) { o.Images = []string{"ghcr.io/acme/ap?"} }, "character the admission controllers' globs reject"},
		{"bare star", func(o *Options) { o.Images = []string{"*"} }, "Docker Hub"},
		{"every image", func(o *Options) { o.Images = []string{"**"} }, ""},
		{"glob with tag and digest", func(o *Options) { o.Images = []string{"ghcr.io/acme/api:v*", "ghcr.io/acme/api@sha256:*"} }, ""},
		{"glob with empty part", func(o *Options) { o.Images = []string{"ghcr.io//api"} }, "empty path component"},
		{"glob of a path", func(o *Options) { o.Images = []string{"/var/lib/*"} }, "matches no image reference"},
		{"bad name", func(o *Options) { o.Name = "Readiness_GO" }, "not a Kubernetes object name"},
		{"private key", func(o *Options) {
			o.KeyPEM = []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
		}, "not a private key"},
		{"not PEM", func(o *Options) { o.KeyPEM = []byte("ssh-ed25519 AAAA") }, "no PEM block"},
		{"two keys", func(o *Options) { o.KeyPEM = append(append([]byte{}, key...), key...) }, "more than one PEM block"},
		{"bad regexp", func(o *Options) {
			*o = keylessOpts(FormatPolicyController)
			o.CertIdentityRegexp = "(["
		}, "does not compile"},
		{"kyverno quote", func(o *Options) {
			*o = keylessOpts(FormatKyverno)
			o.CertIdentityRegexp = "it's"
		}, "Kyverno"},
		{"empty rekor", func(o *Options) { o.RekorURL = "" }, "--rekor-url is empty"},
		{"empty rekor offline", func(o *Options) { o.RekorURL, o.IgnoreTlog = "", true }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mod(&o)
			err := o.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.want == "") != (err == nil) || !strings.Contains(got, tc.want) {
				t.Fatalf("Validate() = %q, want an error containing %q", got, tc.want)
			}
			if _, gerr := Generate(o); (gerr == nil) != (err == nil) {
				t.Fatalf("Generate error %v disagrees with Validate error %v", gerr, err)
			}
		})
	}
}

// TestPredicateTypeIsSigns holds this package's copy of the predicate type
// to the one internal/sign writes.
func TestPredicateTypeIsSigns(t *testing.T) {
	if d := cmp.Diff(sign.EvidencePredicateType, EvidencePredicateType); d != "" {
		t.Fatalf("predicate type (-want +got):\n%s", d)
	}
}

// TestKeyFingerprintIsSigns holds the fingerprint the policy demands to
// the one readiness records for the same key.
func TestKeyFingerprintIsSigns(t *testing.T) {
	want, err := sign.KeyFingerprint(t.Context(), filepath.Join("testdata", "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := keyFingerprint(testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("fingerprint (-want +got):\n%s", d)
	}
}

// FuzzGenerate: any options either refuse or give YAML that parses.
func FuzzGenerate(f *testing.F) {
	f.Add("policy-controller", "ghcr.io/acme/*", "", "a@b.c", "https://issuer", int64(time.Hour), false)
	f.Add("kyverno", "ghcr.io/acme/**", "x-y", "", "", int64(-1), true)
	key := testKey(f)
	f.Fuzz(func(t *testing.T, format, glob, name, id, issuer string, maxAge int64, useKey bool) {
		o := Options{Format: format, Name: name, CertIdentity: id, CertOIDCIssuer: issuer,
			RekorURL: DefaultRekorURL, FulcioURL: DefaultFulcioURL, MaxAge: time.Duration(maxAge), Images: []string{glob}}
		if useKey {
			o.KeyPEM = key
		}
		out, err := Generate(o)
		if err != nil {
			return
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("generated YAML does not parse: %v\n%s", err, out)
		}
	})
}
