package imagescan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// offline completes o for a real, offline trivy run against the test DB.
func offline(t *testing.T, o Options) Options {
	t.Helper()
	o.Trivy = trivytest.Binary(t)
	o.SkipDBUpdate = true
	if o.CacheDir == "" {
		o.CacheDir = trivytest.CacheDir(t, time.Now())
	}
	o.ReportDir = t.TempDir()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	return o
}

// runJob runs c the way `readiness check` does: in the runner, under a
// timeout, so that errors, panics and timeouts settle as they do for users.
func runJob(t *testing.T, c checks.Check, timeout time.Duration) checks.Result {
	t.Helper()
	r := &checks.Runner{Grace: 3 * time.Second}
	res := r.Run(context.Background(), []checks.Job{{Name: "image-scan", Type: Type, Required: true, Timeout: timeout, Check: c}})
	return res[0]
}

func findingIDs(r checks.Result) []string {
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	return ids
}

func mustScans(t *testing.T, r checks.Result) []ScanFact {
	t.Helper()
	s, err := Scans(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// normalize replaces run-specific paths in findings for golden files.
func normalize(fs []checks.Finding, repl ...string) []checks.Finding {
	r := strings.NewReplacer(repl...)
	out := slices.Clone(fs)
	for i := range out {
		props := map[string]any{}
		for k, v := range out[i].Properties {
			if s, ok := v.(string); ok {
				v = r.Replace(s)
			}
			props[k] = v
		}
		out[i].Properties = props
	}
	return out
}

func TestScanTarballCriticalAndHigh(t *testing.T) {
	fx := trivytest.Load(t)
	o := offline(t, Options{Inputs: []string{fx.AlpineTar}})
	res := runJob(t, New(o, Deps{}), 2*time.Minute)
	if res.Status != checks.StatusFail {
		t.Fatalf("status = %s (%s), want fail", res.Status, res.Error)
	}
	goldenJSON(t, "scan-alpine.golden.json", normalize(res.Findings, fx.Root, "$FIXTURES"))

	scans := mustScans(t, res)
	if len(scans) != 1 {
		t.Fatalf("%d scans, want 1", len(scans))
	}
	s := scans[0]
	img := trivytest.AlpineVulnerable("amd64")
	id, _ := img.ConfigName()
	if s.Digest != id.String() || s.DigestKind != DigestImageID || s.ImageID != id.String() || s.Platform != "linux/amd64" || s.Source != SourceTarball {
		t.Errorf("scan = %+v; want the tarball's image ID %s on linux/amd64", s, id)
	}
	if diff := cmp.Diff(Counts{Critical: 1, High: 1}, s.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if s.OS != "alpine 3.19.1" || s.StartedAt.IsZero() || s.FinishedAt.Before(s.StartedAt) || s.Command[0] != o.Trivy {
		t.Errorf("scan facts incomplete: %+v", s)
	}
	// The raw report was saved for the release flow's vuln attestation.
	data, err := os.ReadFile(s.ReportPath)
	if err != nil {
		t.Fatalf("report_path: %v", err)
	}
	if rep, err := parseReport(data); err != nil || rep.Metadata.ImageID != id.String() {
		t.Errorf("saved report does not parse as this image's trivy report: %v", err)
	}
	if diff := cmp.Diff([]checks.Subject{{Name: fx.AlpineTar, Digest: id.String(), Platform: "linux/amd64"}}, res.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	tf, ok := res.Facts[FactTrivy].(TrivyFact)
	if !ok || tf.Version == "" || tf.MinVersion != MinTrivyVersion {
		t.Errorf("trivy fact = %#v", res.Facts[FactTrivy])
	}
	db, err := DB(res)
	if err != nil || db.Stale || db.SchemaVersion != 2 || !db.SkipUpdate || db.MaxAgeHours != 120 || db.AgeHours > 1 {
		t.Errorf("db fact = %+v, %v", db, err)
	}
}

func TestScanCleanImagePasses(t *testing.T) {
	fx := trivytest.Load(t)
	res := runJob(t, New(offline(t, Options{Inputs: []string{fx.CleanTar}}), Deps{}), 2*time.Minute)
	if res.Status != checks.StatusPass || len(res.Findings) != 0 {
		t.Fatalf("status = %s (%s), findings %v; want pass with none", res.Status, res.Error, findingIDs(res))
	}
	if c := res.Facts[FactCounts].(Counts); c != (Counts{}) {
		t.Errorf("counts = %+v, want zero", c)
	}
}

func TestScanDebianUnknownAndUnfixed(t *testing.T) {
	fx := trivytest.Load(t)
	tests := []struct {
		name string
		o    Options
		want map[string]checks.Severity
	}{
		{"all", Options{}, map[string]checks.Severity{
			"SCAN-HIGH-VULN/CVE-2099-0010/openssl/": checks.SeverityHigh,
			"SCAN-UNKNOWN-VULN/CVE-2099-0011/bash/": checks.SeverityMedium,
		}},
		{"unknown as high", Options{UnknownSeverity: "high"}, map[string]checks.Severity{
			"SCAN-HIGH-VULN/CVE-2099-0010/openssl/": checks.SeverityHigh,
			"SCAN-UNKNOWN-VULN/CVE-2099-0011/bash/": checks.SeverityHigh,
		}},
		{"ignore unfixed", Options{IgnoreUnfixed: true}, map[string]checks.Severity{
			"SCAN-HIGH-VULN/CVE-2099-0010/openssl/": checks.SeverityHigh,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Inputs = []string{fx.DebianTar}
			res := runJob(t, New(offline(t, tt.o), Deps{}), 2*time.Minute)
			got := map[string]checks.Severity{}
			for _, f := range res.Findings {
				got[f.ID[:strings.LastIndex(f.ID, "/")+1]] = f.Severity
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n(status %s %s)", diff, res.Status, res.Error)
			}
		})
	}
}

func TestStaleDB(t *testing.T) {
	fx := trivytest.Load(t)
	old := time.Now().Add(-150 * time.Hour)
	tests := []struct {
		name      string
		maxAge    time.Duration
		wantStale bool
	}{
		{"older than the default 120h", 0, true},
		{"within a 200h limit", 200 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := offline(t, Options{Inputs: []string{fx.CleanTar}, CacheDir: trivytest.CacheDir(t, old), DBMaxAge: config.Duration(tt.maxAge)})
			res := runJob(t, New(o, Deps{}), 2*time.Minute)
			db, err := DB(res)
			if err != nil {
				t.Fatalf("%v (status %s: %s)", err, res.Status, res.Error)
			}
			if db.Stale != tt.wantStale || db.AgeHours < 149.9 || db.AgeHours > 151 {
				t.Errorf("db = %+v, want stale=%v and an age of 150h", db, tt.wantStale)
			}
			var want []string
			if tt.wantStale {
				want = []string{RuleDBStale}
			}
			if diff := cmp.Diff(want, findingIDs(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if tt.wantStale && (res.Findings[0].Severity != checks.SeverityHigh || !strings.Contains(res.Findings[0].Message, "6d6h ago")) {
				t.Errorf("stale finding = %+v", res.Findings[0])
			}
		})
	}
}

func TestRegistryTagResolvesToDigest(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	ref := reg.Push(t, "team/app:1.0", trivytest.AlpineVulnerable("amd64"))
	tag := reg.Host + "/team/app:1.0"
	res := runJob(t, New(offline(t, Options{Images: []string{tag}}), Deps{}), 2*time.Minute)
	if res.Status != checks.StatusFail {
		t.Fatalf("status = %s (%s), want fail", res.Status, res.Error)
	}
	digest := ref.DigestStr()
	if diff := cmp.Diff([]checks.Subject{{Name: reg.Host + "/team/app", Digest: digest, Platform: "linux/amd64"}}, res.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	s := mustScans(t, res)[0]
	if s.Reference != tag || s.DigestKind != DigestManifest || !slices.Contains(s.Command, reg.Host+"/team/app@"+digest) {
		t.Errorf("scan = %+v; want trivy run on %s@%s", s, reg.Host+"/team/app", digest)
	}
	short := shortDigest(digest)
	want := []string{"SCAN-CRITICAL-VULN/CVE-2099-0001/musl/" + short, "SCAN-HIGH-VULN/CVE-2099-0002/zlib/" + short}
	if diff := cmp.Diff(want, findingIDs(res)); diff != "" {
		t.Errorf("finding IDs (-want +got):\n%s", diff)
	}
}

func TestMultiPlatformIndexScannedPerPlatform(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	idx := trivytest.MultiPlatform()
	reg.PushIndex(t, "multi:1", idx)
	amd, _ := trivytest.Clean("amd64").Digest()
	arm, _ := trivytest.AlpineVulnerable("arm64").Digest()
	ref := reg.Host + "/multi:1"
	repo := reg.Host + "/multi"

	tests := []struct {
		name      string
		platforms []string
		subjects  []checks.Subject
		findings  []string
		wantErr   string
	}{
		{name: "every platform", subjects: []checks.Subject{
			{Name: repo, Digest: amd.String(), Platform: "linux/amd64"},
			{Name: repo, Digest: arm.String(), Platform: "linux/arm64/v8"},
		}, findings: []string{
			"SCAN-CRITICAL-VULN/CVE-2099-0001/musl/" + shortDigest(arm.String()),
			"SCAN-HIGH-VULN/CVE-2099-0002/zlib/" + shortDigest(arm.String()),
		}},
		{name: "amd64 only", platforms: []string{"linux/amd64"}, subjects: []checks.Subject{
			{Name: repo, Digest: amd.String(), Platform: "linux/amd64"},
		}},
		{name: "arm64 without variant", platforms: []string{"linux/arm64"}, subjects: []checks.Subject{
			{Name: repo, Digest: arm.String(), Platform: "linux/arm64/v8"},
		}, findings: []string{
			"SCAN-CRITICAL-VULN/CVE-2099-0001/musl/" + shortDigest(arm.String()),
			"SCAN-HIGH-VULN/CVE-2099-0002/zlib/" + shortDigest(arm.String()),
		}},
		{name: "missing platform", platforms: []string{"linux/s390x"}, wantErr: "holds no image for platform linux/s390x (it holds linux/amd64, linux/arm64/v8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runJob(t, New(offline(t, Options{Images: []string{ref}, Platforms: tt.platforms}), Deps{}), 2*time.Minute)
			if tt.wantErr != "" {
				if res.Status != checks.StatusError || !strings.Contains(res.Error, tt.wantErr) {
					t.Fatalf("status %s, error %q; want error containing %q", res.Status, res.Error, tt.wantErr)
				}
				return
			}
			if res.Status == checks.StatusError {
				t.Fatalf("error: %s", res.Error)
			}
			if diff := cmp.Diff(tt.subjects, res.Subjects); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.findings, findingIDs(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOCILayoutEveryImageOnce(t *testing.T) {
	fx := trivytest.Load(t)
	res := runJob(t, New(offline(t, Options{OCILayouts: []string{fx.Layout}}), Deps{}), 2*time.Minute)
	amd, _ := trivytest.Clean("amd64").Digest()
	arm, _ := trivytest.AlpineVulnerable("arm64").Digest()
	// The layout holds the index and, tagged "clean", the index's amd64
	// image again: scanned once.
	want := []checks.Subject{
		{Name: fx.Layout, Digest: amd.String(), Platform: "linux/amd64"},
		{Name: fx.Layout, Digest: arm.String(), Platform: "linux/arm64/v8"},
	}
	if diff := cmp.Diff(want, res.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s\n(status %s: %s)", diff, res.Status, res.Error)
	}
	if len(res.Findings) != 2 || !strings.HasSuffix(res.Findings[0].ID, shortDigest(arm.String())) {
		t.Errorf("findings = %v, want the arm64 image's two", findingIDs(res))
	}
}

func TestIgnoreFileSuppressionRecorded(t *testing.T) {
	fx := trivytest.Load(t)
	dir := t.TempDir()
	high := "SCAN-HIGH-VULN/" + trivytest.CVEHigh + "/zlib/"
	tests := []struct {
		file, body, statement string
	}{
		{".trivyignore", "# accepted until the base image moves\n" + trivytest.CVEHigh + "\n", ""},
		{".trivyignore.yaml", "vulnerabilities:\n  - id: " + trivytest.CVEHigh + "\n    statement: zlib is not reachable from the service\n", "zlib is not reachable from the service"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			res := runJob(t, New(offline(t, Options{Inputs: []string{fx.AlpineTar}, IgnoreFile: path}), Deps{}), 2*time.Minute)
			ids := findingIDs(res)
			if len(ids) != 1 || !strings.HasPrefix(ids[0], "SCAN-CRITICAL-VULN/") {
				t.Fatalf("findings = %v (status %s: %s), want only the critical one", ids, res.Status, res.Error)
			}
			s := mustScans(t, res)[0]
			want := []Suppressed{{Finding: high + shortDigest(s.Digest), Package: "zlib", Source: path, Statement: tt.statement, Status: "ignored"}}
			if diff := cmp.Diff(want, s.Suppressed); diff != "" {
				t.Errorf("suppressed (-want +got):\n%s", diff)
			}
			ig, _ := res.Facts["ignorefile"].(map[string]any)
			if ig["path"] != path || len(ig["suppressed"].([]Suppressed)) != 1 {
				t.Errorf("ignorefile fact = %v", res.Facts["ignorefile"])
			}
		})
	}
}

// A .trivyignore in the working directory is trivy's default; readiness
// never lets an unconfigured one hide findings.
func TestStrayTrivyIgnoreHasNoEffect(t *testing.T) {
	fx := trivytest.Load(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".trivyignore"), []byte(trivytest.CVECritical+"\n"+trivytest.CVEHigh+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("TRIVY_IGNOREFILE", filepath.Join(dir, ".trivyignore"))
	t.Setenv("TRIVY_SEVERITY", "LOW")
	res := runJob(t, New(offline(t, Options{Inputs: []string{fx.AlpineTar}}), Deps{}), 2*time.Minute)
	if len(res.Findings) != 2 {
		t.Errorf("findings = %v (status %s: %s), want both", findingIDs(res), res.Status, res.Error)
	}
	if env, _ := res.Facts[FactEnvWithheld].([]string); !slices.Contains(env, "TRIVY_SEVERITY") {
		t.Errorf("%s = %v, want the TRIVY_* names recorded", FactEnvWithheld, res.Facts[FactEnvWithheld])
	}
}

func TestSecretScanner(t *testing.T) {
	token := "ghp_" + strings.Repeat("x9Q2", 9) // the shape of a GitHub personal access token
	img := trivytest.Image("amd64", map[string]string{
		"etc/alpine-release":   "3.19.1\n",
		"lib/apk/db/installed": "P:alpine-baselayout\nV:3.4.3-r2\nA:x86_64\no:alpine-baselayout\n\n",
		"app/config.env":       "LOG_LEVEL=info\nGITHUB_TOKEN=" + token + "\n",
	})
	reg := trivytest.StartRegistry(t)
	reg.Push(t, "secret:1", img)
	res := runJob(t, New(offline(t, Options{Images: []string{reg.Host + "/secret:1"}, Scanners: []string{"vuln", "secret"}}), Deps{}), 2*time.Minute)
	d, _ := img.Digest()
	want := []string{"SCAN-SECRET/github-pat/app/config.env:2/" + shortDigest(d.String())}
	if diff := cmp.Diff(want, findingIDs(res)); diff != "" {
		t.Errorf("findings (-want +got):\n%s\n(status %s: %s)", diff, res.Status, res.Error)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Message, token) || strings.Contains(fmt.Sprint(f.Properties), token) {
			t.Errorf("finding leaks the secret: %+v", f)
		}
	}
}

// Faults with the real trivy (no fake needed).
func TestRealTrivyFaults(t *testing.T) {
	fx := trivytest.Load(t)
	reg := trivytest.StartRegistry(t)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no DB offline", Options{Inputs: []string{fx.CleanTar}, CacheDir: t.TempDir()},
			"trivy has no vulnerability DB in its cache dir"},
		{"unresolvable tag", Options{Images: []string{reg.Host + "/nothing:here"}},
			"cannot resolve image " + reg.Host + "/nothing:here to a digest"},
		{"unreachable registry", Options{Images: []string{"127.0.0.1:1/app:1"}},
			"cannot resolve image 127.0.0.1:1/app:1 to a digest"},
		{"malformed reference", Options{Images: []string{"Acme/API::1"}},
			`image reference "Acme/API::1" is malformed`},
		{"missing tarball", Options{Inputs: []string{filepath.Join(t.TempDir(), "none.tar")}},
			"none.tar does not exist"},
		{"not a tarball", Options{Inputs: []string{filepath.Join(fx.Layout, "index.json")}},
			"cannot read " + filepath.Join(fx.Layout, "index.json") + " as a docker image tarball"},
		{"not a layout", Options{OCILayouts: []string{fx.Root}},
			"cannot read " + fx.Root + " as an OCI image layout"},
		{"missing ignorefile", Options{Inputs: []string{fx.CleanTar}, IgnoreFile: filepath.Join(fx.Root, "nope")},
			"ignorefile " + filepath.Join(fx.Root, "nope") + " cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runJob(t, New(offline(t, tt.o), Deps{}), time.Minute)
			if res.Status != checks.StatusError || !strings.Contains(res.Error, tt.want) {
				t.Fatalf("status %s, error %q; want error containing %q", res.Status, res.Error, tt.want)
			}
			if strings.Contains(res.Error, "\n") {
				t.Errorf("error spans lines: %q", res.Error)
			}
		})
	}
}

// trivy cannot download its DB: the DB repository (a mirror setting) is
// the in-process registry, which has no DB.
func TestDBDownloadFailure(t *testing.T) {
	fx := trivytest.Load(t)
	reg := trivytest.StartRegistry(t)
	o := offline(t, Options{Inputs: []string{fx.CleanTar}, CacheDir: t.TempDir(), DBRepositories: []string{reg.Host + "/no/trivy-db:2"}})
	o.SkipDBUpdate = false
	res := runJob(t, New(o, Deps{}), time.Minute)
	if res.Status != checks.StatusError || !strings.Contains(res.Error, "trivy could not download its vulnerability DB while scanning") {
		t.Fatalf("status %s, error %q; want a DB download failure", res.Status, res.Error)
	}
}

// Fake trivy scripts provoke the faults a real trivy will not show on
// demand. They are the only fakes in these tests.

const fakeVersionJSON = `{"Version":"%s","VulnerabilityDB":{"Version":2,"NextUpdate":"2026-06-02T00:00:00Z","UpdatedAt":"2026-06-01T00:00:00Z","DownloadedAt":"2026-06-01T00:00:00Z"}}`

var fakeNow = time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC)

// fakeTrivy writes an executable shell script that answers `trivy version`
// with version and runs scan for `trivy image`.
func fakeTrivy(t *testing.T, name, version, scan string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	script := "#!/bin/sh\ncase \"$1\" in\nversion)\n  echo '" + fmt.Sprintf(fakeVersionJSON, version) + "'\n  ;;\nimage)\n" + scan + "\n  ;;\nesac\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeCacheDir is a trivy cache dir for fake trivies: a DB file and
// metadata the gate can hash, which no real trivy could read.
func fakeCacheDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	meta := `{"Version":2,"NextUpdate":"2026-06-02T00:00:00Z","UpdatedAt":"2026-06-01T00:00:00Z","DownloadedAt":"2026-06-01T00:00:00Z"}`
	for name, body := range map[string]string{"trivy.db": "not a bolt DB", "metadata.json": meta} {
		if err := os.WriteFile(filepath.Join(dir, "db", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFaultsWithFakeTrivy(t *testing.T) {
	fx := trivytest.Load(t) // tarballs only: no real trivy needed
	report := func(imageID string) string {
		return `  echo '{"SchemaVersion":2,"Metadata":{"ImageID":"` + imageID + `","OS":{"Family":"alpine","Name":"3.19.1"}},"Results":[]}'`
	}
	namedReport := func(version, imageID string) string {
		return `  echo '{"SchemaVersion":2,"Trivy":{"Version":"` + version + `"},"Metadata":{"ImageID":"` + imageID + `","OS":{"Family":"alpine","Name":"3.19.1"}},"Results":[]}'`
	}
	cleanID, _ := trivytest.Clean("amd64").ConfigName()
	// No OS and no packages: trivy looked at nothing.
	scannedNothing := `  echo '{"SchemaVersion":2,"Metadata":{"ImageID":"` + cleanID.String() + `"},"Results":[]}'`
	tests := []struct {
		name, version, scan, want string
	}{
		{"fake-trivy-works", "0.74.0", report(cleanID.String()), ""},
		{"fake-trivy-non-json", "0.74.0", "  echo 'Vulnerabilities: none, trust me'", `trivy printed output that is not a JSON report (it begins "Vulnerabilities: none, trust me")`},
		{"fake-trivy-truncated-json", "0.74.0", `  printf '{"SchemaVersion":2,"Results":[{'`, "trivy printed output that is not a valid JSON report"},
		{"fake-trivy-empty", "0.74.0", "  :", "trivy printed no report"},
		{"fake-trivy-crash", "0.74.0", "  kill -SEGV $$", "trivy crashed (signal: segmentation fault) during the trivy scan of"},
		{"fake-trivy-exit-3", "0.74.0", "  echo 'panic: something inside trivy' >&2\n  exit 3", "trivy exited with unexpected code 3 while scanning " + fx.CleanTar + "@" + shortDigest(cleanID.String()) + " (linux/amd64): panic: something inside trivy"},
		{"fake-trivy-too-old", "0.50.1", report(cleanID.String()), "is 0.50.1, older than the minimum 0.64.0 this gate needs"},
		// A report that names its trivy is believed over `trivy version`,
		// which then never runs (the fake's would say 0.74.0 or dev).
		{"fake-trivy-report-names-old", "0.74.0", namedReport("0.50.1", cleanID.String()), "is 0.50.1, older than the minimum 0.64.0 this gate needs"},
		{"fake-trivy-report-names-new", "dev", namedReport("0.74.0", cleanID.String()), ""},
		{"fake-trivy-unknown-flag", "0.74.0", "  printf '2026-06-01T06:00:00Z\\tFATAL\\tFatal error\\tunknown flag: --detection-priority\\n' >&2\n  exit 1", "trivy does not know a flag this gate passes (unknown flag: --detection-priority)"},
		{"fake-trivy-dev", "dev", report(cleanID.String()), `reports version "dev", which cannot be checked against the minimum 0.64.0`},
		{"fake-trivy-scanned-nothing", "0.74.0", scannedNothing, "trivy found no operating system and no packages in"},
		{"fake-trivy-wrong-image", "0.74.0", report("sha256:0000000000000000000000000000000000000000000000000000000000000000"), "Metadata.ImageID is sha256:0000000000000000000000000000000000000000000000000000000000000000, but the image's config digest is"},
		// Issue 12 hole 3: a report that names no image was a clean scan.
		{"fake-trivy-no-image-id", "0.74.0", `  echo '{"SchemaVersion":2,"Metadata":{"OS":{"Family":"alpine","Name":"3.19.1"}},"Results":[]}'`, "Metadata.ImageID is empty, so it cannot be tied to image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := fakeTrivy(t, tt.name, tt.version, tt.scan)
			o := Options{Inputs: []string{fx.CleanTar}, Trivy: bin, SkipDBUpdate: true, CacheDir: fakeCacheDir(t), ReportDir: t.TempDir()}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			res := runJob(t, New(o, Deps{Now: func() time.Time { return fakeNow }}), 30*time.Second)
			if tt.want == "" {
				if res.Status != checks.StatusPass {
					t.Fatalf("status %s (%s), want pass", res.Status, res.Error)
				}
				return
			}
			if res.Status != checks.StatusError || !strings.Contains(res.Error, tt.want) {
				t.Fatalf("status %s, error %q; want error containing %q", res.Status, res.Error, tt.want)
			}
		})
	}
}

func TestTrivyMissing(t *testing.T) {
	fx := trivytest.Load(t)
	t.Setenv("PATH", t.TempDir())
	tests := []struct {
		name, trivy, want string
	}{
		{"not on PATH", "", "trivy is not installed (not found on PATH); install trivy 0.64.0 or newer: a release from https://github.com/aquasecurity/trivy/releases"},
		{"configured path missing", "/nonexistent/fake-trivy", "trivy binary /nonexistent/fake-trivy was not found or is not executable; fix trivy: / --trivy, or install trivy 0.64.0 or newer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Inputs: []string{fx.CleanTar}, Trivy: tt.trivy}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			res := runJob(t, New(o, Deps{}), 30*time.Second)
			if res.Status != checks.StatusError || !strings.Contains(res.Error, tt.want) {
				t.Fatalf("status %s, error %q; want error containing %q", res.Status, res.Error, tt.want)
			}
			// A user of another repository has no scripts/install-trivy.sh.
			if strings.Contains(res.Error, "scripts/") {
				t.Errorf("error points at this repository's scripts: %q", res.Error)
			}
		})
	}
}

// A hung trivy is killed when the check's timeout ends, with the children
// it started, and the check reports a timeout (never GO).
func TestFakeTrivyHangKilledWithChildren(t *testing.T) {
	fx := trivytest.Load(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	bin := fakeTrivy(t, "fake-trivy-hang", "0.74.0", "  sleep 300 &\n  echo $! > "+pidFile+"\n  wait")
	o := Options{Inputs: []string{fx.CleanTar}, Trivy: bin, SkipDBUpdate: true, CacheDir: fakeCacheDir(t), ReportDir: t.TempDir()}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	res := runJob(t, New(o, Deps{Now: func() time.Time { return fakeNow }}), time.Second)
	if res.Status != checks.StatusError || !strings.Contains(res.Error, "timed out after 1s") {
		t.Fatalf("status %s, error %q; want a timeout", res.Status, res.Error)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the fake never started its child: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the hung trivy is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper is dead).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndex(s, ")")
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// The DB the evidence names is the one trivy used: downloaded from a
// configured repository during the scan (oci://…, with that DB's sha256),
// or the DB already in the cache (file://…).
func TestDBRecordedAsUsed(t *testing.T) {
	fx := trivytest.Load(t)
	reg := trivytest.StartRegistry(t)
	published := trivytest.CacheDir(t, time.Now())
	repo := reg.PushDB(t, "mirror/trivy-db:2", published)
	tests := []struct {
		name       string
		o          func(o *Options)
		wantOrigin string
		wantURI    func(o Options) string
	}{
		{"offline: the cached DB", func(o *Options) {}, DBCache,
			func(o Options) string { return "file://" + filepath.Join(o.CacheDir, "db", "trivy.db") }},
		{"stale cache, update allowed: downloaded from the configured mirror", func(o *Options) {
			o.SkipDBUpdate = false
			o.CacheDir = trivytest.CacheDir(t, time.Now().Add(-72*time.Hour))
			o.DBRepositories = []string{repo}
		}, DBDownloaded, func(Options) string { return "oci://" + repo }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := offline(t, Options{Inputs: []string{fx.AlpineTar}})
			tt.o(&o)
			res := runJob(t, New(o, Deps{}), 2*time.Minute)
			if res.Status != checks.StatusFail || len(res.Findings) != 2 {
				t.Fatalf("status %s (%s), findings %v; want the two", res.Status, res.Error, findingIDs(res))
			}
			db, err := DB(res)
			if err != nil {
				t.Fatal(err)
			}
			wantPath := filepath.Join(o.CacheDir, "db", "trivy.db")
			got := fmt.Sprint(db.Origin, " ", db.URI, " ", db.Path, " ", db.SHA256 != "", " ", db.MetadataSHA256 != "")
			want := fmt.Sprint(tt.wantOrigin, " ", tt.wantURI(o), " ", wantPath, " true true")
			if got != want {
				t.Errorf("db = %q, want %q", got, want)
			}
			if sum := sha256File(t, filepath.Join(published, "db", "trivy.db")); db.SHA256 != sum {
				t.Errorf("db sha256 = %s, want the test DB's %s", db.SHA256, sum)
			}
			if db.Stale {
				t.Errorf("db judged stale: %+v", db)
			}
		})
	}
}
