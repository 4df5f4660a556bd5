package disclosure

import (
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
