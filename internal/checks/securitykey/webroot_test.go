package securitykey

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestFileForURL(t *testing.T) {
	fsys := fstest.MapFS{
		"docs/.well-known/pgp-key.txt":                       {},
		"website/static/.well-known/openpgp.asc":             {},
		"internal/x/testdata/cases/.well-known/security.txt": {},
		"node_modules/site/docs/.well-known/other.txt":       {},
		"keys/security.asc":                                  {},
	}
	for _, tc := range []struct{ url, want string }{
		{"https://acme.io/.well-known/pgp-key.txt", "docs/.well-known/pgp-key.txt"},
		{"https://acme.io/.well-known/openpgp.asc", "website/static/.well-known/openpgp.asc"},
		{"https://acme.io/keys/security.asc", "keys/security.asc"},
		{"https://acme.io/.well-known/security.txt", ""}, // only below testdata
		{"https://acme.io/.well-known/other.txt", ""},    // only in a dependency
		{"https://acme.io/", ""},
		{"https://acme.io/.well-known/", ""},
		{"ftp://acme.io/.well-known/pgp-key.txt", ""},
		{"https://acme.io/../../etc/passwd", ""},
		{"openpgp4fpr:0123", ""},
	} {
		if got := FileForURL(fsys, tc.url); got != tc.want {
			t.Errorf("FileForURL(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// FuzzFileForURL: whatever the URL, the answer is "" or a regular file of
// the repository that ends with the URL's path.
func FuzzFileForURL(f *testing.F) {
	fsys := fstest.MapFS{"docs/.well-known/pgp-key.txt": {}, "a": {}}
	for _, s := range []string{"https://acme.io/.well-known/pgp-key.txt", "https://x/a", "http://[::1]/%2e%2e/a", "https://x/docs/../a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := FileForURL(fsys, raw)
		if got != "" && got != "a" && got != "docs/.well-known/pgp-key.txt" {
			t.Fatalf("FileForURL(%q) = %q", raw, got)
		}
	})
}

// TestSecurityTxtEncryptionFollowed: with no key at the default path, the
// gate checks the file security.txt's Encryption: URL serves from the
// repository's web root, and where the URL maps to no file it says which
// URL it names.
func TestSecurityTxtEncryptionFollowed(t *testing.T) {
	const email = "security@acme.io"
	good := genEntity(t, email, genConfig(2*365*oneDay))
	txt := "Contact: mailto:" + email + "\nEncryption: https://acme.io/.well-known/pgp-key.txt\nExpires: 2025-12-31T00:00:00Z\n"
	md := "# Security\n\nMail " + email + ", encrypted with the key in our security.txt.\n"

	res := runCheck(t, repo(t, map[string]string{"SECURITY.md": md, "docs/.well-known/security.txt": txt,
		"docs/.well-known/pgp-key.txt": string(armored(t, good))}), Options{}, judgedAt)
	if res.Status != "pass" {
		t.Errorf("status %s, want pass (the key security.txt names is sound):\n%s", res.Status, describe(res))
	}
	if c, _ := res.Facts["certificates"].([]CertFacts); len(c) != 1 || c[0].Fingerprint != fprOf(good) {
		t.Errorf("judged certificates %+v, want %s", res.Facts["certificates"], fprOf(good))
	}

	res = runCheck(t, repo(t, map[string]string{"SECURITY.md": md, "docs/.well-known/security.txt": txt}), Options{}, judgedAt)
	f := findingsBy(res)["KEY-MISSING"]
	if f.Message == "" || !strings.Contains(f.Message, "https://acme.io/.well-known/pgp-key.txt, which is no file in this repository") {
		t.Errorf("KEY-MISSING does not name the URL:\n%s", describe(res))
	}
}
