package disclosure

import (
	"regexp"
	"strings"
	"testing"
)

// Fuzz targets for the parsers of disclosure documents, outside input.
// Run one for a while with
//
//	go test ./internal/disclosure -run '^$' -fuzz '^FuzzParseSecurityMD$' -fuzztime 60s
//
// Their seeds are testdata/fuzz/<target>: the SECURITY.md and security.txt
// files of the security-key gate's gpg-made fixtures (run by every go test).

var (
	upperHexRE = regexp.MustCompile(`^[0-9A-F]+$`)
	lineCount  = func(data []byte) int { return strings.Count(string(data), "\n") + 1 }
)

func checkClaims(t *testing.T, c Claims, data []byte) {
	t.Helper()
	n := lineCount(data)
	all := [][]Claim{c.Emails, c.KeyRefs, c.Fingerprints, c.KeyIDs, c.ShortKeyIDs, c.OtherContacts}
	for _, list := range all {
		for _, cl := range list {
			if cl.Line < 1 || cl.Line > n {
				t.Fatalf("claim %+v on a line outside 1..%d", cl, n)
			}
		}
	}
	for _, cl := range c.Fingerprints {
		if (len(cl.Value) != 40 && len(cl.Value) != 64) || !upperHexRE.MatchString(cl.Value) {
			t.Fatalf("fingerprint %q", cl.Value)
		}
	}
	for _, cl := range c.KeyIDs {
		if len(cl.Value) != 16 || !upperHexRE.MatchString(cl.Value) {
			t.Fatalf("key ID %q", cl.Value)
		}
	}
	for _, cl := range c.ShortKeyIDs {
		if len(cl.Value) != 8 || !upperHexRE.MatchString(cl.Value) {
			t.Fatalf("short key ID %q", cl.Value)
		}
	}
}

func FuzzParseSecurityMD(f *testing.F) {
	f.Add([]byte("<!-- x\n-->mail a@b.co 0xABCD1234 key 1234567890ABCDEF https://keys.openpgp.org/x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := ParseSecurityMD("SECURITY.md", data)
		checkClaims(t, c, data)
		for _, e := range c.Emails {
			if !strings.Contains(e.Value, "@") || e.Value != strings.ToLower(e.Value) {
				t.Fatalf("email %q", e.Value)
			}
		}
	})
}

func FuzzParseSecurityTxt(f *testing.F) {
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n- Contact: mailto:a%40b.co\nEncryption: openpgp4fpr:ABCD\n-----BEGIN PGP SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkClaims(t, ParseSecurityTxt("security.txt", data), data)
	})
}
