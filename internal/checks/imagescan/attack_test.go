package imagescan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// Attacks on the scan's configuration, one input at a time, with the real
// trivy: an attacker who controls the environment of the run, the working
// directory or readiness's own cache tries to make trivy report less. A
// vulnerable image (one critical, one high) must still yield both blocking
// findings, or at least never a pass, and the evidence must record the
// values trivy actually used.
//
// The assertions read facts as JSON maps, not through this package's
// types, so the same table compiles against the code from before these
// defences (where every row but the cwd ones failed: see the commit).
func TestScanConfiguredByReadinessYAMLAlone(t *testing.T) {
	fx := trivytest.Load(t)
	bin := trivytest.Binary(t)
	writeFile := func(t *testing.T, name, body string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Both advisories declared not_affected for the image's packages.
	vex := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://attacker.invalid/vex-1","author":"attacker","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[` +
		`{"vulnerability":{"name":"` + trivytest.CVECritical + `"},"products":[{"@id":"pkg:apk/alpine/musl"}],"status":"not_affected","justification":"vulnerable_code_not_present"},` +
		`{"vulnerability":{"name":"` + trivytest.CVEHigh + `"},"products":[{"@id":"pkg:apk/alpine/zlib"}],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`
	tests := []scanAttack{
		{
			name: "TRIVY_VULN_SEVERITY_SOURCE rates by a source with no rating",
			attack: func(t *testing.T, o *Options) {
				t.Setenv("TRIVY_VULN_SEVERITY_SOURCE", "alpine")
			},
			wantFindings: true,
			check: func(t *testing.T, s, _ map[string]any, sc ScanFact) {
				wantSetting(t, s, "vuln_severity_source", []any{"auto"})
				wantArg(t, sc, "--vuln-severity-source", "auto")
			},
		},
		{
			name: "TRIVY_VEX declares both not affected",
			attack: func(t *testing.T, o *Options) {
				t.Setenv("TRIVY_VEX", writeFile(t, "attacker.openvex.json", vex))
			},
			wantFindings: true,
			check:        func(t *testing.T, s, _ map[string]any, _ ScanFact) { wantSetting(t, s, "vex", []any{}) },
		},
		{
			name: "TRIVY_IGNORE_POLICY ignores everything",
			attack: func(t *testing.T, o *Options) {
				t.Setenv("TRIVY_IGNORE_POLICY", writeFile(t, "ignore.rego", "package trivy\n\nimport rego.v1\n\ndefault ignore := true\n"))
			},
			wantFindings: true,
			check:        func(t *testing.T, s, _ map[string]any, _ ScanFact) { wantSetting(t, s, "ignore_policy", "") },
		},
		{
			name:         "TRIVY_SKIP_FILES skips the package DB",
			attack:       func(t *testing.T, o *Options) { t.Setenv("TRIVY_SKIP_FILES", "lib/apk/db/installed") },
			wantFindings: true,
			check:        func(t *testing.T, s, _ map[string]any, _ ScanFact) { wantSetting(t, s, "skip_files", []any{}) },
		},
		{
			name:         "TRIVY_SKIP_DIRS skips the package DB's directory",
			attack:       func(t *testing.T, o *Options) { t.Setenv("TRIVY_SKIP_DIRS", "lib/apk/db") },
			wantFindings: true,
			check:        func(t *testing.T, s, _ map[string]any, _ ScanFact) { wantSetting(t, s, "skip_dirs", []any{}) },
		},
		{
			name:         "TRIVY_IGNORE_STATUS ignores fixed vulnerabilities",
			attack:       func(t *testing.T, o *Options) { t.Setenv("TRIVY_IGNORE_STATUS", "fixed,affected,unknown") },
			wantFindings: true,
			check:        func(t *testing.T, s, _ map[string]any, _ ScanFact) { wantSetting(t, s, "ignore_status", []any{}) },
		},
		{
			name:         "TRIVY_DISTRO claims a release no advisory names",
			attack:       func(t *testing.T, o *Options) { t.Setenv("TRIVY_DISTRO", "alpine/3.99") },
			wantFindings: true,
			check: func(t *testing.T, s, _ map[string]any, sc ScanFact) {
				wantSetting(t, s, "distro", "")
				if sc.OS != "alpine 3.19.1" {
					t.Errorf("os = %q, want the image's own alpine 3.19.1", sc.OS)
				}
			},
		},
		{
			name: "TRIVY_CONFIG names a trivy.yaml that skips the package DB",
			attack: func(t *testing.T, o *Options) {
				t.Setenv("TRIVY_CONFIG", writeFile(t, "trivy.yaml", "scan:\n  skip-files:\n    - lib/apk/db/installed\nvulnerability:\n  ignore-status: [fixed]\n"))
			},
			wantFindings: true,
			check: func(t *testing.T, s, _ map[string]any, sc ScanFact) {
				cfg, _ := s["config_file"].(string)
				if cfg == "" || cfg == os.Getenv("TRIVY_CONFIG") {
					t.Errorf("config_file = %q, want readiness's own empty file", cfg)
				}
				wantArg(t, sc, "--config", cfg)
			},
		},
		{
			name: "TRIVY_SERVER sends the scan to a server with an empty DB",
			attack: func(t *testing.T, o *Options) {
				t.Setenv("TRIVY_SERVER", trivytest.StartServer(t, trivytest.EmptyCacheDir(t, time.Now())))
			},
			wantFindings: true,
			check:        func(t *testing.T, s, _ map[string]any, _ ScanFact) { wantSetting(t, s, "server", "") },
		},
		{
			name: "TRIVY_CACHE_DIR swaps in an empty DB when cache_dir is unset",
			attack: func(t *testing.T, o *Options) {
				// The user's own cache (XDG_CACHE_HOME is theirs to set)
				// holds the real DB; the attacker's holds an empty one.
				xdg := t.TempDir()
				if err := trivytest.FillCacheDir(filepath.Join(xdg, "trivy"), time.Now()); err != nil {
					t.Fatal(err)
				}
				t.Setenv("XDG_CACHE_HOME", xdg)
				t.Setenv("TRIVY_CACHE_DIR", trivytest.EmptyCacheDir(t, time.Now()))
				o.CacheDir = ""
			},
			wantFindings: true,
			check: func(t *testing.T, s, db map[string]any, _ ScanFact) {
				want := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "trivy")
				wantSetting(t, s, "cache_dir", want)
				if db["sha256"] != sha256File(t, fx.DB) || db["path"] != filepath.Join(want, "db", "trivy.db") {
					t.Errorf("db = %v; want the user's DB %s with the test DB's sha256", db, want)
				}
			},
		},
		{
			name: "TRIVY_DB_REPOSITORY points a DB update at an empty DB",
			attack: func(t *testing.T, o *Options) {
				reg := trivytest.StartRegistry(t)
				t.Setenv("TRIVY_DB_REPOSITORY", reg.PushDB(t, "attacker/trivy-db:2", trivytest.EmptyCacheDir(t, time.Now())))
				// A DB due for an update, and trivy allowed to update it:
				// from its default repositories, kept unreachable by a dead
				// proxy even where the internet is not (Go never proxies
				// loopback, so the attacker's registry stays reachable).
				t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
				t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
				t.Setenv("NO_PROXY", "")
				o.SkipDBUpdate = false
				o.CacheDir = trivytest.CacheDir(t, time.Now().Add(-48*time.Hour))
			},
			wantFindings: false,
			check: func(t *testing.T, s, _ map[string]any, sc ScanFact) {
				wantSetting(t, s, "db_repository", []any{"mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"})
			},
		},
		{
			// Attacks not foreseen above: every variable trivy binds to a
			// flag of `trivy image`, set at once to a hostile value.
			name: "every TRIVY_<FLAG> of trivy image --help at once",
			attack: func(t *testing.T, o *Options) {
				help, err := exec.Command(bin, "image", "--help").CombinedOutput()
				if err != nil {
					t.Fatalf("trivy image --help: %v\n%s", err, help)
				}
				names := everyTrivyFlagVar(string(help))
				if len(names) < 50 {
					t.Fatalf("only %d flags found in trivy image --help", len(names))
				}
				for _, n := range names {
					t.Setenv(n, "1")
				}
			},
			wantFindings: true,
			check: func(t *testing.T, s, _ map[string]any, _ ScanFact) {
				wantSetting(t, s, "severity", []any{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"})
			},
		},
		{
			name: "trivy.yaml, .trivyignore and trivy-secret.yaml in the working directory",
			attack: func(t *testing.T, o *Options) {
				dir := t.TempDir()
				for name, body := range map[string]string{
					"trivy.yaml":        "scan:\n  skip-files:\n    - lib/apk/db/installed\n",
					".trivyignore":      trivytest.CVECritical + "\n" + trivytest.CVEHigh + "\n",
					".trivyignore.yaml": "vulnerabilities:\n  - id: " + trivytest.CVECritical + "\n  - id: " + trivytest.CVEHigh + "\n",
				} {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				t.Chdir(dir)
			},
			wantFindings: true,
			check: func(t *testing.T, s, _ map[string]any, _ ScanFact) {
				wantSetting(t, s, "ignore_file", os.DevNull)
			},
		},
		{
			// VEX only from readiness.yaml's vex:: a document in the working
			// directory, even one a trivy.yaml there names, suppresses nothing.
			name: "trivy.yaml in the working directory names a VEX document beside it",
			attack: func(t *testing.T, o *Options) {
				dir := t.TempDir()
				for name, body := range map[string]string{
					"trivy.yaml":            "vulnerability:\n  vex:\n    - attacker.openvex.json\n",
					"attacker.openvex.json": vex,
					"openvex.json":          vex,
				} {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				t.Chdir(dir)
			},
			wantFindings: true,
			check:        func(t *testing.T, s, _ map[string]any, _ ScanFact) { wantSetting(t, s, "vex", []any{}) },
		},
		{
			name: "planted version-probe cache makes a 60-day-old DB read as fresh",
			attack: func(t *testing.T, o *Options) {
				o.CacheDir = trivytest.CacheDir(t, time.Now().Add(-60*24*time.Hour))
				xdg := t.TempDir()
				t.Setenv("XDG_CACHE_HOME", xdg)
				plantProbeCache(t, filepath.Join(xdg, "readiness", "trivy-version"), bin, o.CacheDir)
			},
			wantFindings: true,
			check: func(t *testing.T, _, db map[string]any, _ ScanFact) {
				if db["stale"] != true {
					t.Errorf("db = %v; want the 60-day-old DB judged stale", db)
				}
			},
		},
	}
	tests = append(tests, scanAttack{
		name:   "planted version-probe cache, clean image: the stale DB alone must block",
		attack: tests[len(tests)-1].attack,
		image:  fx.CleanTar,
		check: func(t *testing.T, _, db map[string]any, _ ScanFact) {
			if db["stale"] != true {
				t.Errorf("db = %v; want the 60-day-old DB judged stale", db)
			}
		},
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := tt.image
			if image == "" {
				image = fx.AlpineTar
			}
			o := offline(t, Options{Inputs: []string{image}})
			tt.attack(t, &o)
			c := New(o, Deps{})
			res := runJob(t, c, 2*time.Minute)
			if res.Status == checks.StatusPass {
				t.Fatalf("the attack passed the image (findings %v)", findingIDs(res))
			}
			if tt.wantFindings {
				if res.Status != checks.StatusFail {
					t.Fatalf("status %s (%s), want fail with both findings", res.Status, res.Error)
				}
				var crit, high bool
				for _, id := range findingIDs(res) {
					crit = crit || strings.HasPrefix(id, "SCAN-CRITICAL-VULN/"+trivytest.CVECritical+"/")
					high = high || strings.HasPrefix(id, "SCAN-HIGH-VULN/"+trivytest.CVEHigh+"/")
				}
				if !crit || !high {
					t.Fatalf("findings %v, want the critical and the high one", findingIDs(res))
				}
			}
			settings := factMap(t, res, "trivy_settings")
			if env, _ := settings["env"].([]any); slices.ContainsFunc(env, func(v any) bool { return strings.HasPrefix(fmt.Sprint(v), "TRIVY_") }) {
				t.Errorf("trivy was given %v", env)
			}
			var scan ScanFact
			if scans, err := Scans(res); err == nil && len(scans) == 1 {
				scan = scans[0]
			} else if tt.wantFindings {
				t.Fatalf("scans fact: %v, %v", scans, err)
			}
			var db map[string]any
			if tt.wantFindings || res.Facts["db"] != nil {
				db = factMap(t, res, "db")
			}
			tt.check(t, settings, db, scan)
		})
	}
}

type scanAttack struct {
	name string
	// attack sets up the attack and may change the options (o is already
	// complete for an offline scan with a fresh DB).
	attack func(t *testing.T, o *Options)
	// wantFindings: the attack must leave both findings. Otherwise it must
	// at least not pass (an error is NO-GO too).
	wantFindings bool
	// image is the tarball scanned; the vulnerable one by default.
	image string
	// check judges the recorded settings and DB.
	check func(t *testing.T, settings, db map[string]any, scan ScanFact)
}

// everyTrivyFlagVar lists TRIVY_<FLAG> for every --flag in trivy's help
// (trivy binds exactly that name: pkg/flag Flag.BindEnv).
func everyTrivyFlagVar(help string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(help, -1) {
		if m[1] == "help" || m[1] == "version" {
			continue
		}
		names = append(names, "TRIVY_"+strings.ToUpper(strings.ReplaceAll(m[1], "-", "_")))
	}
	return names
}

// factMap reads a fact as the JSON object an evidence document holds.
func factMap(t *testing.T, r checks.Result, key string) map[string]any {
	t.Helper()
	data, err := json.Marshal(r.Facts[key])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		t.Fatalf("fact %q = %s, want an object (%v)", key, data, err)
	}
	return m
}

func wantSetting(t *testing.T, s map[string]any, key string, want any) {
	t.Helper()
	if got, ok := s[key]; !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("trivy_settings.%s = %v (recorded %v), want %v", key, got, ok, want)
	}
}

// wantArg checks that the scan's command line passed flag with value.
func wantArg(t *testing.T, sc ScanFact, flag, value string) {
	t.Helper()
	i := slices.Index(sc.Command, flag)
	if i < 0 || i+1 >= len(sc.Command) || sc.Command[i+1] != value {
		t.Errorf("command %v does not pass %s %s", sc.Command, flag, value)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
