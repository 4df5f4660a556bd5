package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks/imagescan"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// imgRun runs the CLI in-process in dir with the real clock (trivy's DB age
// is judged against it) and returns the exit code and output.
func imgRun(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	streams, out, errOut := cli.Test()
	app := root.NewApp(streams)
	t.Chdir(dir)
	// The `trivy version` cache goes to $XDG_CACHE_HOME, not the user's.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	code := cli.Run(context.Background(), app, args)
	return code, out.String(), errOut.String()
}

// imgOffline are the flags of an offline scan against the test DB.
func imgOffline(t *testing.T, cache string) []string {
	t.Helper()
	return []string{"--trivy", trivytest.Binary(t), "--skip-db-update", "--cache-dir", cache, "--report-dir", t.TempDir()}
}

func imgEvidence(t *testing.T, stdout string) *evidence.Document {
	t.Helper()
	doc, err := evidence.Decode(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	return doc
}

func denyRules(doc *evidence.Document) []string {
	var out []string
	for _, d := range doc.Verdict.Deny {
		out = append(out, d.Rule+" "+d.Finding)
	}
	return out
}

func TestImageScanVerdicts(t *testing.T) {
	fx := trivytest.Load(t)
	fresh := trivytest.CacheDir(t, time.Now())
	stale := trivytest.CacheDir(t, time.Now().Add(-7*24*time.Hour))
	tests := []struct {
		name     string
		cache    string
		args     []string
		wantCode int
		wantDeny []string
	}{
		{"critical blocks", fresh, []string{"--input", fx.AlpineTar}, 1, []string{
			"SCAN-CRITICAL-VULN SCAN-CRITICAL-VULN/CVE-2099-0001/musl/sha256:af2bb666ece3",
			"SCAN-HIGH-VULN SCAN-HIGH-VULN/CVE-2099-0002/zlib/sha256:af2bb666ece3",
		}},
		{"clean passes", fresh, []string{"--input", fx.CleanTar}, 0, nil},
		{"stale DB blocks", stale, []string{"--input", fx.CleanTar}, 1, []string{"SCAN-DB-STALE SCAN-DB-STALE"}},
		{"high blocks by default", fresh, []string{"--input", fx.DebianTar}, 1, []string{
			"SCAN-HIGH-VULN SCAN-HIGH-VULN/CVE-2099-0010/openssl/sha256:84c74cad56b5",
		}},
		{"--severity CRITICAL lets high pass", fresh, []string{"--input", fx.DebianTar, "--severity", "CRITICAL"}, 0, nil},
		{"medium blocks the unrated, unfixed bash CVE", fresh, []string{"--input", fx.DebianTar, "--severity", "critical,high,medium"}, 1, []string{
			"SCAN-HIGH-VULN SCAN-HIGH-VULN/CVE-2099-0010/openssl/sha256:84c74cad56b5",
			"SCAN-UNKNOWN-VULN SCAN-UNKNOWN-VULN/CVE-2099-0011/bash/sha256:84c74cad56b5",
		}},
		{"--ignore-unfixed leaves it out", fresh, []string{"--input", fx.DebianTar, "--ignore-unfixed", "--severity", "critical,high,medium"}, 1, []string{
			"SCAN-HIGH-VULN SCAN-HIGH-VULN/CVE-2099-0010/openssl/sha256:84c74cad56b5",
		}},
		{"trivy missing fails closed", fresh, []string{"--input", fx.CleanTar, "--trivy", "/nonexistent/trivy"}, 1, []string{"CHECK-ERROR "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"image", "scan", "--format", "json"}, imgOffline(t, tt.cache)...)
			args = append(args, tt.args...)
			code, stdout, stderr := imgRun(t, t.TempDir(), args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.wantCode, stderr)
			}
			doc := imgEvidence(t, stdout)
			got := denyRules(doc)
			if strings.Join(got, "\n") != strings.Join(tt.wantDeny, "\n") {
				t.Errorf("deny =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.wantDeny, "\n  "))
			}
			if tt.wantCode == 0 && (doc.Verdict.Decision != evidence.GO || len(doc.Subjects) != 1) {
				t.Errorf("verdict %s with subjects %v; want GO on one digest", doc.Verdict.Decision, doc.Subjects)
			}
		})
	}
}

// Waivers go through the whole pipeline: readiness.yaml, the waiver step,
// the policy.
func TestImageScanWaivers(t *testing.T) {
	fx := trivytest.Load(t)
	cache := trivytest.CacheDir(t, time.Now())
	today := time.Now().UTC()
	config := func(expires time.Time) string {
		return `version: 1
checks:
  - name: release-image
    type: image-scan
    with:
      inputs: [` + fx.AlpineTar + `]
      trivy: ` + trivytest.Binary(t) + `
      skip_db_update: true
      cache_dir: ` + cache + `
      report_dir: ` + t.TempDir() + `
waivers:
  - id: SCAN-CRITICAL-VULN/CVE-2099-0001/musl/*
    check: release-image
    reason: musl's vulnerable code path is not linked into the service
    owner: platform-team
    expires: ` + expires.Format(time.DateOnly) + `
  - id: SCAN-HIGH-VULN/CVE-2099-0002/zlib/sha256:af2bb666ece3
    reason: zlib fix ships with the next base image
    owner: platform-team
    expires: ` + expires.Format(time.DateOnly) + `
`
	}
	tests := []struct {
		name     string
		expires  time.Time
		args     []string
		wantCode int
	}{
		{"active waivers pass (readiness check)", today.AddDate(0, 0, 30), []string{"check"}, 0},
		{"active waivers pass (image scan)", today.AddDate(0, 0, 30), []string{"image", "scan", "--input", fx.AlpineTar}, 0},
		{"expired waivers block", today.AddDate(0, 0, -1), []string{"check"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte(config(tt.expires)), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := imgRun(t, dir, append(tt.args, "--format", "json")...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.wantCode, stderr)
			}
			doc := imgEvidence(t, stdout)
			r, ok := doc.Result("release-image")
			if !ok {
				t.Fatalf("no release-image result in %v", doc.Checks)
			}
			if len(r.Findings) != 2 {
				t.Fatalf("findings = %+v, want the two vulnerabilities", r.Findings)
			}
			for i, w := range doc.Waivers {
				if len(w.Matched) != 1 || !strings.HasPrefix(w.Matched[0], "release-image:SCAN-") {
					t.Errorf("waiver %s matched %v, want its finding recorded", w.ID, w.Matched)
				}
				wantBy := w.ID
				if w.State == evidence.WaiverExpired {
					wantBy = "" // an expired waiver covers nothing
				}
				if got := r.Findings[i].WaivedBy; got != wantBy {
					t.Errorf("finding %s waived_by %q, want %q", r.Findings[i].ID, got, wantBy)
				}
			}
			if tt.wantCode == 1 {
				got := strings.Join(denyRules(doc), "\n")
				for _, want := range []string{"WAIVER-EXPIRED", "SCAN-CRITICAL-VULN/CVE-2099-0001", "SCAN-HIGH-VULN/CVE-2099-0002"} {
					if !strings.Contains(got, want) {
						t.Errorf("deny lacks %s:\n%s", want, got)
					}
				}
			}
		})
	}
}

func TestImageScanRegistryAndSARIF(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	reg.PushIndex(t, "multi:1", trivytest.MultiPlatform())
	out := filepath.Join(t.TempDir(), "scan.sarif")
	args := append([]string{"image", "scan", reg.Host + "/multi:1", "--format", "sarif", "--output", out}, imgOffline(t, trivytest.CacheDir(t, time.Now()))...)
	code, _, stderr := imgRun(t, t.TempDir(), args...)
	if code != 1 || !strings.Contains(stderr, "NO-GO") {
		t.Fatalf("exit %d, want 1 (NO-GO: the arm64 image is vulnerable)\nstderr: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string         `json:"id"`
						Properties map[string]any `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &sarif); err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, r := range sarif.Runs[0].Tool.Driver.Rules {
		rules = append(rules, r.ID+"="+r.Properties["security-severity"].(string))
	}
	if got := strings.Join(rules, " "); got != "CVE-2099-0001=9.5 CVE-2099-0002=8.0" {
		t.Errorf("SARIF rules = %s", got)
	}
	if len(sarif.Runs[0].Results) != 2 {
		t.Errorf("%d SARIF results, want 2", len(sarif.Runs[0].Results))
	}
}

func TestImageScanUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing to scan", nil, "name an image to scan"},
		{"malformed reference", []string{"Acme/API::1"}, `image reference "Acme/API::1" is malformed`},
		{"bad severity", []string{"alpine:3", "--severity", "urgent"}, `--severity "urgent" is not a severity`},
		{"unknown severity", []string{"alpine:3", "--severity", "UNKNOWN"}, "--severity UNKNOWN"},
		{"bad platform", []string{"alpine:3", "--platform", "arm64"}, `platform "arm64": write os/arch`},
		{"bad scanner", []string{"alpine:3", "--scanners", "license"}, `scanner "license" is not one of`},
		{"bad format", []string{"alpine:3", "--format", "pdf"}, `unknown --format "pdf"`},
		{"missing config", []string{"alpine:3", "--config", "nope.yaml"}, "nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := imgRun(t, t.TempDir(), append([]string{"image", "scan"}, tt.args...)...)
			if code != cli.ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 mentioning %q", code, stderr, tt.want)
			}
		})
	}
}

// The gate is in the catalog: `readiness explain` documents its rules.
func TestImageScanRulesExplained(t *testing.T) {
	code, stdout, stderr := imgRun(t, t.TempDir(), "explain", "SCAN-DB-STALE/whatever")
	if code != 0 || !strings.Contains(stdout, "trivy's vulnerability DB is too old") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
	if imagescan.MinTrivyVersion == "" {
		t.Error("no minimum trivy version")
	}
}
