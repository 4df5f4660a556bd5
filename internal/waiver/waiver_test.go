package waiver_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/waiver"
)

func date(s string) config.Date {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return config.Date{Time: t}
}

func TestApply(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	results := []checks.Result{
		{Check: "scan", Findings: []checks.Finding{
			{Rule: "SCAN-CRITICAL-VULN", ID: "SCAN-CRITICAL-VULN/CVE-2024-0001/openssl"},
			{Rule: "SCAN-HIGH-VULN", ID: "SCAN-HIGH-VULN/CVE-2024-0002/zlib"},
			{Rule: "SCAN-HIGH-VULN", ID: "SCAN-HIGH-VULN/CVE-2024-0003/zlib"},
		}},
		{Check: "key", Findings: []checks.Finding{{Rule: "KEY-NO-EXPIRY", ID: "KEY-NO-EXPIRY"}}},
	}
	ws := []config.Waiver{
		{ID: "SCAN-CRITICAL-VULN/CVE-2024-0001/openssl", Reason: "r", Owner: "a", Expires: date("2027-01-31"), Line: 10},
		{ID: "SCAN-HIGH-VULN/CVE-2024-0002*", Check: "scan", Reason: "r", Owner: "b", Expires: date("2026-12-01")},
		{ID: "SCAN-HIGH-VULN/CVE-2024-0003/zlib", Reason: "r", Owner: "c", Expires: date("2026-11-23")},
		{ID: "key-no-expiry", Check: "scan", Reason: "wrong check", Owner: "d", Expires: date("2027-01-31")},
		{ID: "KEY-NO-EXPIRY", Check: "key", Reason: "r", Owner: "e", Expires: date("2026-11-24")},
	}
	got := waiver.Apply(results, ws, "readiness.yaml", now, 14*24*time.Hour)
	want := []evidence.WaiverStatus{
		{ID: ws[0].ID, Reason: "r", Owner: "a", Expires: "2027-01-31", State: "active", DaysLeft: 68, Matched: []string{"scan:SCAN-CRITICAL-VULN/CVE-2024-0001/openssl"}, Location: "readiness.yaml:10"},
		{ID: ws[1].ID, Check: "scan", Reason: "r", Owner: "b", Expires: "2026-12-01", State: "expiring", DaysLeft: 7, Matched: []string{"scan:SCAN-HIGH-VULN/CVE-2024-0002/zlib"}},
		{ID: ws[2].ID, Reason: "r", Owner: "c", Expires: "2026-11-23", State: "expired", DaysLeft: -1, Matched: []string{"scan:SCAN-HIGH-VULN/CVE-2024-0003/zlib"}},
		{ID: "key-no-expiry", Check: "scan", Reason: "wrong check", Owner: "d", Expires: "2027-01-31", State: "active", DaysLeft: 68, Matched: []string{}},
		// Expires today: still valid until the day ends.
		{ID: "KEY-NO-EXPIRY", Check: "key", Reason: "r", Owner: "e", Expires: "2026-11-24", State: "expiring", DaysLeft: 0, Matched: []string{"key:KEY-NO-EXPIRY"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	waivedBy := map[string]string{}
	for _, r := range results {
		for _, f := range r.Findings {
			waivedBy[f.ID] = f.WaivedBy
		}
	}
	wantBy := map[string]string{
		"SCAN-CRITICAL-VULN/CVE-2024-0001/openssl": ws[0].ID,
		"SCAN-HIGH-VULN/CVE-2024-0002/zlib":        ws[1].ID,
		"SCAN-HIGH-VULN/CVE-2024-0003/zlib":        "", // expired waivers cover nothing
		"KEY-NO-EXPIRY":                            "KEY-NO-EXPIRY",
	}
	if d := cmp.Diff(wantBy, waivedBy); d != "" {
		t.Errorf("waived_by (-want +got):\n%s", d)
	}
}
