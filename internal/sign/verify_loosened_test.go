package sign_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// attestDoc signs ref and attests a GO document edited by edit, directly:
// what a signer on the code before issue 23 could be brought to sign.
func attestDoc(t *testing.T, s *sign.Signer, ref string, edit func(*evidence.Document)) {
	t.Helper()
	ctx := context.Background()
	tg := resolve(t, ref)
	if _, err := s.Sign(ctx, tg); err != nil {
		t.Fatal(err)
	}
	doc := cannedBundle(t, tg.Repository, evidence.GO, now, scanned{digest: tg.Digest, imageID: tg.ImageID}).Doc
	edit(doc)
	p, err := sign.NewEvidencePredicate(doc, tg, s.Identity())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attest(ctx, tg, []sign.Statement{{PredicateType: sign.EvidencePredicateType, Predicate: p}}); err != nil {
		t.Fatal(err)
	}
}

func scansOf(t *testing.T, doc *evidence.Document) []evidence.ImageScan {
	t.Helper()
	s, ok := doc.Checks[0].Facts[evidence.FactScans].([]evidence.ImageScan)
	if !ok {
		t.Fatalf("canned scans are %T", doc.Checks[0].Facts[evidence.FactScans])
	}
	return s
}

// Issue 23 section 4: verify retires old GOs by default, cross-checks
// generated_at against the scans and DB it records, and with --deny-waived
// refuses a GO that relied on a waiver or a loosened block_on.
func TestVerifyRefusesOldEditedAndLoosenedGOs(t *testing.T) {
	reg := signtest.StartRegistry(t)
	keys := signtest.KeyPair(t, password)
	s := newSigner(t, keys)
	waivedCritical := checks.Finding{Rule: "SCAN-CRITICAL-VULN", ID: "SCAN-CRITICAL-VULN/CVE-2099-0001/musl", Severity: checks.SeverityCritical, Message: "musl"}
	edits := map[string]func(*evidence.Document){
		"plain": func(*evidence.Document) {},
		"generated_at edited to now": func(d *evidence.Document) {
			sc := scansOf(t, d)
			sc[0].StartedAt, sc[0].FinishedAt = now.Add(-31*24*time.Hour-time.Minute), now.Add(-31*24*time.Hour)
		},
		"DB newer than the document": func(d *evidence.Document) {
			d.Checks[0].Facts[evidence.FactScanDB] = evidence.ScanDB{SchemaVersion: 2, UpdatedAt: now.Add(time.Hour)}
		},
		"waived by readiness.yaml": func(d *evidence.Document) {
			f := waivedCritical
			f.WaivedBy = "CVE-2099-0001"
			d.Checks[0].Findings, d.Checks[0].Status = []checks.Finding{f}, checks.StatusFail
		},
		"waived by policy code": func(d *evidence.Document) {
			f := waivedCritical
			f.WaivedBy = "policy:policy/x.rego:4"
			d.Checks[0].Findings, d.Checks[0].Status = []checks.Finding{f}, checks.StatusFail
		},
		"block_on without high": func(d *evidence.Document) { d.Settings.BlockOn = []string{"critical"} },
		"a check's block_on without critical": func(d *evidence.Document) {
			d.Checks[0].BlockOn = []checks.Severity{checks.SeverityHigh}
		},
	}
	for name, edit := range edits {
		tag := strings.NewReplacer(" ", "-", "'", "", "_", "-").Replace(name)
		reg.Push(t, "app:"+tag, trivytest.Image("amd64", map[string]string{"etc/alpine-release": "3.19.1\n", "tag": tag}))
		attestDoc(t, s, reg.Host+"/app:"+tag, edit)
	}
	day := 24 * time.Hour
	tests := []struct {
		name, tag string
		now       time.Time
		maxAge    time.Duration
		deny      bool
		want      string // "" verifies
	}{
		{"fresh GO", "plain", now, sign.DefaultVerifyMaxAge, false, ""},
		{"31-day-old GO under the default max age", "plain", now.Add(31 * day), sign.DefaultVerifyMaxAge, false, "older than --max-age 720h0m0s"},
		{"31-day-old GO with the limit disabled", "plain", now.Add(31 * day), 0, false, ""},
		{"generated_at edited to now", "generated-at-edited-to-now", now, sign.DefaultVerifyMaxAge, false, "31d after its scan"},
		{"generated_at edited, limit disabled", "generated-at-edited-to-now", now, 0, false, "after its scan"},
		{"DB newer than the document", "DB-newer-than-the-document", now, 0, false, "after the evidence was generated"},
		{"readiness.yaml waiver without --deny-waived", "waived-by-readiness.yaml", now, 0, false, ""},
		{"readiness.yaml waiver with --deny-waived", "waived-by-readiness.yaml", now, 0, true, "--deny-waived: critical finding SCAN-CRITICAL-VULN/CVE-2099-0001/musl was waived (CVE-2099-0001)"},
		{"policy code waiver with --deny-waived", "waived-by-policy-code", now, 0, true, "was waived (policy:policy/x.rego:4)"},
		{"block_on without high with --deny-waived", "block-on-without-high", now, 0, true, "block_on is [critical], without critical or high"},
		{"check block_on without critical with --deny-waived", "a-checks-block-on-without-critical", now, 0, true, "check image-scan's block_on is [high]"},
		{"no waiver with --deny-waived", "plain", now, 0, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := verifyOpts(keys)
			o.RequireVuln, o.MaxAge, o.DenyWaived = false, tc.maxAge, tc.deny
			at := tc.now
			o.Now = func() time.Time { return at }
			v, err := sign.Verify(context.Background(), resolve(t, reg.Host+"/app:"+tc.tag), o)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(v.Failures, "\n")
			switch {
			case tc.want == "" && !v.OK():
				t.Errorf("verify failed: %s", got)
			case tc.want != "" && v.OK():
				t.Errorf("verify passed, want a failure saying %q", tc.want)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("failures %q do not say %q", got, tc.want)
			}
		})
	}
}
