package securitykey

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/checkstest"
)

func TestCRC24(t *testing.T) {
	// The checksum gpg wrote for the fixture "good" is the one we compute.
	data, err := os.ReadFile(filepath.Join("testdata", "cases", "good", "docs", "keys", "security.asc"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := parseArmor(data)
	if len(blocks) != 1 || blocks[0].Problem != armorOK {
		t.Fatalf("blocks = %+v", blocks)
	}
	if got := crc24(nil); got != 0xB704CE {
		t.Errorf("crc24(nil) = %06X, want B704CE", got)
	}
}

func TestParseArmorProblems(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "cases", "good", "docs", "keys", "security.asc"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\n")
	body := strings.Join(lines[2:len(lines)-3], "\n") // between the blank line and the checksum
	tests := []struct {
		name string
		in   string
		want []armorProblem
	}{
		{"sound", string(good), []armorProblem{armorOK}},
		{"text around the block is ignored", "Our key:\n\n" + string(good) + "\nThanks.\n", []armorProblem{armorOK}},
		{"no END line", strings.Join(lines[:len(lines)-2], "\n"), []armorProblem{armorTruncated}},
		{"END before data", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----\n", []armorProblem{armorTruncated}},
		{"END of another type", strings.Replace(string(good), "-----END PGP PUBLIC KEY BLOCK-----", "-----END PGP MESSAGE-----", 1), []armorProblem{armorEnd}},
		{"header without blank line", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + body + "\n-----END PGP PUBLIC KEY BLOCK-----\n", []armorProblem{armorHeader}},
		{"non-base64 line", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + body + "\nnot base64!\n-----END PGP PUBLIC KEY BLOCK-----\n", []armorProblem{armorBase64}},
		{"bad padding", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAB=C\n-----END PGP PUBLIC KEY BLOCK-----\n", []armorProblem{armorBase64}},
		{"checksum not base64", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + body + "\n=!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n", []armorProblem{armorCRC}},
		{"line after checksum", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + body + "\n=AAAA\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n", []armorProblem{armorEnd}},
		{"wrong checksum", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + body + "\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n", []armorProblem{armorCRC}},
		{"second BEGIN before END", strings.Join(lines[:5], "\n") + "\n" + string(good), []armorProblem{armorTruncated, armorOK}},
		{"two blocks", string(good) + string(good), []armorProblem{armorOK, armorOK}},
		{"no armor", "hello\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []armorProblem
			for _, b := range parseArmor([]byte(tc.in)) {
				got = append(got, b.Problem)
				if b.Problem != armorOK && b.Detail == "" {
					t.Errorf("problem %q without detail", b.Problem)
				}
				if b.Problem == armorOK && b.Body == nil {
					t.Errorf("sound block without body")
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanPackets(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		tags    []int
		wantErr string
	}{
		{"new format one-octet length", []byte{0xC0 | 13, 2, 'h', 'i'}, []int{13}, ""},
		{"new format two-octet length", append([]byte{0xC0 | 13, 192, 8}, bytes.Repeat([]byte{'a'}, 200)...), []int{13}, ""},
		{"new format partial body", append(append([]byte{0xC0 | 11, 0xE1}, 'a', 'b'), 1, 'c'), []int{11}, ""},
		{"legacy one-octet length", []byte{0x80 | 13<<2, 1, 'x', 0x80 | 13<<2 | 1, 0, 1, 'y'}, []int{13, 13}, ""},
		{"legacy indeterminate", []byte{0x80 | 11<<2 | 3, 'a', 'b'}, []int{11}, ""},
		{"truncated body", []byte{0xC0 | 6, 10, 1, 2}, nil, "truncated"},
		{"truncated length", []byte{0xC0 | 6, 0xFF, 0, 0}, nil, "truncated"},
		{"legacy four-octet length too long", []byte{0x80 | 6<<2 | 2, 0xFF, 0xFF, 0xFF, 0xFF}, nil, "truncated"},
		{"implausible length", []byte{0xC0 | 6, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF}, nil, "implausible"},
		{"not a header", []byte{0x41}, nil, "not an OpenPGP packet header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts, err := scanPackets(tc.in)
			var tags []int
			for _, p := range pkts {
				tags = append(tags, p.Tag)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.tags, tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"defaults", Options{}, ""},
		{"warn shorter than fail", Options{ExpiryFail: cfgDays(30), ExpiryWarn: cfgDays(7)}, "expiry_warn (7 days) must not be shorter than expiry_fail (30 days)"},
		{"rsa bits too low", Options{MinRSABits: 1024}, "min_rsa_bits must be between 2048 and 16384 (got 1024)"},
		{"short fingerprint", Options{Fingerprint: "CF65C4B0"}, `fingerprint "CF65C4B0" is not a full 40- or 64-hex-digit OpenPGP fingerprint`},
		{"bad contact", Options{Contacts: []string{"Security <security@example.org>"}}, `contacts: "Security <security@example.org>" is not an e-mail address`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.WithDefaults().Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRulesDocumented(t *testing.T) {
	rules := map[string]bool{}
	for _, r := range Gate().Rules.Rules() {
		rules[r.ID] = true
	}
	used := map[string]bool{}
	re := regexp.MustCompile(`"(KEY-[A-Z0-9-]*[A-Z0-9])["/]`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = true
		}
	}
	for id := range used {
		if !rules[id] {
			t.Errorf("%s is emitted but not in rules.yaml", id)
		}
	}
	for id := range rules {
		if !used[id] {
			t.Errorf("%s is in rules.yaml but never emitted", id)
		}
	}
}

// TestRulesNamed: every rule and case the gate's source names is in
// rules.yaml, so no finding reaches a user as the book's defect.
func TestRulesNamed(t *testing.T) {
	checkstest.RulesNamed(t, ".", book)
}

// TestGradedRules: a graded rule's grades are the table's, as documented
// in each rule's description.
func TestGradedRules(t *testing.T) {
	tests := []struct {
		rule, cas string
		want      checks.Severity
	}{
		{"KEY-BAD-SELF-SIG", "", checks.SeverityCritical},
		{"KEY-BAD-SELF-SIG", "some-parts", checks.SeverityHigh},
		{"KEY-EXPIRING-SOON", "", checks.SeverityHigh},
		{"KEY-EXPIRING-SOON", "within-warn", checks.SeverityMedium},
		{"KEY-WEAK-RSA", "", checks.SeverityHigh},
		{"KEY-WEAK-RSA", "factorable", checks.SeverityCritical},
		{"KEY-NOT-NAMED", "", checks.SeverityHigh},
		{"KEY-NOT-NAMED", "no-promise", checks.SeverityMedium},
	}
	for _, tc := range tests {
		t.Run(tc.rule+"/"+tc.cas, func(t *testing.T) {
			f := book.Case(tc.rule, tc.cas, "s", "m", nil)
			if f.Severity != tc.want || f.Remediation == "" || f.ID != tc.rule+"/s" {
				t.Errorf("Case(%s, %q) = severity %s, ID %s, remediation %q; want %s, %s/s and a remediation",
					tc.rule, tc.cas, f.Severity, f.ID, f.Remediation, tc.want, tc.rule)
			}
		})
	}
}
