package securitykey

import (
	"strings"
	"testing"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/readiness-dev/readiness/internal/checks"
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

// TestSecurityTxtWithoutSecurityMD: a repository whose only disclosure
// policy is an RFC 9116 security.txt that names the contact address and
// the key is not blocked for lacking a SECURITY.md (it was a high
// KEY-SECURITY-MD-MISSING, so the security.txt-only shape could never be
// GO); one whose security.txt names no contact still is, and the key is
// judged as strictly as ever.
func TestSecurityTxtWithoutSecurityMD(t *testing.T) {
	const email = "security@acme.io"
	good := genEntity(t, email, genConfig(2*365*oneDay))
	other := genEntity(t, "someone@elsewhere.io", genConfig(2*365*oneDay))
	const enc = "Encryption: https://acme.io/.well-known/pgp-key.txt\nExpires: 2025-12-31T00:00:00Z\n"
	tests := []struct {
		name, txt string
		key       *openpgp.Entity
		mdSev     checks.Severity // KEY-SECURITY-MD-MISSING's severity
		blocking  []string        // rules at high or critical
	}{
		{name: "contact and key", txt: "Contact: mailto:" + email + "\n" + enc, key: good, mdSev: checks.SeverityLow},
		{name: "no contact", txt: "Contact: https://acme.io/security\n" + enc, key: good, mdSev: checks.SeverityHigh,
			blocking: []string{"KEY-SECURITY-MD-MISSING", "KEY-NO-CONTACT"}},
		{name: "contact, key for another address", txt: "Contact: mailto:" + email + "\n" + enc, key: other, mdSev: checks.SeverityLow,
			blocking: []string{"KEY-UID-MISMATCH"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCheck(t, repo(t, map[string]string{"docs/.well-known/security.txt": tc.txt,
				"docs/.well-known/pgp-key.txt": string(armored(t, tc.key))}), Options{}, judgedAt)
			f := findingsBy(res)["KEY-SECURITY-MD-MISSING"]
			if f.Severity != tc.mdSev {
				t.Errorf("KEY-SECURITY-MD-MISSING severity %q, want %q:\n%s", f.Severity, tc.mdSev, describe(res))
			}
			var blocking []string
			for _, f := range res.Findings {
				if f.Severity == checks.SeverityHigh || f.Severity == checks.SeverityCritical {
					blocking = append(blocking, f.Rule)
				}
			}
			if strings.Join(blocking, ",") != strings.Join(tc.blocking, ",") {
				t.Errorf("blocking rules %v, want %v:\n%s", blocking, tc.blocking, describe(res))
			}
		})
	}
}
