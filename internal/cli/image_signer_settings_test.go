package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// Tests for issue 23 section 2: a genuine, unedited bundle is judged with
// the signer's settings and policy only. Each attack below signed on the
// code this issue started from (the signer believed the scan side's
// settings, or loaded a module the bundle named); each is refused now,
// naming the difference, and nothing is written to the registry.

// debianUnfixedOnly is a Debian image whose only vulnerability is
// CVEDebianUnfixed (bash): no fix, severity UNKNOWN.
func debianUnfixedOnly() v1.Image {
	return trivytest.Image("amd64", map[string]string{
		"etc/debian_version": "12.5\n",
		"etc/os-release":     "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
		"var/lib/dpkg/status": `Package: bash
Status: install ok installed
Priority: required
Section: shells
Architecture: amd64
Version: 5.2.15-2+b2
Description: GNU Bourne Again SHell

`,
	})
}

// scanConfig writes a readiness.yaml for the scan side in its own
// directory: the release-image check with extra `with:` lines, and top
// lines (policy:, …) after checks. Files maps names to contents beside it.
func scanConfig(t *testing.T, cache string, with, top string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "version: 1\n" + top + "checks:\n  - name: release-image\n    type: image-scan\n    with:\n      trivy: " + trivytest.Binary(t) +
		"\n      skip_db_update: true\n      cache_dir: " + cache + "\n      report_dir: " + t.TempDir() + "\n" + with
	p := filepath.Join(dir, "readiness.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// setSignerConfig rewrites the signer's readiness.yaml the same way.
func (e *relEnv) setSignerConfig(t *testing.T, with, top string, files map[string]string) {
	t.Helper()
	src := scanConfig(t, trivytest.CacheDir(t, time.Now()), with, top, nil)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.dir, "readiness.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *relEnv) scanBundleWith(t *testing.T, cfg, image string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle.json")
	code, stdout, stderr := e.run(t, nil, scanEnv, "image", "scan", "--config", cfg, "--bundle", out, "--key", e.scanKeys.Private, image)
	if code != 0 {
		t.Fatalf("the scan side's scan must say GO for the attack to mean anything: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	return out
}

const waiveEverything = "package readiness\n\nimport rego.v1\n\nwaived(f) if true\n"

func TestImageSignJudgesABundleWithTheSignersSettings(t *testing.T) {
	fresh := func(t *testing.T) string { return trivytest.CacheDir(t, time.Now()) }
	tests := []struct {
		name string
		// image is what is scanned and signed.
		image func() v1.Image
		// scan is the scan side's config: with lines, top lines, files.
		scanWith, scanTop string
		scanFiles         map[string]string
		scanCache         func(t *testing.T) string
		// signer is the signing machine's config.
		signerWith, signerTop string
		signerFiles           map[string]string
		// want is what the refusal names; "" means the bundle is signed.
		want []string
	}{
		{
			name:  "ignore_unfixed on the scan side only",
			image: debianUnfixedOnly, scanWith: "      ignore_unfixed: true\n", scanTop: "policy:\n  block_on: [critical, high, medium]\n",
			signerTop: "policy:\n  block_on: [critical, high, medium]\n",
			want:      []string{"looser settings", "ignore_unfixed"},
		},
		{
			name:  "an UNKNOWN vulnerability rated lower on the scan side",
			image: debianUnfixedOnly, scanWith: "      unknown_severity: low\n", scanTop: "policy:\n  block_on: [critical, high, medium]\n",
			signerTop: "policy:\n  block_on: [critical, high, medium]\n",
			want:      []string{"looser settings", `rated trivy's UNKNOWN vulnerabilities "low"`, `"medium"`},
		},
		{
			name:  "fewer scanners on the scan side",
			image: func() v1.Image { return trivytest.Clean("amd64") }, signerWith: "      scanners: [vuln, secret]\n",
			want: []string{"looser settings", "without secret"},
		},
		{
			name:  "a DB older than the signer's db_max_age",
			image: func() v1.Image { return trivytest.Clean("amd64") }, scanWith: "      db_max_age: 15d\n",
			scanCache: func(t *testing.T) string { return trivytest.CacheDir(t, time.Now().Add(-10*24*time.Hour)) },
			want:      []string{"looser settings", "more than this machine's db_max_age 5d"},
		},
		{
			name:  "an ignorefile the signer does not have",
			image: func() v1.Image { return trivytest.AlpineVulnerable("amd64") }, scanWith: "      ignorefile: .trivyignore\n",
			scanFiles: map[string]string{".trivyignore": trivytest.CVECritical + "\n" + trivytest.CVEHigh + "\n"},
			want:      []string{"looser settings", "suppressed " + trivytest.CVECritical, "this machine configures no ignorefile"},
		},
		{
			name:  "an ignorefile entry the signer's ignorefile lacks",
			image: func() v1.Image { return trivytest.AlpineVulnerable("amd64") }, scanWith: "      ignorefile: .trivyignore\n",
			scanFiles:  map[string]string{".trivyignore": trivytest.CVECritical + "\n" + trivytest.CVEHigh + "\n"},
			signerWith: "      ignorefile: .trivyignore\n", signerFiles: map[string]string{".trivyignore": "# only the high one\n" + trivytest.CVEHigh + "\n"},
			want: []string{"suppressed " + trivytest.CVECritical, "does not (or no longer does)"},
		},
		{
			name:  "an ignorefile entry the signer's has let expire",
			image: func() v1.Image { return trivytest.AlpineVulnerable("amd64") }, scanWith: "      ignorefile: .trivyignore\n",
			scanFiles:  map[string]string{".trivyignore": trivytest.CVECritical + "\n" + trivytest.CVEHigh + "\n"},
			signerWith: "      ignorefile: .trivyignore.yaml\n", signerFiles: map[string]string{".trivyignore.yaml": "vulnerabilities:\n  - id: " + trivytest.CVECritical + "\n    expired_at: 2020-01-01\n  - id: " + trivytest.CVEHigh + "\n"},
			want: []string{"suppressed " + trivytest.CVECritical},
		},
		{
			name:  "the same ignore entries on both sides are signed",
			image: func() v1.Image { return trivytest.AlpineVulnerable("amd64") }, scanWith: "      ignorefile: .trivyignore\n",
			scanFiles:  map[string]string{".trivyignore": trivytest.CVECritical + "\n" + trivytest.CVEHigh + "\n"},
			signerWith: "      ignorefile: .trivyignore.yaml\n", signerFiles: map[string]string{".trivyignore.yaml": "vulnerabilities:\n  - id: " + trivytest.CVECritical + "\n  - id: " + trivytest.CVEHigh + "\n    statement: accepted\n"},
		},
		{
			// The module is on the signer's disk at the very path the
			// bundle records, with the same sha256; the signer's config
			// lists no policy directory, so it is not loaded.
			name:  "a policy module named in the bundle",
			image: func() v1.Image { return trivytest.AlpineVulnerable("amd64") }, scanTop: "policy:\n  dirs: [policy]\n",
			scanFiles: map[string]string{"policy/waive.rego": waiveEverything},
			want:      []string{"NO-GO"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRelEnv(t)
			d := e.reg.Push(t, "api:1", tc.image())
			cache := fresh
			if tc.scanCache != nil {
				cache = tc.scanCache
			}
			bundle := e.scanBundleWith(t, scanConfig(t, cache(t), tc.scanWith, tc.scanTop, tc.scanFiles), d.String())
			e.setSignerConfig(t, tc.signerWith, tc.signerTop, tc.signerFiles)
			code, stdout, stderr := e.signFrom(t, bundle, d.String())
			if tc.want == nil {
				if code != 0 {
					t.Fatalf("sign: exit %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				return
			}
			if code != 1 {
				t.Errorf("sign: exit %d, want 1 (refused)\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("the refusal does not say %q\nstdout: %s\nstderr: %s", w, stdout, stderr)
				}
			}
			e.assertNothingWritten(t, "api", "1")
		})
	}
}
