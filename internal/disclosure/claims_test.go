package disclosure

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSecurityMD(t *testing.T) {
	const fpr = "1BA07AD45DC8B1A1BA8F016D57AC9F8DCF65C4B0"
	tests := []struct {
		name string
		md   string
		want Claims
	}{
		{
			name: "gpg-style grouped fingerprint and a link",
			md:   "# Security\n\nMail [security@Example.org](mailto:security@Example.org).\nKey: [key](docs/keys/security.asc)\n\n    1BA0 7AD4 5DC8 B1A1 BA8F  016D 57AC 9F8D CF65 C4B0\n",
			want: Claims{
				Emails:       []Claim{{"security@example.org", "S", 3}},
				KeyRefs:      []Claim{{"docs/keys/security.asc", "S", 4}},
				Fingerprints: []Claim{{fpr, "S", 6}},
			},
		},
		{
			name: "0x-prefixed fingerprint, long and short IDs",
			md:   "fingerprint 0x" + fpr + "\nkey id 0x57AC9F8DCF65C4B0, short 0xCF65C4B0\n",
			want: Claims{
				Fingerprints: []Claim{{fpr, "S", 1}},
				KeyIDs:       []Claim{{"57AC9F8DCF65C4B0", "S", 2}},
				ShortKeyIDs:  []Claim{{"CF65C4B0", "S", 2}},
			},
		},
		{
			name: "fingerprint followed by a hex-looking word",
			md:   "PGP: 1BA0 7AD4 5DC8 B1A1 BA8F 016D 57AC 9F8D CF65 C4B0 face\n",
			want: Claims{Fingerprints: []Claim{{fpr, "S", 1}}},
		},
		{
			name: "commit hashes and hex words are not keys",
			md:   "Fixed in https://github.com/acme/app/commit/0123456789abcdef0123456789abcdef01234567.\nThe deadbeef value; build 12345678.\n",
			want: Claims{},
		},
		{
			name: "keyserver URL and bare path",
			md:   "Get it from https://keys.openpgp.org/vks/v1/by-fingerprint/" + fpr + " or keys/security.gpg.\n",
			want: Claims{
				KeyRefs:      []Claim{{"https://keys.openpgp.org/vks/v1/by-fingerprint/" + fpr, "S", 1}, {"keys/security.gpg", "S", 1}},
				Fingerprints: []Claim{{fpr, "S", 1}},
			},
		},
		{
			name: "HTML comments are ignored, lines still count",
			md:   "<!-- template:\nmail example@example.com\n-->\nMail psirt@acme.io\n",
			want: Claims{Emails: []Claim{{"psirt@acme.io", "S", 4}}},
		},
		{
			name: "image names are not addresses",
			md:   "![logo](img/logo@2x.png)\n",
			want: Claims{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseSecurityMD("S", []byte(tc.md))
			got.PromisesEncryption = nil
			want := normalizeClaims(tc.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
	if c := ParseSecurityMD("S", []byte("Line one\nPlease encrypt with GPG.\n")); c.PromisesEncryption == nil || c.PromisesEncryption.Line != 2 {
		t.Errorf("promise = %+v, want line 2", c.PromisesEncryption)
	}
	if c := ParseSecurityMD("S", []byte("We read every report.\n")); c.PromisesEncryption != nil {
		t.Errorf("promise = %+v, want none", c.PromisesEncryption)
	}
}

func normalizeClaims(c Claims) Claims {
	for _, l := range []*[]Claim{&c.Emails, &c.KeyRefs, &c.Fingerprints, &c.KeyIDs, &c.ShortKeyIDs} {
		if *l == nil {
			*l = []Claim{}
		}
	}
	return c
}

func TestParseSecurityTxt(t *testing.T) {
	const fpr = "1BA07AD45DC8B1A1BA8F016D57AC9F8DCF65C4B0"
	txt := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" +
		"# comment\nContact: mailto:Security@Example.org?subject=vuln\ncontact: https://example.org/report\n" +
		"Encryption: openpgp4fpr:" + strings.ToLower(fpr) + "\nEncryption: https://example.org/pgp.asc\n" +
		"- Expires: 2026-01-01T00:00:00.000Z\n-----BEGIN PGP SIGNATURE-----\n\nContact: mailto:ignored@example.org\n-----END PGP SIGNATURE-----\n"
	got := ParseSecurityTxt("T", []byte(txt))
	want := Claims{
		Emails:             []Claim{{"security@example.org", "T", 5}},
		OtherContacts:      []Claim{{"https://example.org/report", "T", 6}},
		Fingerprints:       []Claim{{fpr, "T", 7}},
		KeyRefs:            []Claim{{"https://example.org/pgp.asc", "T", 8}},
		KeyIDs:             []Claim{},
		ShortKeyIDs:        []Claim{},
		PromisesEncryption: &Claim{"openpgp4fpr:" + strings.ToLower(fpr), "T", 7},
		Expires:            &Claim{"2026-01-01T00:00:00.000Z", "T", 9},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func TestPromisesKey(t *testing.T) {
	at := &Claim{Value: "x", Path: "S", Line: 1}
	tests := []struct {
		name string
		c    Claims
		want bool
	}{
		{"nothing", Claims{Emails: []Claim{*at}}, false},
		{"key path", Claims{KeyRefs: []Claim{*at}}, true},
		{"fingerprint", Claims{Fingerprints: []Claim{*at}}, true},
		{"long key ID", Claims{KeyIDs: []Claim{*at}}, true},
		{"short key ID", Claims{ShortKeyIDs: []Claim{*at}}, true},
		{"pasted key", Claims{InlineKey: at}, true},
		{"mentions encryption", Claims{PromisesEncryption: at}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.PromisesKey(); got != tc.want {
				t.Errorf("PromisesKey() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	first := &Claim{Value: "first", Path: "SECURITY.md", Line: 3}
	c := Claims{Emails: []Claim{{"a@x.io", "SECURITY.md", 1}}, PromisesEncryption: first}
	c.Merge(Claims{
		Emails:             []Claim{{"b@x.io", "security.txt", 1}},
		Fingerprints:       []Claim{{"F", "security.txt", 2}},
		PromisesEncryption: &Claim{Value: "second", Path: "security.txt", Line: 2},
		InlineKey:          &Claim{Value: PublicKeyBlock, Path: "security.txt", Line: 4},
	})
	want := Claims{
		Emails:             []Claim{{"a@x.io", "SECURITY.md", 1}, {"b@x.io", "security.txt", 1}},
		Fingerprints:       []Claim{{"F", "security.txt", 2}},
		PromisesEncryption: first,
		InlineKey:          &Claim{Value: PublicKeyBlock, Path: "security.txt", Line: 4},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
}

func TestArmorLabel(t *testing.T) {
	tests := []struct {
		line, prefix string
		want         string
		ok           bool
	}{
		{"-----BEGIN PGP PUBLIC KEY BLOCK-----", ArmorBegin, PublicKeyBlock, true},
		{"  -----END PGP PRIVATE KEY BLOCK-----\r", ArmorEnd, PrivateKeyBlock, true},
		{"-----BEGIN PGP SIGNATURE-----", ArmorBegin, "PGP SIGNATURE", true},
		{"-----END PGP PUBLIC KEY BLOCK-----", ArmorBegin, "", false},
		{"-----BEGIN -----", ArmorBegin, "", false},
		{"-----BEGIN PGP PUBLIC KEY BLOCK", ArmorBegin, "", false},
		{"text -----BEGIN PGP PUBLIC KEY BLOCK-----", ArmorBegin, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			got, ok := ArmorLabel([]byte(tc.line), tc.prefix)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ArmorLabel(%q, %q) = %q, %v; want %q, %v", tc.line, tc.prefix, got, ok, tc.want, tc.ok)
			}
		})
	}
}
