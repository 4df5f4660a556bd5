// Package disclosure reads what a repository's disclosure policy promises:
// the contact addresses, key files, fingerprints and key IDs that
// SECURITY.md and an RFC 9116 security.txt state, and where in the
// repository a web URL they name is served from. It only reads and never
// judges: the security-key gate compares these claims with the key, and
// scaffold proposes that gate where they promise one.
package disclosure

import (
	"bytes"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Claim is one statement a disclosure document makes, with where it makes it.
type Claim struct {
	Value string `json:"value"`
	Path  string `json:"path"`
	Line  int    `json:"line"`
}

// Claims are what SECURITY.md and security.txt say about the key.
type Claims struct {
	// Emails are contact addresses, lower-cased.
	Emails []Claim `json:"emails"`
	// KeyRefs are paths or URLs where the key is said to be.
	KeyRefs []Claim `json:"key_refs"`
	// Fingerprints are full v4 (40-hex) or v6 (64-hex) fingerprints, upper-case.
	Fingerprints []Claim `json:"fingerprints"`
	// KeyIDs are 64-bit key IDs (16 hex digits).
	KeyIDs []Claim `json:"key_ids"`
	// ShortKeyIDs are 32-bit key IDs (8 hex digits), which collide.
	ShortKeyIDs []Claim `json:"short_key_ids"`
	// PromisesEncryption is the first line that mentions encryption or PGP.
	PromisesEncryption *Claim `json:"promises_encryption,omitempty"`
	// Contacts are security.txt Contact: values that are not e-mail (web forms, tel:).
	OtherContacts []Claim `json:"other_contacts,omitempty"`
	// Expires is security.txt's Expires: field.
	Expires *Claim `json:"expires,omitempty"`
	// InlineKey is the first armored key block pasted into SECURITY.md.
	InlineKey *Claim `json:"inline_key,omitempty"`
}

// Merge appends o's claims to c's; where both name a first line that
// promises encryption or pastes a key, c's is kept.
func (c *Claims) Merge(o Claims) {
	c.Emails = append(c.Emails, o.Emails...)
	c.KeyRefs = append(c.KeyRefs, o.KeyRefs...)
	c.Fingerprints = append(c.Fingerprints, o.Fingerprints...)
	c.KeyIDs = append(c.KeyIDs, o.KeyIDs...)
	c.ShortKeyIDs = append(c.ShortKeyIDs, o.ShortKeyIDs...)
	c.OtherContacts = append(c.OtherContacts, o.OtherContacts...)
	if c.PromisesEncryption == nil {
		c.PromisesEncryption = o.PromisesEncryption
	}
	if c.InlineKey == nil {
		c.InlineKey = o.InlineKey
	}
}

// PromisesKey reports whether SECURITY.md or security.txt promises an
// OpenPGP key: names a key file or URL, a fingerprint or key ID, pastes a
// key, or mentions encryption, PGP or GPG.
func (c Claims) PromisesKey() bool {
	return len(c.KeyRefs)+len(c.Fingerprints)+len(c.KeyIDs)+len(c.ShortKeyIDs) > 0 || c.InlineKey != nil || c.PromisesEncryption != nil
}

var (
	emailRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:mailto:)?\b([a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,})\b`)
	})
	// A run of hex digits, optionally in groups of four separated by one or
	// two spaces, the way gpg prints fingerprints.
	hexRunRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:\b0x|\b)[0-9a-f]{4}(?:[ \t]{0,2}[0-9a-f]{4})*\b`)
	})
	urlRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("https?://[^\\s<>()\\[\\]\"'`]+") })
	// Markdown link targets and bare tokens that name a key file.
	linkRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`) })
	// A whole inline link, [text](target): a path in its text is the
	// target's label, not a second reference.
	fullLinkRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[[^\[\]]*\]\(\s*<?[^)\s>]+>?(?:\s+"[^"]*")?\s*\)`) })
	keyPathRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile("(?i)(?:^|[\\s(\\[\"'`<:])((?:\\.{0,2}/)?(?:[\\w.\\-]+/)*[\\w.\\-]+\\.(?:asc|gpg|pgp))\\b")
	})
	encryptRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)\b(?:encrypt\w*|pgp|gpg|gnupg|openpgp)\b`) })
	keyWordsRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(?:key|keyid|fingerprint|pgp|gpg|gnupg|openpgp)\b`)
	})
	htmlCmtRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)<!--.*?-->`) })

	blankRemover = strings.NewReplacer(" ", "", "\t", "")
)

// keyservers are hosts that serve keys; a link to one names the key.
var keyservers = []string{"keys.openpgp.org", "keyserver.ubuntu.com", "pgp.mit.edu", "keybase.io", "keys.mailvelope.com", "pgpkeys.eu"}

// ParseSecurityMD reads what a SECURITY.md says about contacts and the key.
// path is only recorded in the claims. It never fails: text is text.
func ParseSecurityMD(path string, data []byte) Claims {
	c := Claims{Emails: []Claim{}, KeyRefs: []Claim{}, Fingerprints: []Claim{}, KeyIDs: []Claim{}, ShortKeyIDs: []Claim{}}
	// Blank HTML comments (template guidance) but keep their newlines, so
	// that line numbers stay right.
	data = htmlCmtRE().ReplaceAllFunc(data, func(m []byte) []byte {
		return bytes.Map(func(r rune) rune {
			if r == '\n' {
				return r
			}
			return ' '
		}, m)
	})
	lines := strings.Split(string(data), "\n")
	seen := map[string]bool{}
	add := func(list *[]Claim, kind, v string, line int) {
		k := kind + "\x00" + v
		if seen[k] {
			return
		}
		seen[k] = true
		*list = append(*list, Claim{Value: v, Path: path, Line: line})
	}
	inArmor := ""
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSuffix(raw, "\r")
		// An armored key pasted in names the key; its base64 says nothing
		// else (and could look like a key ID).
		if typ, ok := ArmorLabel([]byte(line), ArmorBegin); ok && inArmor == "" {
			if (typ == PublicKeyBlock || typ == PrivateKeyBlock) && c.InlineKey == nil {
				c.InlineKey = &Claim{Value: typ, Path: path, Line: n}
			}
			inArmor = typ
			continue
		}
		if inArmor != "" {
			if typ, ok := ArmorLabel([]byte(line), ArmorEnd); ok && typ == inArmor {
				inArmor = ""
			}
			continue
		}
		if c.PromisesEncryption == nil && encryptRE().MatchString(line) {
			c.PromisesEncryption = &Claim{Value: strings.TrimSpace(truncate(line, 120)), Path: path, Line: n}
		}
		urls := urlRE().FindAllStringIndex(line, -1)
		inURL := func(lo int) string {
			// urls are in order and disjoint: find the last one starting at or before lo.
			i := sort.Search(len(urls), func(i int) bool { return urls[i][0] > lo }) - 1
			if i >= 0 && lo < urls[i][1] {
				return line[urls[i][0]:urls[i][1]]
			}
			return ""
		}
		for _, m := range emailRE().FindAllStringSubmatchIndex(line, -1) {
			addr := strings.ToLower(line[m[2]:m[3]])
			if u := inURL(m[0]); u != "" && !strings.HasPrefix(strings.ToLower(line[m[0]:m[1]]), "mailto:") {
				continue // user@host inside a URL is not a contact
			}
			if notAnEmail(addr) {
				continue
			}
			add(&c.Emails, "email", addr, n)
		}
		for _, u := range urls {
			ref := strings.TrimRight(line[u[0]:u[1]], ".,;:!?")
			if isKeyURL(ref) {
				add(&c.KeyRefs, "ref", ref, n)
			}
		}
		for _, m := range linkRE().FindAllStringSubmatch(line, -1) {
			if t := m[1]; !strings.Contains(t, "://") && isKeyPath(t) {
				add(&c.KeyRefs, "ref", t, n)
			}
		}
		links := fullLinkRE().FindAllStringIndex(line, -1)
		for _, m := range keyPathRE().FindAllStringSubmatchIndex(line, -1) {
			if inURL(m[2]) != "" || slices.ContainsFunc(links, func(l []int) bool { return m[2] >= l[0] && m[3] <= l[1] }) {
				continue
			}
			add(&c.KeyRefs, "ref", line[m[2]:m[3]], n)
		}
		context := keyWordsRE().MatchString(line) || (i > 0 && keyWordsRE().MatchString(lines[i-1]))
		for _, m := range hexRunRE().FindAllStringIndex(line, -1) {
			tok := line[m[0]:m[1]]
			prefixed := strings.HasPrefix(strings.ToLower(tok), "0x")
			if prefixed {
				tok = tok[2:]
			}
			hex := strings.ToUpper(blankRemover.Replace(tok))
			if u := inURL(m[0]); u != "" && !keyLookupURL(u) {
				continue // a commit hash in a link, not a key
			}
			spaced := strings.ContainsAny(tok, " \t")
			if spaced && len(hex) > 40 && len(hex) != 64 {
				hex = hex[:40] // a fingerprint followed by a hex-looking word ("… 7890 face")
			}
			switch len(hex) {
			case 40, 64:
				if spaced || prefixed || context || hasDigitAndLetter(hex) {
					add(&c.Fingerprints, "fpr", hex, n)
				}
			case 16:
				if !spaced && (prefixed || context) && hasDigit(hex) {
					add(&c.KeyIDs, "id", hex, n)
				}
			case 8:
				if !spaced && (prefixed || context) && hasDigit(hex) {
					add(&c.ShortKeyIDs, "short", hex, n)
				}
			}
		}
	}
	return c
}

// notAnEmail drops things shaped like addresses that are not: retina image
// names ("logo@2x.png") and the like.
func notAnEmail(a string) bool {
	for _, ext := range []string{".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"} {
		if strings.HasSuffix(a, ext) {
			return true
		}
	}
	return false
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func hasDigitAndLetter(s string) bool { return hasDigit(s) && strings.ContainsAny(s, "ABCDEF") }

func isKeyPath(p string) bool {
	p = strings.ToLower(p)
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	switch path.Ext(p) {
	case ".asc", ".gpg", ".pgp":
		return true
	}
	return strings.Contains(p, ".well-known/openpgpkey/")
}

func isKeyURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	if isKeyPath(pu.Path) {
		return true
	}
	return keyLookupURL(u)
}

// keyLookupURL reports a keyserver or WKD URL.
func keyLookupURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := strings.ToLower(pu.Hostname())
	for _, k := range keyservers {
		if host == k || strings.HasSuffix(host, "."+k) {
			return true
		}
	}
	return strings.HasPrefix(host, "openpgpkey.") || strings.Contains(pu.Path, "/.well-known/openpgpkey/")
}

// ParseSecurityTxt reads an RFC 9116 security.txt: its Contact: and
// Encryption: fields (and Expires:). A cleartext-signed file is read
// through its signature framing. It never fails.
func ParseSecurityTxt(path string, data []byte) Claims {
	c := Claims{Emails: []Claim{}, KeyRefs: []Claim{}, Fingerprints: []Claim{}, KeyIDs: []Claim{}, ShortKeyIDs: []Claim{}}
	lines := strings.Split(string(data), "\n")
	signed := false
	inHeader := false
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "-----BEGIN PGP SIGNED MESSAGE-----":
			signed, inHeader = true, true
			continue
		case inHeader:
			if trimmed == "" {
				inHeader = false
			}
			continue
		case signed && trimmed == "-----BEGIN PGP SIGNATURE-----":
			return c
		}
		if signed {
			line = strings.TrimPrefix(line, "- ") // dash-escaping
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "contact":
			if strings.HasPrefix(strings.ToLower(value), "mailto:") {
				addr := value[len("mailto:"):]
				if j := strings.IndexByte(addr, '?'); j >= 0 {
					addr = addr[:j]
				}
				if un, err := url.PathUnescape(addr); err == nil {
					addr = un
				}
				addr = strings.ToLower(strings.TrimSpace(addr))
				if strings.Count(addr, "@") == 1 && !strings.ContainsAny(addr, " \t<>") {
					c.Emails = append(c.Emails, Claim{Value: addr, Path: path, Line: n})
				} else {
					c.OtherContacts = append(c.OtherContacts, Claim{Value: truncate(value, 200), Path: path, Line: n})
				}
			} else if value != "" {
				c.OtherContacts = append(c.OtherContacts, Claim{Value: truncate(value, 200), Path: path, Line: n})
			}
		case "encryption":
			if c.PromisesEncryption == nil {
				c.PromisesEncryption = &Claim{Value: truncate(value, 120), Path: path, Line: n}
			}
			lower := strings.ToLower(value)
			switch {
			case strings.HasPrefix(lower, "openpgp4fpr:"):
				hex := strings.ToUpper(strings.ReplaceAll(value[len("openpgp4fpr:"):], " ", ""))
				if strings.Trim(hex, "0123456789ABCDEF") != "" {
					break
				}
				switch len(hex) {
				case 40, 64:
					c.Fingerprints = append(c.Fingerprints, Claim{Value: hex, Path: path, Line: n})
				case 16:
					c.KeyIDs = append(c.KeyIDs, Claim{Value: hex, Path: path, Line: n})
				case 8:
					c.ShortKeyIDs = append(c.ShortKeyIDs, Claim{Value: hex, Path: path, Line: n})
				}
			case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "http://"):
				c.KeyRefs = append(c.KeyRefs, Claim{Value: value, Path: path, Line: n})
			case strings.HasPrefix(lower, "dns:"):
				c.KeyRefs = append(c.KeyRefs, Claim{Value: value, Path: path, Line: n})
			}
		case "expires":
			c.Expires = &Claim{Value: truncate(value, 60), Path: path, Line: n}
		}
	}
	return c
}
