package securitykey

import (
	"strings"
	"testing"
)

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
