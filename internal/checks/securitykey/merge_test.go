package securitykey

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/google/go-cmp/cmp"
)

// rawPublic is e's public certificate as binary packets, as it is now.
func rawPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// armorRaw puts packet sequences into one armored public key block.
func armorRaw(t testing.TB, raws ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		if _, err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// renew gives e's user IDs and subkeys new self-signatures at `at` with the
// key lifetime life, as `gpg --quick-set-expire` does.
func renew(t testing.TB, e *openpgp.Entity, at time.Time, life time.Duration) {
	t.Helper()
	cfg := genConfig(0)
	cfg.Time = func() time.Time { return at }
	secs := uint32(life / time.Second)
	for _, id := range e.Identities {
		last := id.SelfCertifications[len(id.SelfCertifications)-1].Packet
		s := *last
		s.CreationTime, s.KeyLifetimeSecs = at, &secs
		if err := s.SignUserId(id.UserId.Id, e.PrimaryKey, e.PrivateKey, cfg); err != nil {
			t.Fatalf("renew user ID: %v", err)
		}
		id.SelfCertifications = append(id.SelfCertifications, packet.NewVerifiableSig(&s))
	}
	for i := range e.Subkeys {
		sk := &e.Subkeys[i]
		last := sk.Bindings[len(sk.Bindings)-1].Packet
		s := *last
		s.CreationTime, s.KeyLifetimeSecs = at, &secs
		if err := s.SignKey(sk.PublicKey, e.PrivateKey, cfg); err != nil {
			t.Fatalf("renew subkey: %v", err)
		}
		sk.Bindings = append(sk.Bindings, packet.NewVerifiableSig(&s))
	}
}

// TestCertificateCopiesMerged: a certificate published more than once is
// judged as gpg and keyservers see it, every copy merged. On the code that
// judged the first copy only, the revoked cases were GO and the renewed
// one a false NO-GO.
func TestCertificateCopiesMerged(t *testing.T) {
	const email = "security@example.org"

	revoked := genEntity(t, email, genConfig(2*365*oneDay))
	revokedClean := rawPublic(t, revoked)
	if err := revoked.Revoke(packet.KeyCompromised, "lost", genConfig(0)); err != nil {
		t.Fatal(err)
	}
	revokedLater := rawPublic(t, revoked)

	subRevoked := genEntity(t, email, genConfig(2*365*oneDay))
	subClean := rawPublic(t, subRevoked)
	if err := subRevoked.Subkeys[0].Revoke(packet.KeyCompromised, "lost", genConfig(0)); err != nil {
		t.Fatal(err)
	}
	subLater := rawPublic(t, subRevoked)

	// Made with a 30-day lifetime (expired by judgedAt), renewed for two
	// years in a copy appended later.
	renewed := genEntity(t, email, genConfig(30*oneDay))
	renewedOld := rawPublic(t, renewed)
	renew(t, renewed, genTime.Add(20*oneDay), 2*365*oneDay)
	renewedNew := rawPublic(t, renewed)

	mdWithBlock := func(fpr string, block []byte) string {
		return standardMD(fpr, email) + "\n```\n" + string(block) + "```\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		rules []string
	}{
		{name: "two blocks, the later revokes the key",
			files: map[string]string{"docs/keys/security.asc": string(armorRaw(t, revokedClean)) + string(armorRaw(t, revokedLater)),
				"SECURITY.md": standardMD(fprOf(revoked), email)},
			rules: []string{"KEY-NO-ENCRYPTION", "KEY-REVOKED"}},
		{name: "one block holding the key twice, the second revoked",
			files: map[string]string{"docs/keys/security.asc": string(armorRaw(t, revokedClean, revokedLater)),
				"SECURITY.md": standardMD(fprOf(revoked), email)},
			rules: []string{"KEY-NO-ENCRYPTION", "KEY-REVOKED"}},
		{name: "the later copy revokes the only encryption subkey",
			files: map[string]string{"docs/keys/security.asc": string(armorRaw(t, subClean)) + string(armorRaw(t, subLater)),
				"SECURITY.md": standardMD(fprOf(subRevoked), email)},
			rules: []string{"KEY-NO-ENCRYPTION"}},
		{name: "a clean file, its copy pasted into SECURITY.md revoked",
			files: map[string]string{"docs/keys/security.asc": string(armorRaw(t, revokedClean)),
				"SECURITY.md": mdWithBlock(fprOf(revoked), armorRaw(t, revokedLater))},
			rules: []string{"KEY-NO-ENCRYPTION", "KEY-REVOKED"}},
		{name: "renewed in a later copy: sound",
			files: map[string]string{"docs/keys/security.asc": string(armorRaw(t, renewedOld)) + string(armorRaw(t, renewedNew)),
				"SECURITY.md": standardMD(fprOf(renewed), email)}},
		// The counterparts: each copy alone is judged as it is.
		{name: "the clean copy alone is sound",
			files: map[string]string{"docs/keys/security.asc": string(armorRaw(t, revokedClean)), "SECURITY.md": standardMD(fprOf(revoked), email)}},
		{name: "the old copy alone is expired",
			files: map[string]string{"docs/keys/security.asc": string(armorRaw(t, renewedOld)), "SECURITY.md": standardMD(fprOf(renewed), email)},
			rules: []string{"KEY-EXPIRED", "KEY-NO-ENCRYPTION"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCheck(t, repo(t, tc.files), Options{}, judgedAt)
			got := rulesOf(res)
			slices.Sort(got)
			got = slices.Compact(got)
			want := slices.Clone(tc.rules)
			slices.Sort(want)
			if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
				t.Errorf("rules (-want +got):\n%s\n%s", diff, describe(res))
			}
			for _, f := range res.Findings {
				if f.Rule == "KEY-MULTIPLE-CERTS" || strings.Contains(f.Message, "2 certificates") {
					t.Errorf("copies of one certificate counted as several: %s", f.Message)
				}
			}
		})
	}
}

// cmpEmpty treats nil and empty rule lists alike.
var cmpEmpty = cmp.Transformer("nonil", func(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
})

// TestMergeLeavesCopiesAlone: merging builds a new certificate; the
// entities read from the file keep what they held.
func TestMergeLeavesCopiesAlone(t *testing.T) {
	e := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	clean := rawPublic(t, e)
	if err := e.Revoke(packet.KeyCompromised, "lost", genConfig(0)); err != nil {
		t.Fatal(err)
	}
	kf := parseKeyFile(armorRaw(t, clean, rawPublic(t, e)))
	if len(kf.Certs) != 2 {
		t.Fatalf("%d certificates read, want the 2 copies", len(kf.Certs))
	}
	merged := kf.distinctCerts()
	if len(merged) != 1 || len(merged[0].Entity.Revocations) != 1 {
		t.Fatalf("merged: %d certificates, want 1 carrying the revocation", len(merged))
	}
	if n := len(kf.Certs[0].Entity.Revocations); n != 0 {
		t.Errorf("the clean copy gained %d revocations from the merge", n)
	}
	if again := kf.distinctCerts(); len(again[0].Entity.Revocations) != 1 {
		t.Errorf("merging twice duplicated signatures: %d revocations", len(again[0].Entity.Revocations))
	}
}

// TestNoPromiseNoKeyFinding: a disclosure policy that offers no encrypted
// channel is not missing a key (issue 27, 3; it was a critical KEY-MISSING),
// and every remedy names the repository's own address.
func TestNoPromiseNoKeyFinding(t *testing.T) {
	tests := []struct {
		name, md  string
		key       string // the gate's key option
		rules     []string
		remedyHas string
	}{
		{name: "no promise, but the team configured a key path", md: "# Security\n\nReport vulnerabilities to security@acme.io.\n",
			key: "keys/team.asc", rules: []string{"KEY-MISSING", "KEY-NOT-NAMED"}, remedyHas: "security@acme.io"},
		{name: "plain e-mail policy", md: "# Security\n\nReport vulnerabilities to security@acme.io. We answer within 3 days.\n",
			rules: []string{"KEY-NOT-PROMISED"}},
		{name: "GitHub advisories only", md: "# Security Policy\n\nUse GitHub's private vulnerability reporting.\n",
			rules: []string{"KEY-NOT-PROMISED"}},
		{name: "promises encryption, no key", md: "# Security\n\nMail security@acme.io, encrypted with PGP if you can.\n",
			rules: []string{"KEY-MISSING", "KEY-NOT-NAMED"}, remedyHas: "gpg --armor --export security@acme.io"},
		{name: "names a fingerprint, no key", md: "# Security\n\nMail security@acme.io; key 0123456789ABCDEF0123456789ABCDEF01234567.\n",
			rules: []string{"KEY-MISSING"}, remedyHas: "security@acme.io"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCheck(t, repo(t, map[string]string{"SECURITY.md": tc.md}), Options{Key: tc.key}, judgedAt)
			got := rulesOf(res)
			if diff := cmp.Diff(tc.rules, got); diff != "" {
				t.Fatalf("rules (-want +got):\n%s\n%s", diff, describe(res))
			}
			f := res.Findings[0]
			if tc.rules[0] == "KEY-NOT-PROMISED" && f.Severity != "info" {
				t.Errorf("severity %s, want info", f.Severity)
			}
			if tc.remedyHas != "" && !strings.Contains(f.Remediation, tc.remedyHas) {
				t.Errorf("remedy %q lacks %q", f.Remediation, tc.remedyHas)
			}
			for _, f := range res.Findings {
				if strings.Contains(f.Remediation, "example.org") {
					t.Errorf("%s's remedy names a placeholder address: %s", f.Rule, f.Remediation)
				}
			}
		})
	}
}

// TestMergeKeepsAForgedLookAlikeApart: a copy holding a revocation that
// looks like the genuine one (same type, issuer, time, hash tag) but is
// not must not displace the genuine revocation of another copy.
func TestMergeKeepsAForgedLookAlikeApart(t *testing.T) {
	e := genEntity(t, "security@example.org", genConfig(2*365*oneDay))
	clean := rawPublic(t, e)
	if err := e.Revoke(packet.KeyCompromised, "lost", genConfig(0)); err != nil {
		t.Fatal(err)
	}
	genuine := rawPublic(t, e)
	kf := parseKeyFile(armorRaw(t, clean, genuine))
	rev := *kf.Certs[1].Entity.Revocations[0].Packet
	forged := rev
	forged.EdDSASigR = rev.EdDSASigS // the same look, a signature that does not verify
	forged.EdDSASigS = rev.EdDSASigR
	kf.Certs[0].Entity.Revocations = []*packet.VerifiableSignature{packet.NewVerifiableSig(&forged)}
	merged := mergeCerts(kf.Certs)
	if n := len(merged[0].Entity.Revocations); n != 2 {
		t.Fatalf("%d revocations after merging, want the look-alike and the genuine one", n)
	}
	if !merged[0].Entity.Revoked(judgedAt) {
		t.Error("the merged certificate is not revoked: the look-alike displaced the genuine revocation")
	}
}
