package imagescan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// A carried result that does not record a setting is treated as looser:
// a setting that cannot be read is never assumed to be the strict one.
func TestLooserFailsClosedOnWhatIsNotRecorded(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	base := func() checks.Result {
		return checks.Result{Check: "scan", Type: Type, Facts: map[string]any{
			FactScans: []ScanFact{{ImageScan: evidence.ImageScan{Digest: "sha256:aa", FinishedAt: t0, ReportSHA256: "r",
				Command: []string{"trivy", "image", "--scanners", "vuln", "--ignore-unfixed=false"}}}},
			FactDB:              DBFact{ScanDB: evidence.ScanDB{UpdatedAt: t0.Add(-time.Hour)}},
			"scanners":          []any{"vuln"},
			"ignore_unfixed":    false,
			FactUnknownSeverity: "medium",
		}}
	}
	report := func(string) ([]byte, bool) { return []byte(`{"SchemaVersion":2,"Results":[]}`), true }
	o := Options{Images: []string{"x"}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(r *checks.Result)
		want string
	}{
		{"as strict", func(*checks.Result) {}, ""},
		{"scanners not recorded", func(r *checks.Result) { delete(r.Facts, "scanners") }, "does not record which trivy scanners ran"},
		{"ignore_unfixed not recorded", func(r *checks.Result) { delete(r.Facts, "ignore_unfixed") }, "does not record whether unfixed"},
		{"the command line says ignore-unfixed", func(r *checks.Result) {
			r.Facts[FactScans].([]ScanFact)[0].Command = []string{"trivy", "image", "--scanners", "vuln", "--ignore-unfixed"}
		}, "ran with ignore_unfixed"},
		{"the command line ran fewer scanners than the facts say", func(r *checks.Result) {
			r.Facts["scanners"] = []any{"vuln", "secret"}
			r.Facts[FactScans].([]ScanFact)[0].Command = []string{"trivy", "image", "--scanners", "secret"}
		}, "without vuln"},
		{"unknown_severity missing", func(r *checks.Result) { delete(r.Facts, FactUnknownSeverity) }, `rated trivy's UNKNOWN vulnerabilities ""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(&r)
			diffs, err := o.Looser(r, report, t0)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(diffs, "; ")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("Looser = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadIgnoreIDs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadIgnoreIDs(write(".trivyignore", "# comment\nCVE-1\n\n  CVE-2 exp:2026-01-02\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["CVE-1"]; !ok || !got["CVE-2"].Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) || len(got) != 2 {
		t.Errorf(".trivyignore: %v", got)
	}
	got, err = ReadIgnoreIDs(write(".trivyignore.yaml", "vulnerabilities:\n  - id: CVE-3\n    expired_at: 2026-01-02\nsecrets:\n  - id: aws-access-key-id\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["CVE-3"].IsZero() {
		t.Errorf(".trivyignore.yaml: %v", got)
	}
	if _, err := ReadIgnoreIDs(write("bad", "CVE-4 exp:soon\n")); err == nil || !strings.Contains(err.Error(), "bad:1") {
		t.Errorf("a bad expiry: %v, want an error naming file:line", err)
	}
}
