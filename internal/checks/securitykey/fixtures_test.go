package securitykey

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/testutil/golden"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
)

// judgedAt is the clock the gpg fixtures are judged by: they were made on
// 2025-01-01 (the expired ones on 2023-01-01) by testdata/make-fixtures.sh.
var judgedAt = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// fixtureCases lists every directory under testdata/cases with the rule IDs
// (one entry per finding) the gate must report and the verdict gpg gives
// for the same key (see docs/gates/security-key.md, "gpg comparison").
var fixtureCases = []struct {
	name  string
	rules []string
	opts  Options
}{
	{name: "good"},
	{name: "rsa3072"},
	{name: "rsa2048", rules: []string{"KEY-WEAK-RSA", "KEY-WEAK-RSA"}},
	{name: "rsa1024", rules: []string{"KEY-WEAK-RSA", "KEY-WEAK-RSA"}},
	{name: "dsa-elgamal", rules: []string{"KEY-WEAK-ALGO", "KEY-WEAK-ALGO"}},
	{name: "expired", rules: []string{"KEY-EXPIRED", "KEY-NO-ENCRYPTION"}},
	{name: "primary-expired-subkey-never", rules: []string{"KEY-EXPIRED", "KEY-NO-ENCRYPTION"}},
	{name: "revoked", rules: []string{"KEY-REVOKED", "KEY-NO-ENCRYPTION"}},
	{name: "sign-only", rules: []string{"KEY-NO-ENCRYPTION"}},
	{name: "expired-encryption-subkey", rules: []string{"KEY-NO-ENCRYPTION"}},
	{name: "sha1-self-signature", rules: []string{"KEY-WEAK-HASH"}},
	{name: "ripemd160-self-signature", rules: []string{"KEY-MALFORMED", "KEY-WEAK-HASH"}},
	{name: "expiring-in-14-days", rules: []string{"KEY-EXPIRING-SOON"}},
	{name: "expiring-in-61-days", rules: []string{"KEY-EXPIRING-SOON"}},
	{name: "no-expiry", rules: []string{"KEY-NO-EXPIRY"}},
	{name: "wrong-email", rules: []string{"KEY-UID-MISMATCH"}},
	{name: "deliberately-leaked-private-key", rules: []string{"KEY-PRIVATE-PUBLISHED"}},
	{name: "two-certificates", rules: []string{"KEY-MULTIPLE-CERTS"}},
	{name: "two-certificates-allowed", rules: nil, opts: Options{SingleCertificate: ptr(false)}},
	{name: "binary", rules: []string{"KEY-NOT-ARMORED"}},
	{name: "truncated", rules: []string{"KEY-MALFORMED"}},
	{name: "bad-crc", rules: []string{"KEY-MALFORMED"}},
	{name: "bad-packets", rules: []string{"KEY-MALFORMED"}},
	{name: "signature-not-key", rules: []string{"KEY-MALFORMED"}},
	{name: "not-openpgp", rules: []string{"KEY-MALFORMED"}},
	{name: "empty", rules: []string{"KEY-EMPTY"}},
	{name: "missing", rules: []string{"KEY-MISSING"}},
	{name: "fingerprint-mismatch", rules: []string{"KEY-FINGERPRINT-MISMATCH"}},
	{name: "short-key-id", rules: []string{"KEY-SHORT-ID"}},
	{name: "long-key-id", rules: []string{"KEY-LONG-ID"}},
	{name: "key-not-named", rules: []string{"KEY-NOT-NAMED"}},
	{name: "several-contacts", rules: []string{"KEY-UID-MISMATCH"}},
	{name: "security-txt"},
	{name: "security-txt-mismatch", rules: []string{"KEY-UID-MISMATCH", "KEY-FINGERPRINT-MISMATCH"}},
	// How real projects lay it out (issue 14, items 8-11).
	{name: "root-relative-link"},
	{name: "root-relative-link-wrong", rules: []string{"KEY-PATH-MISMATCH"}},
	{name: "well-known-web-root", opts: Options{Key: "public/.well-known/security.asc"}},
	{name: "inline-key"},
	{name: "inline-key-expired", rules: []string{"KEY-EXPIRED", "KEY-NO-ENCRYPTION"}},
	{name: "inline-key-and-file"},
	{name: "inline-key-mismatch", rules: []string{"KEY-INLINE-MISMATCH"}},
	// A configured key file that is missing stays missing, block or not.
	{name: "inline-key-configured-file-missing", rules: []string{"KEY-MISSING"}, opts: Options{Key: "keys/security.asc"}},
	{name: "security-txt-stale", rules: []string{"KEY-SECURITY-TXT-STALE"}},
	{name: "security-txt-expiring", rules: []string{"KEY-SECURITY-TXT-EXPIRING"}},
	{name: "security-txt-no-expires", rules: []string{"KEY-SECURITY-TXT-STALE"}},
	{name: "public-and-private-block", rules: []string{"KEY-PRIVATE-PUBLISHED"}},
}

func ptr[T any](v T) *T { return &v }

// caseDir maps a case to its fixture directory (a few cases reuse one).
func caseDir(name string) string {
	switch name {
	case "two-certificates-allowed":
		name = "two-certificates"
	case "inline-key-configured-file-missing":
		name = "inline-key"
	}
	return filepath.Join("testdata", "cases", name)
}

// runCheck runs the gate on the miniature repository dir (its root: the
// fixtures sit inside this project's checkout, whose root is elsewhere).
func runCheck(t testing.TB, dir string, o Options, now time.Time) checks.Result {
	t.Helper()
	chk := New(o, checks.Env{Dir: dir, Root: dir, Now: func() time.Time { return now }})
	res, err := chk.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func rulesOf(res checks.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Rule)
	}
	slices.Sort(out)
	return out
}

func TestFixtures(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "cases"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range fixtureCases {
		listed[filepath.Base(caseDir(c.name))] = true
	}
	for _, d := range dirs {
		if !listed[d.Name()] {
			t.Errorf("testdata/cases/%s has no entry in fixtureCases", d.Name())
		}
	}
	for _, tc := range fixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCheck(t, caseDir(tc.name), tc.opts, judgedAt)
			want := slices.Clone(tc.rules)
			slices.Sort(want)
			if diff := cmp.Diff(want, rulesOf(res)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\nfindings:\n%s", diff, describe(res))
			}
			wantStatus := checks.StatusPass
			if len(tc.rules) > 0 {
				wantStatus = checks.StatusFail
			}
			if res.Status != wantStatus {
				t.Errorf("status = %s, want %s", res.Status, wantStatus)
			}
			for _, f := range res.Findings {
				if f.Remediation == "" || f.Message == "" || !f.Severity.Valid() {
					t.Errorf("finding %s lacks a message, remediation or valid severity: %+v", f.ID, f)
				}
			}
			assertNoKeyMaterial(t, caseDir(tc.name), res)
			goldenResult(t, tc.name, res)
		})
	}
}

func describe(res checks.Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString("  " + string(f.Severity) + " " + f.ID + ": " + f.Message + "\n")
	}
	return b.String()
}

// golden compares the result, without remediations (rules.yaml holds them),
// with testdata/golden/NAME.json.
func goldenResult(t *testing.T, name string, res checks.Result) {
	t.Helper()
	for i := range res.Findings {
		res.Findings[i].Remediation = ""
	}
	got, err := json.MarshalIndent(struct {
		Status   checks.Status    `json:"status"`
		Summary  string           `json:"summary"`
		Findings []checks.Finding `json:"findings"`
		Subjects []checks.Subject `json:"subjects,omitempty"`
		Facts    map[string]any   `json:"facts"`
	}{res.Status, res.Summary, res.Findings, res.Subjects, res.Facts}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "golden", name+".json"), append(got, '\n'))
}

var armorLineRE = regexp.MustCompile(`^[A-Za-z0-9+/=]{24,}$`)

// assertNoKeyMaterial fails when any line of base64 from the key file, or
// any 24-byte run of its binary content, appears in the result.
func assertNoKeyMaterial(t *testing.T, dir string, res checks.Result) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "docs", "keys", "security.asc"))
	if err != nil {
		return
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if armorLineRE.MatchString(l) && bytes.Contains(out, []byte(l[:24])) {
			t.Errorf("the result contains key material from %s: %q", dir, l[:24])
		}
	}
}
