package securitykey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Fuzz targets for every parser of outside input. Run one for a while with
//
//	go test ./internal/checks/securitykey -run '^$' -fuzz '^FuzzParseKeyFile$' -fuzztime 60s
//
// Seeds are the gpg-made fixtures.

func seedFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzParseKeyFile(f *testing.F) {
	seedFiles(f, filepath.Join("docs", "keys", "security.asc"))
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Add([]byte{0x99, 0x00, 0x33, 0x04})
	ev := newEvaluator(judgedAt, Options{}.WithDefaults(), "k.asc")
	f.Fuzz(func(t *testing.T, data []byte) {
		kf := parseKeyFile(data)
		if len(kf.Problems)+len(kf.Certs)+len(kf.Secrets) == 0 {
			t.Fatalf("parseKeyFile said nothing about %q", data)
		}
		for _, p := range kf.Problems {
			if p.Rule == "" || p.Kind == "" || p.Msg == "" || strings.Contains(p.Msg, "\n") {
				t.Fatalf("problem without rule, kind or one-line message: %+v", p)
			}
		}
		for _, c := range kf.Certs {
			rep := ev.evaluate(c)
			if rep.Facts.Fingerprint == "" || rep.Facts.Status == "" {
				t.Fatalf("certificate without fingerprint or status: %+v", rep.Facts)
			}
			for _, fd := range rep.Findings {
				if fd.Rule == "" || fd.Message == "" || !fd.Severity.Valid() {
					t.Fatalf("bad finding %+v", fd)
				}
			}
		}
	})
}

// FuzzMergeCopies: any file read twice (every certificate appearing as two
// copies) merges into one certificate per fingerprint, holding at least
// every signature of each copy, and is judged without a fault.
func FuzzMergeCopies(f *testing.F) {
	seedFiles(f, filepath.Join("docs", "keys", "security.asc"))
	ev := newEvaluator(judgedAt, Options{}.WithDefaults(), "k.asc")
	f.Fuzz(func(t *testing.T, data []byte) {
		kf := parseKeyFile(append(append([]byte{}, data...), data...))
		fprs := map[string]int{}
		for _, c := range kf.Certs {
			fprs[fingerprintHex(c.Entity.PrimaryKey.Fingerprint)]++
		}
		merged := kf.distinctCerts()
		if len(merged) != len(fprs) {
			t.Fatalf("%d certificates merged from %d fingerprints", len(merged), len(fprs))
		}
		for _, m := range merged {
			fpr := fingerprintHex(m.Entity.PrimaryKey.Fingerprint)
			for _, c := range kf.Certs {
				if fingerprintHex(c.Entity.PrimaryKey.Fingerprint) != fpr {
					continue
				}
				if len(m.Entity.Revocations) < len(c.Entity.Revocations) || len(m.Entity.Subkeys) < len(c.Entity.Subkeys) ||
					len(m.Entity.Identities) < len(c.Entity.Identities) {
					t.Fatalf("merged certificate %s holds less than one of its copies", fpr)
				}
			}
			if rep := ev.evaluate(m); rep.Facts.Fingerprint != fpr {
				t.Fatalf("merged certificate judged as %q, want %s", rep.Facts.Fingerprint, fpr)
			}
		}
	})
}

// FuzzMergeNeverForgets: whatever two files hold, read together (as a key
// file holding two blocks is), the merged certificate keeps every
// revocation a copy of it carries: when any copy alone is judged revoked,
// or judges one of its subkeys revoked, so is the merged certificate. A
// merge that dropped a copy's revocation would turn a revoked key into GO.
// Seeds pair a clean copy with its revoked (and subkey-revoked) later copy.
func FuzzMergeNeverForgets(f *testing.F) {
	for _, revoke := range []func(e *openpgp.Entity) error{
		func(e *openpgp.Entity) error { return e.Revoke(packet.KeyCompromised, "lost", genConfig(0)) },
		func(e *openpgp.Entity) error { return e.Subkeys[0].Revoke(packet.KeySuperseded, "new", genConfig(0)) },
	} {
		e := genEntity(f, "security@example.org", genConfig(2*365*oneDay))
		clean := rawPublic(f, e)
		if err := revoke(e); err != nil {
			f.Fatal(err)
		}
		later := rawPublic(f, e)
		f.Add(armorRaw(f, clean), armorRaw(f, later))
		f.Add(later, clean)
	}
	ev := newEvaluator(judgedAt, Options{}.WithDefaults(), "k.asc")
	f.Fuzz(func(t *testing.T, a, b []byte) {
		kf := parseKeyFile(append(append([]byte{}, a...), b...))
		revoked := map[string]bool{}    // certificate fingerprints some copy revokes
		subRevoked := map[string]bool{} // subkey fingerprints some copy revokes
		for _, c := range kf.Certs {
			rep := ev.evaluate(c)
			if rep.Facts.Status == "revoked" {
				revoked[rep.Facts.Fingerprint] = true
			}
			for _, s := range rep.Facts.Subkeys {
				if s.Status == "revoked" {
					subRevoked[rep.Facts.Fingerprint+"/"+s.Fingerprint] = true
				}
			}
		}
		for _, m := range kf.distinctCerts() {
			rep := ev.evaluate(m)
			fpr := rep.Facts.Fingerprint
			if revoked[fpr] && rep.Facts.Status != "revoked" {
				t.Fatalf("a copy of %s is revoked, the merged certificate is %s", fpr, rep.Facts.Status)
			}
			got := map[string]string{}
			for _, s := range rep.Facts.Subkeys {
				got[s.Fingerprint] = s.Status
			}
			for k := range subRevoked {
				if sub, ok := strings.CutPrefix(k, fpr+"/"); ok && got[sub] != "revoked" {
					t.Fatalf("a copy of %s revokes subkey %s, the merged certificate says %q", fpr, sub, got[sub])
				}
			}
		}
	})
}
