package disclosure

import (
	"bytes"
	"strings"
)

// Armor header lines (RFC 9580 §6.2). A disclosure document may paste an
// armored key block; the security-key gate reads key files by the same
// lines, so that both agree on where a block begins and ends.
const (
	ArmorBegin      = "-----BEGIN "
	ArmorEnd        = "-----END "
	PublicKeyBlock  = "PGP PUBLIC KEY BLOCK"
	PrivateKeyBlock = "PGP PRIVATE KEY BLOCK"

	armorDashes = "-----"
)

// ArmorLabel returns the label of an armor line that starts with prefix
// (ArmorBegin or ArmorEnd): "PGP PUBLIC KEY BLOCK" for
// "-----BEGIN PGP PUBLIC KEY BLOCK-----".
func ArmorLabel(line []byte, prefix string) (string, bool) {
	s := string(bytes.TrimSpace(line))
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, armorDashes) || len(s) <= len(prefix)+len(armorDashes) {
		return "", false
	}
	return s[len(prefix) : len(s)-len(armorDashes)], true
}

// truncate shortens a claim's value to n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
