package securitykey

import (
	"bytes"
	"crypto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// Keys made by go-crypto in the test itself, for what gpg cannot make or
// what needs the clock relative to the key's own creation.

var genTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const oneDay = 24 * time.Hour

// genConfig is a go-crypto key-generation config at genTime.
func genConfig(lifetime time.Duration) *packet.Config {
	return &packet.Config{
		Time:            func() time.Time { return genTime },
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Curve:           packet.Curve25519,
		KeyLifetimeSecs: uint32(lifetime / time.Second),
	}
}

func genEntity(t testing.TB, email string, cfg *packet.Config) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity("Test Security", "", email, cfg)
	if err != nil {
		t.Fatalf("NewEntity: %v", err)
	}
	return e
}

// armored serializes the public certificates of es into one armored block.
func armored(t testing.TB, es ...*openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if err := e.Serialize(w); err != nil {
			t.Fatalf("Serialize: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// armoredPrivate serializes e with its secret keys under the given label.
func armoredPrivate(t testing.TB, e *openpgp.Entity, label string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, label, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatalf("SerializePrivate: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func standardMD(fpr, email string) string {
	return "# Security\n\nReport vulnerabilities to " + email + ", encrypted with our OpenPGP key\n" +
		"[docs/keys/security.asc](docs/keys/security.asc), fingerprint " + fpr + ".\n"
}

// repo writes a miniature repository and returns its directory.
func repo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fprOf(e *openpgp.Entity) string { return fingerprintHex(e.PrimaryKey.Fingerprint) }

func keyRepo(t testing.TB, key []byte, fpr string) string {
	return repo(t, map[string]string{"docs/keys/security.asc": string(key), "SECURITY.md": standardMD(fpr, "security@example.org")})
}

func findingsBy(res checks.Result) map[string]checks.Finding {
	m := map[string]checks.Finding{}
	for _, f := range res.Findings {
		m[f.Rule] = f
	}
	return m
}

func TestGeneratedKeys(t *testing.T) {
	good := genEntity(t, "security@example.org", genConfig(2*365*oneDay))

	v6cfg := genConfig(2 * 365 * oneDay)
	v6cfg.V6Keys = true
	v6cfg.Algorithm = packet.PubKeyAlgoEd25519
	v6 := genEntity(t, "security@example.org", v6cfg)

	revokedSub := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	if err := revokedSub.Subkeys[0].Revoke(packet.KeyCompromised, "lost", genConfig(0)); err != nil {
		t.Fatal(err)
	}

	// A subkey swapped in under another key's binding signature.
	forgedSub := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	other := genEntity(t, "other@example.org", genConfig(2*365*oneDay))
	forgedSub.Subkeys[0].PublicKey = other.Subkeys[0].PublicKey

	// A second user ID whose self-signature belongs to the first.
	forgedUID := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	orig := forgedUID.Identities[firstKey(forgedUID.Identities)]
	fake := *orig
	fake.Name = "Mallory <mallory@example.org>"
	fake.UserId = packet.NewUserId("Mallory", "", "mallory@example.org")
	forgedUID.Identities[fake.Name] = &fake

	// Only a forged user ID: nothing binds the key.
	onlyForged := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	for k, id := range onlyForged.Identities {
		delete(onlyForged.Identities, k)
		f := *id
		f.Name = "Test Security <security@example.org> (edited)"
		f.UserId = packet.NewUserId("Test Security", "edited", "security@example.org")
		onlyForged.Identities[f.Name] = &f
	}

	// A signing subkey bound and back-signed with SHA-1.
	sha1Sub := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	sha1cfg := genConfig(2 * 365 * oneDay)
	sha1cfg.DefaultHash = crypto.SHA1
	sha1cfg.NonDeterministicSignaturesViaNotation = ptr(false) // its salt notation has no SHA-1 size
	if err := sha1Sub.AddSigningSubkey(sha1cfg); err != nil {
		t.Fatal(err)
	}

	// A signing subkey whose binding lacks the back-signature.
	noBacksig := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	if err := noBacksig.AddSigningSubkey(genConfig(2 * 365 * oneDay)); err != nil {
		t.Fatal(err)
	}
	sk := &noBacksig.Subkeys[len(noBacksig.Subkeys)-1]
	b := sk.Bindings[0].Packet
	b.EmbeddedSignature = nil
	if err := b.SignKey(sk.PublicKey, noBacksig.PrivateKey, genConfig(0)); err != nil {
		t.Fatal(err)
	}

	// RSA-2048 made by go-crypto, to cross-check the gpg fixture.
	rsaCfg := genConfig(2 * 365 * oneDay)
	rsaCfg.Algorithm, rsaCfg.RSABits = packet.PubKeyAlgoRSA, 2048
	rsa2048 := genEntity(t, "security@example.org", rsaCfg)

	protected := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	if err := protected.EncryptPrivateKeys([]byte("correct horse"), genConfig(0)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		dir   string
		opts  Options
		now   time.Time
		rules []string
		check func(t *testing.T, res checks.Result)
	}{
		{name: "v4 ed25519 sound", dir: keyRepo(t, armored(t, good), fprOf(good)), now: judgedAt},
		{name: "v6 ed25519 with a 64-hex fingerprint", dir: keyRepo(t, armored(t, v6), fprOf(v6)), now: judgedAt,
			check: func(t *testing.T, res checks.Result) {
				c := res.Facts["certificates"].([]CertFacts)[0]
				if c.Version != 6 || len(c.Fingerprint) != 64 || !c.CanEncrypt {
					t.Errorf("v6 facts: version %d, fingerprint %s, can_encrypt %v", c.Version, c.Fingerprint, c.CanEncrypt)
				}
			}},
		{name: "judged before the key was made", dir: keyRepo(t, armored(t, good), fprOf(good)), now: genTime.Add(-oneDay),
			rules: []string{"KEY-BAD-SELF-SIG", "KEY-NO-ENCRYPTION"}},
		{name: "judged 1 oneDay after creation, 2y key", dir: keyRepo(t, armored(t, good), fprOf(good)), now: genTime.Add(oneDay)},
		{name: "judged 70 days before expiry warns", dir: keyRepo(t, armored(t, good), fprOf(good)), now: genTime.Add(730*oneDay - 70*oneDay),
			rules: []string{"KEY-EXPIRING-SOON"},
			check: func(t *testing.T, res checks.Result) {
				if f := res.Findings[0]; f.Severity != checks.SeverityMedium || f.Properties["days_left"] != 70 {
					t.Errorf("got %s with %v days left, want medium with 70", f.Severity, f.Properties["days_left"])
				}
			}},
		{name: "judged 10 days before expiry fails", dir: keyRepo(t, armored(t, good), fprOf(good)), now: genTime.Add(730*oneDay - 10*oneDay),
			rules: []string{"KEY-EXPIRING-SOON"},
			check: func(t *testing.T, res checks.Result) {
				if f := res.Findings[0]; f.Severity != checks.SeverityHigh {
					t.Errorf("severity %s, want high", f.Severity)
				}
			}},
		{name: "custom windows: 10 days left under fail 7d warn 14d", dir: keyRepo(t, armored(t, good), fprOf(good)), now: genTime.Add(730*oneDay - 10*oneDay),
			opts: Options{ExpiryFail: cfgDays(7), ExpiryWarn: cfgDays(14)}, rules: []string{"KEY-EXPIRING-SOON"},
			check: func(t *testing.T, res checks.Result) {
				if f := res.Findings[0]; f.Severity != checks.SeverityMedium {
					t.Errorf("severity %s, want medium", f.Severity)
				}
			}},
		{name: "judged a oneDay after expiry", dir: keyRepo(t, armored(t, good), fprOf(good)), now: genTime.Add(731 * oneDay),
			rules: []string{"KEY-EXPIRED", "KEY-NO-ENCRYPTION"}},
		{name: "only encryption subkey revoked", dir: keyRepo(t, armored(t, revokedSub), fprOf(revokedSub)), now: judgedAt,
			rules: []string{"KEY-NO-ENCRYPTION"},
			check: func(t *testing.T, res checks.Result) {
				if m := res.Findings[0].Message; !strings.Contains(m, "is revoked") {
					t.Errorf("message does not say the subkey is revoked: %s", m)
				}
			}},
		{name: "forged subkey binding", dir: keyRepo(t, armored(t, forgedSub), fprOf(forgedSub)), now: judgedAt,
			rules: []string{"KEY-BAD-SELF-SIG", "KEY-NO-ENCRYPTION"},
			check: func(t *testing.T, res checks.Result) {
				if f := findingsBy(res)["KEY-BAD-SELF-SIG"]; f.Severity != checks.SeverityHigh {
					t.Errorf("forged subkey: severity %s, want high", f.Severity)
				}
			}},
		{name: "forged second user ID", dir: keyRepo(t, armored(t, forgedUID), fprOf(forgedUID)), now: judgedAt,
			rules: []string{"KEY-BAD-SELF-SIG"},
			check: func(t *testing.T, res checks.Result) {
				if f := res.Findings[0]; f.Severity != checks.SeverityHigh || !strings.Contains(f.Message, "mallory@example.org") {
					t.Errorf("forged uid: %s %s", f.Severity, f.Message)
				}
			}},
		{name: "forged only user ID", dir: keyRepo(t, armored(t, onlyForged), fprOf(onlyForged)), now: judgedAt,
			rules: []string{"KEY-BAD-SELF-SIG", "KEY-NO-ENCRYPTION", "KEY-UID-MISMATCH"},
			check: func(t *testing.T, res checks.Result) {
				if f := findingsBy(res)["KEY-BAD-SELF-SIG"]; f.Severity != checks.SeverityCritical {
					t.Errorf("severity %s, want critical", f.Severity)
				}
			}},
		{name: "SHA-1 binding and back-signature on a signing subkey", dir: keyRepo(t, armored(t, sha1Sub), fprOf(sha1Sub)), now: judgedAt,
			rules: []string{"KEY-WEAK-HASH"},
			check: func(t *testing.T, res checks.Result) {
				m := res.Findings[0].Message
				if !strings.Contains(m, "back-signature") || !strings.Contains(m, "binding signature") {
					t.Errorf("message does not name the binding and the back-signature: %s", m)
				}
			}},
		{name: "signing subkey without back-signature", dir: keyRepo(t, armored(t, noBacksig), fprOf(noBacksig)), now: judgedAt,
			rules: []string{"KEY-BAD-SELF-SIG"},
			check: func(t *testing.T, res checks.Result) {
				if m := res.Findings[0].Message; !strings.Contains(m, "cross-signature") {
					t.Errorf("message does not explain the missing back-signature: %s", m)
				}
			}},
		{name: "go-crypto RSA-2048", dir: keyRepo(t, armored(t, rsa2048), fprOf(rsa2048)), now: judgedAt,
			rules: []string{"KEY-WEAK-RSA", "KEY-WEAK-RSA"}},
		{name: "two armored blocks", dir: keyRepo(t, append(armored(t, good), armored(t, other)...), fprOf(good)), now: judgedAt,
			rules: []string{"KEY-MULTIPLE-CERTS"}},
		{name: "public block then a private block", dir: keyRepo(t, append(armored(t, good), armoredPrivate(t, other, openpgp.PrivateKeyType)...), fprOf(good)), now: judgedAt,
			rules: []string{"KEY-PRIVATE-PUBLISHED", "KEY-MULTIPLE-CERTS"},
			check: func(t *testing.T, res checks.Result) {
				f := findingsBy(res)["KEY-PRIVATE-PUBLISHED"]
				if f.Location == nil || f.Location.Line < 2 || !strings.Contains(f.Message, fprOf(other)) || !strings.Contains(f.Message, "UNPROTECTED") {
					t.Errorf("private block: %+v", f)
				}
			}},
		{name: "secret packets under a PUBLIC KEY BLOCK label", dir: keyRepo(t, armoredPrivate(t, good, openpgp.PublicKeyType), fprOf(good)), now: judgedAt,
			rules: []string{"KEY-PRIVATE-PUBLISHED"},
			check: func(t *testing.T, res checks.Result) {
				if m := res.Findings[0].Message; !strings.Contains(m, "secret key material") {
					t.Errorf("message: %s", m)
				}
			}},
		{name: "passphrase-protected private key", dir: keyRepo(t, armoredPrivate(t, protected, openpgp.PrivateKeyType), fprOf(protected)), now: judgedAt,
			rules: []string{"KEY-PRIVATE-PUBLISHED"},
			check: func(t *testing.T, res checks.Result) {
				if m := res.Findings[0].Message; !strings.Contains(m, "passphrase-protected") {
					t.Errorf("message: %s", m)
				}
			}},
		{name: "armor without checksum line is fine", dir: keyRepo(t, dropCRC(t, armored(t, good)), fprOf(good)), now: judgedAt},
		{name: "CRLF line endings are fine", dir: keyRepo(t, bytes.ReplaceAll(armored(t, good), []byte("\n"), []byte("\r\n")), fprOf(good)), now: judgedAt},
		{name: "contacts option overrides SECURITY.md", dir: keyRepo(t, armored(t, good), fprOf(good)), now: judgedAt,
			opts: Options{Contacts: []string{"PSIRT@example.org", "Security@Example.org"}}, rules: []string{"KEY-UID-MISMATCH"},
			check: func(t *testing.T, res checks.Result) {
				if id := res.Findings[0].ID; id != "KEY-UID-MISMATCH/psirt@example.org" {
					t.Errorf("id %s", id)
				}
			}},
		{name: "fingerprint option mismatch", dir: keyRepo(t, armored(t, good), fprOf(good)), now: judgedAt,
			opts: Options{Fingerprint: fprOf(other)}, rules: []string{"KEY-FINGERPRINT-MISMATCH"},
			check: func(t *testing.T, res checks.Result) {
				if res.Findings[0].Location != nil || !strings.Contains(res.Findings[0].Message, "with.fingerprint") {
					t.Errorf("finding: %+v", res.Findings[0])
				}
			}},
		{name: "no SECURITY.md", dir: repo(t, map[string]string{"docs/keys/security.asc": string(armored(t, good))}), now: judgedAt,
			rules: []string{"KEY-SECURITY-MD-MISSING"}},
		{name: ".github/SECURITY.md is found", dir: repo(t, map[string]string{"docs/keys/security.asc": string(armored(t, good)),
			".github/SECURITY.md": "Mail security@example.org, key [here](../docs/keys/security.asc), fingerprint " + fprOf(good)}), now: judgedAt,
			check: func(t *testing.T, res checks.Result) {
				if res.Facts["security_md"] != ".github/SECURITY.md" {
					t.Errorf("security_md fact %v", res.Facts["security_md"])
				}
			}},
		{name: "configured security.txt missing", dir: keyRepo(t, armored(t, good), fprOf(good)), now: judgedAt,
			opts: Options{SecurityTxt: "public/.well-known/security.txt"}, rules: []string{"KEY-SECURITY-TXT-MISSING"}},
		{name: "SECURITY.md links another key file", dir: repo(t, map[string]string{"docs/keys/security.asc": string(armored(t, good)),
			"SECURITY.md": "Mail security@example.org, encrypted to [our key](keys/pgp.asc) " + fprOf(good)}), now: judgedAt,
			rules: []string{"KEY-PATH-MISMATCH"}},
		{name: "SECURITY.md links the key on GitHub", dir: repo(t, map[string]string{"docs/keys/security.asc": string(armored(t, good)),
			"SECURITY.md": "Mail security@example.org, encrypted to https://github.com/acme/app/blob/main/docs/keys/security.asc"}), now: judgedAt},
		{name: "SECURITY.md without an address", dir: repo(t, map[string]string{"docs/keys/security.asc": string(armored(t, good)),
			"SECURITY.md": "Use GitHub private vulnerability reporting. Our PGP key: docs/keys/security.asc, " + fprOf(good)}), now: judgedAt,
			rules: []string{"KEY-NO-CONTACT"}},
		{name: "SECURITY.md names no key and promises nothing", dir: repo(t, map[string]string{"docs/keys/security.asc": string(armored(t, good)),
			"SECURITY.md": "Mail security@example.org."}), now: judgedAt,
			rules: []string{"KEY-NOT-NAMED"},
			check: func(t *testing.T, res checks.Result) {
				if s := res.Findings[0].Severity; s != checks.SeverityMedium {
					t.Errorf("severity %s, want medium", s)
				}
			}},
		{name: "key path is a directory", dir: repo(t, map[string]string{"docs/keys/security.asc/README": "x", "SECURITY.md": standardMD(fprOf(good), "security@example.org")}), now: judgedAt,
			rules: []string{"KEY-UNREADABLE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCheck(t, tc.dir, tc.opts, tc.now)
			want := slices.Clone(tc.rules)
			slices.Sort(want)
			if diff := cmp.Diff(want, rulesOf(res)); diff != "" {
				t.Fatalf("rules (-want +got):\n%s\nfindings:\n%s", diff, describe(res))
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func cfgDays(n int) config.Duration { return config.Duration(time.Duration(n) * oneDay) }

func firstKey[V any](m map[string]V) string {
	for k := range m {
		return k
	}
	return ""
}

// dropCRC removes the "=XXXX" checksum line, which RFC 9580 makes optional.
func dropCRC(t testing.TB, b []byte) []byte {
	t.Helper()
	var out []string
	dropped := false
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) == 5 && l[0] == '=' {
			dropped = true
			continue
		}
		out = append(out, l)
	}
	if !dropped {
		t.Fatal("no checksum line to drop")
	}
	return []byte(strings.Join(out, "\n"))
}
