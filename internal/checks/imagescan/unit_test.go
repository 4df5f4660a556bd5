package imagescan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/testutil/golden"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/checkstest"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/report"
)

// golden compares got (as indented JSON) with testdata/name, or rewrites
// the file under -update.
func goldenJSON(t *testing.T, name string, got any) {
	t.Helper()
	golden.JSON(t, filepath.Join("testdata", name), got)
}

func readReport(t *testing.T, name string) *trivyReport {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := parseReport(data)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

var fixtureTarget = target{
	Reference: "/fixtures/image.tar", Source: SourceTarball, Name: "/fixtures/image.tar",
	Digest: "sha256:af2bb666ece3bf8d76d8f80a1dab964c37aad5e9b92be8b3a8858cec680c9f57", DigestKind: DigestImageID,
	Platform: "linux/amd64",
}

// The reports in testdata were printed by trivy v0.74.0 scanning the
// trivytest fixtures (trivy-mixed.json is hand-written in the same shape, to
// cover secrets, misconfigurations, duplicates and odd severities).
func TestFindingsFromReports(t *testing.T) {
	tests := []struct {
		report, golden string
		unknownAs      checks.Severity
	}{
		{"trivy-debian.json", "findings-debian.golden.json", checks.SeverityMedium},
		{"trivy-alpine-ignored.json", "findings-alpine-ignored.golden.json", checks.SeverityMedium},
		{"trivy-mixed.json", "findings-mixed.golden.json", checks.SeverityHigh},
	}
	for _, tt := range tests {
		t.Run(tt.report, func(t *testing.T) {
			fs, counts, supp := findingsOf(readReport(t, tt.report), fixtureTarget, tt.unknownAs)
			goldenJSON(t, tt.golden, map[string]any{"findings": fs, "counts": counts, "suppressed": supp})
			ids := map[string]bool{}
			for _, f := range fs {
				if ids[f.ID] {
					t.Errorf("finding ID %s is not unique", f.ID)
				}
				ids[f.ID] = true
			}
		})
	}
}

func TestVulnFindingShape(t *testing.T) {
	fs, _, _ := findingsOf(readReport(t, "trivy-debian.json"), fixtureTarget, checks.SeverityMedium)
	want := map[string]checks.Severity{
		"SCAN-HIGH-VULN/CVE-2099-0010/openssl/sha256:af2bb666ece3": checks.SeverityHigh,
		"SCAN-UNKNOWN-VULN/CVE-2099-0011/bash/sha256:af2bb666ece3": checks.SeverityMedium,
	}
	got := map[string]checks.Severity{}
	for _, f := range fs {
		got[f.ID] = f.Severity
		for _, k := range []string{"cve", "title", "primary_url", "package", "installed_version", "fixed_version"} {
			if _, ok := f.Properties[k]; !ok {
				t.Errorf("%s lacks property %q", f.ID, k)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// Every finding's severity is graded by the rules table: a vulnerability
// by the rule of trivy's rating, a secret or misconfiguration by the case
// of trivy's rating, and anything trivy rates UNKNOWN (or oddly) by the
// check's unknown_severity. Every grade resolves to a listed rule and case.
func TestGrades(t *testing.T) {
	rated := map[string]checks.Severity{"CRITICAL": checks.SeverityCritical, "HIGH": checks.SeverityHigh, "MEDIUM": checks.SeverityMedium, "LOW": checks.SeverityLow}
	for _, tt := range []struct {
		in       string
		rule     string
		norm     string
		isRating bool
	}{
		{"CRITICAL", "SCAN-CRITICAL-VULN", "CRITICAL", true},
		{"high", "SCAN-HIGH-VULN", "HIGH", true},
		{"MEDIUM", "SCAN-MEDIUM-VULN", "MEDIUM", true},
		{"LOW", "SCAN-LOW-VULN", "LOW", true},
		{"UNKNOWN", "SCAN-UNKNOWN-VULN", "UNKNOWN", false},
		{"", "SCAN-UNKNOWN-VULN", "UNKNOWN", false},
		{"NEGLIGIBLE", "SCAN-UNKNOWN-VULN", "UNKNOWN", false},
	} {
		if got := VulnRule(tt.in); got != tt.rule {
			t.Errorf("VulnRule(%q) = %s, want %s", tt.in, got, tt.rule)
		}
		for _, unknownAs := range []checks.Severity{checks.SeverityCritical, checks.SeverityHigh, checks.SeverityMedium, checks.SeverityLow, checks.SeverityInfo} {
			t.Run(tt.in+"/"+string(unknownAs), func(t *testing.T) {
				want := unknownAs
				if tt.isRating {
					want = rated[tt.norm]
				}
				// trivy's rating of each, as its report gives it.
				v := trivyVuln{VulnerabilityID: "CVE-2099-1", PkgName: "lib", InstalledVersion: "1"}
				sec := trivySecret{RuleID: "aws-key", Title: "AWS key", StartLine: 3}
				mc := trivyMisconf{ID: "DS002", Title: "root user", Status: "FAIL"}
				v.Severity, sec.Severity, mc.Severity = tt.in, tt.in, tt.in
				rep := &trivyReport{Results: []trivyResult{{Target: "app", Vulnerabilities: []trivyVuln{v}, Secrets: []trivySecret{sec}, Misconfigurations: []trivyMisconf{mc}}}}
				fs, _, _ := findingsOf(rep, fixtureTarget, unknownAs)
				got := map[string]checks.Severity{}
				for _, f := range fs {
					got[f.Rule] = f.Severity
					if strings.Contains(f.Message, "readiness defect") {
						t.Errorf("%s: %s", f.ID, f.Message)
					}
				}
				if diff := cmp.Diff(map[string]checks.Severity{tt.rule: want, RuleSecret: want, RuleMisconfig: want}, got); diff != "" {
					t.Errorf("severities (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestRulesNamed: every rule the source names is in rules.yaml (the cases
// chosen from trivy's rating are proved by TestGrades).
func TestRulesNamed(t *testing.T) {
	checkstest.RulesNamed(t, ".", book)
}

// Every rule a finding can carry is documented in rules.yaml.
func TestRulesDocumented(t *testing.T) {
	rules := map[string]bool{}
	for _, r := range Gate().Rules.Rules() {
		rules[r.ID] = true
	}
	for _, id := range []string{VulnRule("CRITICAL"), VulnRule("HIGH"), VulnRule("MEDIUM"), VulnRule("LOW"), VulnRule("UNKNOWN"), RuleSecret, RuleMisconfig, RuleDBStale, RuleVEXDigest, RuleVEXOtherProduct} {
		if !rules[id] {
			t.Errorf("rule %s is not in rules.yaml", id)
		}
	}
	if len(rules) != 10 {
		t.Errorf("rules.yaml has %d rules, want 10", len(rules))
	}
}

func TestParseSemver(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"v0.74.0", "v0.74.0", false},
		{"0.74.0", "v0.74.0", false},
		{"0.75.0-rc.1", "v0.75.0-rc.1", false},
		{"1.2.3+build", "v1.2.3", false},
		{"dev", "", true},
		{"", "", true},
		{"0.74", "", true},
		{"v0.074.0", "", true},
		{"0.-1.0", "", true},
	}
	for _, tt := range tests {
		got, err := parseSemver(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseSemver(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got.String() != tt.want {
			t.Errorf("parseSemver(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	order := []string{"0.9.9", "0.63.9", "0.64.0-rc.1", "0.64.0", "0.64.1", "0.74.0", "1.0.0"}
	for i := 1; i < len(order); i++ {
		a, _ := parseSemver(order[i-1])
		b, _ := parseSemver(order[i])
		if !a.less(b) || b.less(a) {
			t.Errorf("want %s < %s", order[i-1], order[i])
		}
	}
}

func TestParseReportRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no report"},
		{"text", "2026-01-01 FATAL something\n", "not a JSON report"},
		{"truncated", `{"SchemaVersion": 2, "Results": [`, "not a valid JSON report"},
		{"array", `[]`, "not a JSON report"},
		{"old schema", `{"SchemaVersion": 1}`, "SchemaVersion 1"},
		{"no schema", `{"Results": []}`, "SchemaVersion 0"},
		{"wrong types", `{"SchemaVersion": 2, "Results": {"a": 1}}`, "not a valid JSON report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseReport([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseReport() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTrivyFailure(t *testing.T) {
	tests := []struct {
		name, stderr, want string
		exit               int
	}{
		{"no DB offline",
			"2026-11-24T22:45:28Z\tERROR\t[vulndb] The first run cannot skip downloading DB\n2026-11-24T22:45:28Z\tFATAL\tFatal error\trun error: init error: DB error: database error: --skip-db-update cannot be specified on the first run\n",
			"trivy has no vulnerability DB in its cache dir /c and skip_db_update is set", 1},
		{"download failure",
			"2026-11-24T22:45:28Z\tINFO\t[vulndb] Downloading vulnerability DB...\n2026-11-24T22:45:28Z\tFATAL\tFatal error\trun error: init error: DB error: failed to download vulnerability DB: OCI artifact error: failed to download vulnerability DB: failed to download artifact from mirror.gcr.io/aquasec/trivy-db:2: OCI repository error: 1 error occurred:\n\t* Get \"https://mirror.gcr.io/v2/\": dial tcp: lookup mirror.gcr.io: no such host\n\n\n",
			"trivy could not download its vulnerability DB while scanning img: Get \"https://mirror.gcr.io/v2/\": dial tcp: lookup mirror.gcr.io: no such host", 1},
		{"other fatal", "x\tFATAL\tFatal error\tscan error: boom\n", "trivy failed (exit code 1) while scanning img: scan error: boom", 1},
		{"plain stderr", "something went wrong\nreally wrong\n", "trivy exited with unexpected code 3 while scanning img: really wrong", 3},
		{"silent", "", "trivy exited with unexpected code 4 while scanning img and printed no error", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := trivyFailure("img", tt.exit, []byte(tt.stderr), "/c")
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("trivyFailure() =\n  %v\nwant it to contain\n  %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("trivyFailure() spans lines: %q", err)
			}
		})
	}
}

// decodeSpec builds a CheckSpec from YAML text as readiness.yaml would.
func decodeSpec(t *testing.T, with string) config.CheckSpec {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(with), &doc); err != nil {
		t.Fatal(err)
	}
	spec := config.CheckSpec{Name: "image-scan", Type: Type, Line: 3}
	if len(doc.Content) > 0 {
		spec.With = *doc.Content[0]
	}
	return spec
}

func TestFromSpec(t *testing.T) {
	env := checks.Env{Dir: "/repo", ConfigFile: "readiness.yaml", Now: time.Now}
	tests := []struct {
		name, with, wantErr string
		want                Options
	}{
		{name: "defaults", with: "images: [ghcr.io/acme/api:1]\n", want: Options{
			Images: []string{"ghcr.io/acme/api:1"}, Scanners: []string{"vuln"},
			DBMaxAge: config.Duration(120 * time.Hour), UnknownSeverity: "medium",
		}},
		{name: "everything", with: `images: [ghcr.io/acme/api@sha256:0123456789012345678901234567890123456789012345678901234567890123]
inputs: [build/api.tar]
oci_layouts: [/abs/oci]
platforms: [linux/amd64, linux/arm64/v8]
trivy: bin/trivy
scanners: [vuln, secret]
ignore_unfixed: true
ignorefile: .trivyignore.yaml
skip_db_update: true
cache_dir: .cache/trivy
db_repository: [mirror.example/trivy-db:2]
db_max_age: 2d
unknown_severity: high
report_dir: out/trivy
insecure: true
`, want: Options{
			Images:     []string{"ghcr.io/acme/api@sha256:0123456789012345678901234567890123456789012345678901234567890123"},
			Inputs:     []string{"/repo/build/api.tar"},
			OCILayouts: []string{"/abs/oci"}, Platforms: []string{"linux/amd64", "linux/arm64/v8"},
			Trivy: "/repo/bin/trivy", Scanners: []string{"vuln", "secret"}, IgnoreUnfixed: true,
			IgnoreFile: "/repo/.trivyignore.yaml", SkipDBUpdate: true, CacheDir: "/repo/.cache/trivy",
			DBRepositories: []string{"mirror.example/trivy-db:2"}, DBMaxAge: config.Duration(48 * time.Hour),
			UnknownSeverity: "high", ReportDir: "/repo/out/trivy", Insecure: true,
		}},
		{name: "unknown key", with: "images: [a]\nseverity: [HIGH]\n", wantErr: `readiness.yaml:2: unknown key "severity"`},
		{name: "wrong type", with: "images: a\n", wantErr: "readiness.yaml:1: expected a list"},
		{name: "no image", with: "scanners: [vuln]\n", wantErr: "no image to scan"},
		{name: "empty with", with: "", wantErr: "readiness.yaml:3: check \"image-scan\": no image to scan"},
		{name: "bad scanner", with: "images: [a]\nscanners: [license]\n", wantErr: `readiness.yaml:2: check "image-scan": scanner "license" is not one of vuln, secret, misconfig`},
		// An image-scan gate that scans for no vulnerability would pass
		// every vulnerable image.
		{name: "scanners without vuln", with: "images: [a]\nscanners: [secret]\n", wantErr: `readiness.yaml:2: check "image-scan": scanners [secret] leave out vuln, so nothing would be scanned for vulnerabilities and a vulnerable image would pass; list vuln too (e.g. [vuln, secret])`},
		{name: "scanners without vuln, several", with: "images: [a]\nscanners:\n  - misconfig\n  - secret\n", wantErr: `readiness.yaml:3: check "image-scan": scanners [misconfig, secret] leave out vuln`},
		{name: "bad platform", with: "images: [a]\nplatforms: [amd64]\n", wantErr: `platform "amd64": write os/arch`},
		{name: "bad unknown_severity", with: "images: [a]\nunknown_severity: urgent\n", wantErr: `unknown_severity "urgent" is not a severity`},
		{name: "bad duration", with: "images: [a]\ndb_max_age: soon\n", wantErr: `readiness.yaml:2: "soon" is not a duration`},
		{name: "malformed reference", with: "images: [\"Acme/API:1\"]\n", wantErr: `image reference "Acme/API:1" is malformed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chk, err := fromSpec(env, decodeSpec(t, tt.with))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("fromSpec() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, chk.(*Check).Options()); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// Scans reads the facts back both from a fresh Result and from one that
// went through the evidence document's JSON.
func TestScansRoundTrip(t *testing.T) {
	want := []ScanFact{{
		ImageScan: evidence.ImageScan{
			Reference: "r/app:1", Source: SourceRegistry, Name: "r/app", Digest: "sha256:aa", DigestKind: DigestManifest,
			ImageID: "sha256:bb", Platform: "linux/arm64/v8", Command: []string{"trivy", "image"},
			StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), FinishedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
			ReportPath: "/tmp/r.json", ReportSHA256: "ab",
		},
		Counts:     Counts{Critical: 1},
		Suppressed: []Suppressed{{Finding: "SCAN-HIGH-VULN/CVE-1/x/sha256:aa", Source: ".trivyignore"}},
	}}
	res := checks.Result{Check: "image-scan", Facts: map[string]any{FactScans: want}}
	got, err := Scans(res)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("direct (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	doc := &evidence.Document{Schema: evidence.Schema, Checks: []checks.Result{res}, Waivers: []evidence.WaiverStatus{}}
	if err := doc.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := evidence.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got, err = Scans(back.Checks[0])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("through JSON (-want +got):\n%s", diff)
	}
	if _, err := Scans(checks.Result{Check: "x", Facts: map[string]any{FactScans: "nope"}}); err == nil {
		t.Error("Scans(wrong shape) succeeded")
	}
	if _, err := Scans(checks.Result{Check: "x"}); err == nil {
		t.Error("Scans(no fact) succeeded")
	}
}

// The SARIF renderer gives every CVE its own rule, with help text, a help
// URI and the security-severity GitHub code scanning reads.
func TestSARIFRulePerCVE(t *testing.T) {
	fs, _, _ := findingsOf(readReport(t, "trivy-mixed.json"), fixtureTarget, checks.SeverityMedium)
	deb, _, _ := findingsOf(readReport(t, "trivy-debian.json"), fixtureTarget, checks.SeverityMedium)
	fs = append(fs, deb...)
	doc := &evidence.Document{
		Schema: evidence.Schema, Checks: []checks.Result{{Check: "image-scan", Type: Type, Status: checks.StatusFail, Findings: fs}},
		Waivers: []evidence.WaiverStatus{}, Verdict: evidence.Verdict{Decision: evidence.NOGO},
	}
	rules := map[string]checks.Rule{}
	for _, r := range Gate().Rules.Rules() {
		rules[r.ID] = r
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, "sarif", doc, report.Options{Rules: rules}); err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string                `json:"id"`
						HelpURI    string                `json:"helpUri"`
						Short      struct{ Text string } `json:"shortDescription"`
						Help       struct{ Text string } `json:"help"`
						Properties map[string]any        `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &sarif); err != nil {
		t.Fatal(err)
	}
	run := sarif.Runs[0]
	type rule struct{ Severity, HelpURI string }
	got := map[string]rule{}
	for _, r := range run.Tool.Driver.Rules {
		if r.Help.Text == "" || r.Short.Text == "" {
			t.Errorf("rule %s has no help text or description", r.ID)
		}
		sev, _ := r.Properties["security-severity"].(string)
		got[r.ID] = rule{sev, r.HelpURI}
	}
	want := map[string]rule{
		"CVE-2021-44228":      {"9.5", "https://avd.aquasec.com/nvd/cve-2021-44228"},
		"GHSA-xxxx-yyyy-zzzz": {"5.5", ""}, // severity SOMETHING-NEW: UNKNOWN, reported as medium
		"CVE-2099-0010":       {"8.0", "https://avd.aquasec.com/nvd/cve-2099-0010"},
		"CVE-2099-0011":       {"5.5", ""},
		"SCAN-SECRET":         {"9.5", ""},
		"SCAN-MISCONFIG":      {"8.0", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SARIF rules (-want +got):\n%s", diff)
	}
	if len(run.Results) != len(fs) {
		t.Errorf("SARIF has %d results, want one per finding (%d)", len(run.Results), len(fs))
	}
}

func FuzzParseReport(f *testing.F) {
	for _, name := range []string{"trivy-debian.json", "trivy-alpine-ignored.json", "trivy-mixed.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"SchemaVersion":2,"Results":[{"ExperimentalModifiedFindings":[{"Type":"vulnerability","Finding":1}]}]}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := parseReport(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		fs, counts, _ := findingsOf(rep, fixtureTarget, checks.SeverityMedium)
		ids := map[string]bool{}
		for _, f := range fs {
			if !f.Severity.Valid() || f.Rule == "" || f.ID == "" {
				t.Errorf("invalid finding %+v", f)
			}
			if ids[f.ID] {
				t.Errorf("duplicate finding ID %s", f.ID)
			}
			ids[f.ID] = true
		}
		if n := counts.Critical + counts.High + counts.Medium + counts.Low + counts.Unknown; n > len(fs) {
			t.Errorf("counts %+v exceed %d findings", counts, len(fs))
		}
	})
}

func FuzzParseVersionInfo(f *testing.F) {
	f.Add([]byte(`{"Version":"0.74.0","VulnerabilityDB":{"Version":2,"NextUpdate":"2026-11-25T22:44:43Z","UpdatedAt":"2026-11-24T22:44:43Z","DownloadedAt":"2026-11-24T22:44:43Z"}}`))
	f.Add([]byte(`{"Version":"dev"}`))
	f.Add([]byte(`Version: 0.74.0`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseVersionInfo(data)
		if err != nil {
			return
		}
		if v.Version == "" {
			t.Error("accepted a version info without a version")
		}
		if s, err := parseSemver(v.Version); err == nil {
			if _, err := parseSemver(s.String()); err != nil {
				t.Errorf("String() of %q does not parse: %v", v.Version, err)
			}
		}
	})
}

// Five distinct instances of one CVE where path and version alone collide
// must still be five findings: none may be dropped.
func TestFindingsNeverDropDistinctInstances(t *testing.T) {
	var vs []trivyVuln
	for _, pv := range [][2]string{{"a", "v1"}, {"a", "v2"}, {"b", "v2"}, {"a", "v3"}, {"b", "v3"}} {
		vs = append(vs, trivyVuln{VulnerabilityID: "CVE-2024-0001", PkgName: "lib", PkgPath: pv[0], InstalledVersion: pv[1], Severity: "HIGH"})
	}
	rep := &trivyReport{Results: []trivyResult{{Target: "x", Vulnerabilities: vs}}}
	fs, counts, _ := findingsOf(rep, target{Digest: "sha256:" + strings.Repeat("a", 64)}, checks.SeverityMedium)
	ids := map[string]bool{}
	for _, f := range fs {
		ids[f.ID] = true
	}
	if len(fs) != 5 || len(ids) != 5 {
		t.Errorf("got %d findings with %d distinct IDs, want 5 and 5: %v", len(fs), len(ids), ids)
	}
	if counts.High != 5 {
		t.Errorf("counted %d high, want 5", counts.High)
	}
}
