package imagescan

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

func TestTrivyEnviron(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{"TRIVY_ variables never pass", []string{"TRIVY_SEVERITY=LOW", "TRIVY_SERVER=http://x", "TRIVY_NON_SSL=1", "TRIVY_=x", "PATH=/bin"}, []string{"PATH=/bin"}},
		{"nor in another case", []string{"trivy_config=/tmp/t.yaml", "Trivy_Vex=/v.json"}, nil},
		{"allowlisted names pass with their values", []string{"HOME=/h", "TMPDIR=/t", "HTTPS_PROXY=http://p:3128", "no_proxy=localhost", "DOCKER_CONFIG=/d", "REGISTRY_AUTH_FILE=/a.json", "GITHUB_TOKEN=ghs_x", "XDG_RUNTIME_DIR=/run/user/1"},
			[]string{"HOME=/h", "TMPDIR=/t", "HTTPS_PROXY=http://p:3128", "no_proxy=localhost", "DOCKER_CONFIG=/d", "REGISTRY_AUTH_FILE=/a.json", "GITHUB_TOKEN=ghs_x", "XDG_RUNTIME_DIR=/run/user/1"}},
		{"cloud registry credentials", []string{"AWS_REGION=eu-west-1", "AZURE_CLIENT_ID=x", "GOOGLE_APPLICATION_CREDENTIALS=/k.json"}, []string{"AWS_REGION=eu-west-1", "AZURE_CLIENT_ID=x", "GOOGLE_APPLICATION_CREDENTIALS=/k.json"}},
		// Variables trivy's analyzers read from the host (GOPATH for Go
		// module licences, XDG_DATA_HOME for ~/.trivy: modules, VEX
		// repositories), TLS trust, and anything unknown stay out.
		{"everything else stays out", []string{"GOPATH=/go", "XDG_DATA_HOME=/d", "XDG_CACHE_HOME=/c", "SSL_CERT_FILE=/ca.pem", "LD_PRELOAD=/evil.so", "MAVEN_HOME=/m", "CI=true", "=C:=C:\\", "NOEQUALS"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, trivyEnviron(tt.environ)); diff != "" {
				t.Errorf("trivyEnviron (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzTrivyEnviron(f *testing.F) {
	for _, s := range []string{"TRIVY_SEVERITY=LOW", "PATH=/bin", "trivy_x=1", "HOME=/h=x", "=", "AWS_TRIVY_X=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, kv string) {
		out := trivyEnviron([]string{kv})
		if len(out) > 1 || (len(out) == 1 && out[0] != kv) {
			t.Fatalf("trivyEnviron(%q) = %q", kv, out)
		}
		for _, o := range out {
			k, _, _ := strings.Cut(o, "=")
			if strings.HasPrefix(strings.ToUpper(k), "TRIVY_") || !envAllowedName(k) {
				t.Fatalf("%q passed", o)
			}
		}
	})
}

func TestDownloadedDBRepo(t *testing.T) {
	repos := []string{"registry.internal/aquasec/trivy-db:2", "mirror.example/trivy-db"}
	line := func(repo string) string {
		return "2026-12-06T03:00:00Z\tINFO\t[vulndb] Artifact successfully downloaded\trepo=\"" + repo + "\"\n"
	}
	tests := []struct {
		name, stderr, want string
	}{
		{"no download", "2026-12-06T03:00:00Z\tINFO\tDetected OS\tfamily=\"alpine\"\n", ""},
		{"first repository", "\tINFO\t[vulndb] Downloading vulnerability DB...\n" + line(repos[0]), repos[0]},
		{"trivy added the schema tag", line("mirror.example/trivy-db:2"), repos[1]},
		{"the Java DB is not the vulnerability DB", line("mirror.gcr.io/aquasec/trivy-java-db:1"), ""},
		{"a repository readiness did not pass", line("attacker.example/trivy-db:2"), ""},
		{"the last download wins", line(repos[0]) + line(repos[1]), repos[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := downloadedDBRepo([]byte(tt.stderr), repos); got != tt.want {
				t.Errorf("downloadedDBRepo() = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzDownloadedDBRepo(f *testing.F) {
	f.Add([]byte("Artifact successfully downloaded\trepo=\"a/b:2\"\n"))
	f.Add([]byte("Artifact successfully downloaded repo=\"\""))
	f.Fuzz(func(t *testing.T, stderr []byte) {
		repos := []string{"a/b:2", "c/d"}
		if got := downloadedDBRepo(stderr, repos); got != "" && !slices.Contains(repos, got) {
			t.Fatalf("downloadedDBRepo = %q, not one readiness passed", got)
		}
	})
}

// Every setting recorded is the one on the command line, and the settings
// readiness.yaml does not set have trivy's defaults or none.
func TestScanArgsCarrySettings(t *testing.T) {
	work := t.TempDir()
	env := checks.Env{Dir: "/repo", ConfigFile: "readiness.yaml"}
	chk, err := fromSpec(env, decodeSpec(t, "inputs: [a.tar]\nscanners: [vuln, secret]\nignore_unfixed: true\ncache_dir: /c\ndb_repository: [r.example/db:2]\nskip_db_update: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := chk.(*Check)
	inv, err := c.newInvocation("/bin/trivy", work)
	if err != nil {
		t.Fatal(err)
	}
	args := inv.scanArgs(context.Background(), target{Args: []string{"--input", "/repo/a.tar"}})
	flag := func(name string) string {
		i := slices.Index(args, name)
		if i < 0 || i+1 >= len(args) {
			return "<absent>"
		}
		return args[i+1]
	}
	want := map[string]string{
		"--config": filepath.Join(work, "trivy-config.yaml"), "--cache-dir": "/c", "--scanners": "vuln,secret",
		"--severity": "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL", "--pkg-types": "os,library", "--ignorefile": os.DevNull,
		"--detection-priority": "precise", "--vuln-severity-source": "auto", "--module-dir": filepath.Join(work, "no-modules"),
		"--secret-config": filepath.Join(work, "no-trivy-secret.yaml"), "--db-repository": "r.example/db:2",
		"--java-db-repository":       "mirror.gcr.io/aquasec/trivy-java-db:1,ghcr.io/aquasecurity/trivy-java-db:1",
		"--checks-bundle-repository": "mirror.gcr.io/aquasec/trivy-checks:2",
	}
	for name, v := range want {
		if got := flag(name); got != v {
			t.Errorf("%s = %q, want %q (args %v)", name, got, v, args)
		}
	}
	for _, f := range []string{"--ignore-unfixed=true", "--removed-pkgs=false", "--skip-db-update", "--offline-scan", "--skip-java-db-update"} {
		if !slices.Contains(args, f) {
			t.Errorf("args lack %s: %v", f, args)
		}
	}
	for _, f := range []string{"--server", "--vex", "--ignore-policy", "--skip-files", "--skip-dirs", "--distro", "--ignore-status", "--sbom-sources", "--image-config-scanners"} {
		if slices.Contains(args, f) {
			t.Errorf("args pass %s: %v", f, args)
		}
	}
	if data, err := os.ReadFile(inv.set.ConfigFile); err != nil || string(data) != "{}\n" {
		t.Errorf("config file %s = %q, %v; want an empty YAML map", inv.set.ConfigFile, data, err)
	}
	s := inv.set
	if s.CacheDir != "/c" || !s.IgnoreUnfixed || !s.SkipDBUpdate || s.Server != "" || len(s.VEX) != 0 || s.IgnorePolicy != "" || s.Distro != "" {
		t.Errorf("settings = %+v", s)
	}
}

// Without cache_dir the cache directory is still passed: trivy's own
// default, computed by readiness, not TRIVY_CACHE_DIR.
func TestDefaultCacheDirIsPassed(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("TRIVY_CACHE_DIR", "/attacker")
	c := New(Options{Inputs: []string{"a.tar"}, Scanners: []string{"vuln"}, DBMaxAge: config.Duration(1)}, Deps{})
	inv, err := c.newInvocation("/bin/trivy", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(xdg, "trivy"); inv.set.CacheDir != want || !slices.Contains(inv.versionArgs(), want) {
		t.Errorf("cache dir = %q (version args %v), want %q", inv.set.CacheDir, inv.versionArgs(), want)
	}
}

// The DB is read after the scans from the cache dir trivy was given; a DB
// whose age or content cannot be known is an error, never a pass.
func TestReadDB(t *testing.T) {
	good := `{"Version":2,"NextUpdate":"2026-06-02T00:00:00Z","UpdatedAt":"2026-06-01T00:00:00Z","DownloadedAt":"2026-06-01T00:00:00Z"}`
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"good", map[string]string{"metadata.json": good, "trivy.db": "db"}, ""},
		{"no metadata", map[string]string{"trivy.db": "db"}, "trivy left no DB metadata in its cache dir"},
		{"metadata not JSON", map[string]string{"metadata.json": "<html>", "trivy.db": "db"}, `metadata.json is not a JSON object (it begins "<html>")`},
		{"metadata without UpdatedAt", map[string]string{"metadata.json": `{"Version":2}`, "trivy.db": "db"}, "gives no UpdatedAt"},
		{"no DB file", map[string]string{"metadata.json": good}, "read the vulnerability DB trivy scanned with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "db"), 0o755); err != nil {
				t.Fatal(err)
			}
			for n, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, "db", n), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			u, err := readDB(Settings{CacheDir: dir})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readDB() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.meta.UpdatedAt.IsZero() || u.path != filepath.Join(dir, "db", "trivy.db") || len(u.sha256) != 64 || len(u.metadataSHA256) != 64 {
				t.Errorf("readDB() = %+v", u)
			}
		})
	}
}

func FuzzParseDBMetadata(f *testing.F) {
	f.Add([]byte(`{"Version":2,"NextUpdate":"2026-06-02T00:00:00Z","UpdatedAt":"2026-06-01T00:00:00Z","DownloadedAt":"2026-06-01T00:00:00Z"}`))
	f.Add([]byte(`{"UpdatedAt":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseDBMetadata(data)
		if err == nil && m.UpdatedAt.IsZero() {
			t.Fatalf("parseDBMetadata(%q) accepted a DB with no UpdatedAt", data)
		}
	})
}
