package securitykey

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFindingIDsAndRemedies: findings built by the rules book keep the IDs
// the gate always gave (RULE/subject, a repeat suffixed /2), and a remedy
// written for security@example.org names the repository's own address.
func TestFindingIDsAndRemedies(t *testing.T) {
	const wrong = "0123456789ABCDEF0123456789ABCDEF01234567"
	good := genEntity(t, "psirt@acme.io", genConfig(2*365*oneDay))
	tests := []struct {
		name  string
		files map[string]string
		opts  Options
		// wantIDs are the IDs of the findings of rule.
		rule    string
		wantIDs []string
		// wantRemedy is in rule's remediation, wantNot is not.
		wantRemedy, wantNot string
	}{
		{
			name: "the same wrong fingerprint stated twice",
			files: map[string]string{
				"docs/keys/security.asc": string(armored(t, good)),
				"SECURITY.md":            standardMD(wrong, "psirt@acme.io"),
			},
			opts:       Options{Fingerprint: wrong},
			rule:       "KEY-FINGERPRINT-MISMATCH",
			wantIDs:    []string{"KEY-FINGERPRINT-MISMATCH/" + wrong, "KEY-FINGERPRINT-MISMATCH/" + wrong + "/2"},
			wantRemedy: "gpg --show-keys --with-fingerprint docs/keys/security.asc",
		},
		{
			name:       "a missing key's remedy names the contact address",
			files:      map[string]string{"SECURITY.md": "# Security\n\nMail psirt@acme.io, encrypted with PGP.\n"},
			rule:       "KEY-MISSING",
			wantIDs:    []string{"KEY-MISSING/docs/keys/security.asc"},
			wantRemedy: "gpg --armor --export psirt@acme.io > docs/keys/security.asc",
			wantNot:    "security@example.org",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCheck(t, repo(t, tc.files), tc.opts, judgedAt)
			var ids []string
			for _, f := range res.Findings {
				if f.Rule != tc.rule {
					continue
				}
				ids = append(ids, f.ID)
				if !strings.Contains(f.Remediation, tc.wantRemedy) || (tc.wantNot != "" && strings.Contains(f.Remediation, tc.wantNot)) {
					t.Errorf("%s remediation %q, want it to contain %q and not %q", f.ID, f.Remediation, tc.wantRemedy, tc.wantNot)
				}
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("%s IDs (-want +got):\n%s\n%s", tc.rule, diff, describe(res))
			}
		})
	}
}
