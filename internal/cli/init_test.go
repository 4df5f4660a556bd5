package cli_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// copyTree copies src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// From nothing to a judged verdict with two commands, on repositories of
// several shapes: `readiness init` writes a config that loads and runs,
// and `readiness check` (discovering it) judges the repository for real.
func TestInitThenCheck(t *testing.T) {
	repoRoot, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		tool  string // skip (fail under CI) without it
		// wantChecks are the checks init enables; wantCode the verdict's exit
		// code; wantRule a rule that must block (NO-GO only).
		wantChecks []string
		wantCode   int
		wantRule   string
		wantInYAML []string
	}{
		{name: "go module", tool: "go", setup: func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{
				"go.mod":     "module example.com/fx\n\ngo 1.22\n",
				"fx.go":      "package fx\n\nfunc Add(a, b int) int { return a + b }\n",
				"fx_test.go": "package fx\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"no\")\n\t}\n}\n",
			})
		}, wantChecks: []string{"tests"}, wantCode: 0, wantInYAML: []string{"go-test-json", "# from go.mod"}},
		{name: "pytest project", tool: "pytest", setup: func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{
				"pytest.ini":         "[pytest]\ntestpaths = tests\n",
				"tests/test_calc.py": "def test_ok():\n    assert 1 + 1 == 2\n\ndef test_broken():\n    assert 1 + 1 == 3\n",
			})
		}, wantChecks: []string{"tests"}, wantCode: 1, wantRule: "TESTS-FAILED", wantInYAML: []string{"--junitxml=build/readiness/pytest.xml"}},
		{name: "node project", tool: "node", setup: func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{
				"package.json":     `{"name": "fx", "scripts": {"test": "node --test"}}` + "\n",
				"test/sum.test.js": "const test = require('node:test');\nconst assert = require('node:assert');\ntest('sum', () => assert.strictEqual(1 + 1, 2));\n",
			})
		}, wantChecks: []string{"tests"}, wantCode: 0, wantInYAML: []string{"--test-reporter=tap"}},
		{name: "SECURITY.md and key", setup: func(t *testing.T, dir string) {
			copyTree(t, filepath.Join(repoRoot, "internal/checks/securitykey/testdata/cases/expired"), dir)
		}, wantChecks: []string{"security-key"}, wantCode: 1, wantRule: "KEY-EXPIRED", wantInYAML: []string{"key: docs/keys/security.asc", "security_md: SECURITY.md"}},
		{name: "release workflows", setup: func(t *testing.T, dir string) {
			copyTree(t, filepath.Join(repoRoot, "internal/checks/workflow/testdata/cases/scan-after-sign"), dir)
			os.Remove(filepath.Join(dir, "findings.golden"))
		}, wantChecks: []string{"workflow"}, wantCode: 1, wantRule: "WF-SCAN-AFTER-SIGN", wantInYAML: []string{"dir: .github/workflows"}},
		{name: "Dockerfile only", setup: func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
		}, wantChecks: []string{"security-key"}, wantCode: 1, wantInYAML: []string{"# - name: image-scan", "Dockerfile builds an image, but no workflow names where it is pushed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.tool != "" {
				if _, err := exec.LookPath(tc.tool); err != nil {
					need.Skip(t, "%s is not installed", tc.tool)
				}
			}
			dir := t.TempDir()
			tc.setup(t, dir)
			if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			dry := run(t, dir, nil, "init", "--dry-run")
			if dry.code != 0 {
				t.Fatalf("init --dry-run: exit %d: %s", dry.code, dry.stderr)
			}
			for _, want := range tc.wantInYAML {
				if !strings.Contains(dry.stdout, want) {
					t.Errorf("proposal lacks %q:\n%s", want, dry.stdout)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "readiness.yaml")); err == nil {
				t.Fatal("--dry-run wrote the file")
			}
			if r := run(t, dir, nil, "init"); r.code != 0 {
				t.Fatalf("init: exit %d: %s", r.code, r.stderr)
			}
			written, _ := os.ReadFile(filepath.Join(dir, "readiness.yaml"))
			if string(written) != dry.stdout {
				t.Error("init wrote something other than what --dry-run printed")
			}
			// Run from a subdirectory: the config is discovered upwards.
			sub := filepath.Join(dir, "sub")
			os.Mkdir(sub, 0o755)
			// The tests gate keeps its logs in a new temp dir (a user reads
			// them after the run); here that dir goes with the test's.
			t.Setenv("TMPDIR", t.TempDir())
			r := run(t, sub, nil, "check", "--format", "json")
			if r.code != tc.wantCode {
				t.Fatalf("check: exit %d, want %d\nstderr: %s\nconfig:\n%s", r.code, tc.wantCode, r.stderr, written)
			}
			if !strings.Contains(r.stderr, "using config "+filepath.Join(dir, "readiness.yaml")) {
				t.Errorf("stderr does not say which config was used: %s", r.stderr)
			}
			var doc evidence.Document
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Config.Path != filepath.Join(dir, "readiness.yaml") {
				t.Errorf("evidence config %q", doc.Config.Path)
			}
			var names []string
			for _, c := range doc.Checks {
				names = append(names, c.Check)
				if c.Status == checks.StatusError {
					t.Errorf("check %s errored: %s", c.Check, c.Error)
				}
			}
			if !slices.Equal(names, tc.wantChecks) {
				t.Errorf("checks %v, want %v", names, tc.wantChecks)
			}
			if tc.wantRule != "" {
				var rules []string
				for _, m := range doc.Verdict.Deny {
					rules = append(rules, m.Rule)
				}
				if !slices.Contains(rules, tc.wantRule) {
					t.Errorf("blocking rules %v, want %s among them", rules, tc.wantRule)
				}
			}
		})
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := writeConfig(t, "checks:\n  - name: security-key\n")
	before, _ := os.ReadFile(filepath.Join(dir, "readiness.yaml"))
	r := run(t, dir, nil, "init")
	if r.code != 2 || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("exit %d, stderr %q; want 2 saying it exists and naming --force", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "readiness.yaml")); string(after) != string(before) {
		t.Fatal("the existing file was changed")
	}
	if r := run(t, dir, nil, "init", "--force"); r.code != 0 {
		t.Fatalf("--force: exit %d: %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "readiness.yaml")); string(after) == string(before) {
		t.Fatal("--force did not replace the file")
	}
}

func TestConfigDiscoveryMiss(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, ".git"), 0o755)
	r := run(t, dir, nil, "check")
	if r.code != 2 || !strings.Contains(r.stderr, "readiness init") {
		t.Fatalf("exit %d, stderr %q; want 2 suggesting readiness init", r.code, r.stderr)
	}
	other := writeConfig(t, "checks:\n  - name: nope-type\n")
	r = run(t, dir, map[string]string{"READINESS_CONFIG": filepath.Join(other, "readiness.yaml")}, "check")
	if r.code != 2 || !strings.Contains(r.stderr, "nope-type") {
		t.Fatalf("READINESS_CONFIG not used: exit %d, stderr %q", r.code, r.stderr)
	}
}

// --exit-zero reports without failing: exit 0 on NO-GO with the real
// verdict printed, but a configuration error still exits 2.
func TestExitZero(t *testing.T) {
	dir := writeConfig(t, nogoConfig)
	for _, flag := range []string{"--exit-zero", "--no-fail"} {
		r := run(t, dir, nil, "check", flag)
		if r.code != 0 || !strings.Contains(r.stdout, "NO-GO") || !strings.Contains(r.stderr, "not a release gate") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0 with the NO-GO printed", flag, r.code, r.stdout, r.stderr)
		}
	}
	bad := writeConfig(t, "checks: [}\n")
	if r := run(t, bad, nil, "check", "--exit-zero"); r.code != 2 {
		t.Errorf("config error under --exit-zero: exit %d, want 2", r.code)
	}
}

func TestExplainUX(t *testing.T) {
	r := run(t, "", nil, "explain")
	if r.code != 0 || !strings.Contains(r.stdout, "KEY-EXPIRED") {
		t.Errorf("explain with no argument: exit %d, %q; want the rule list", r.code, r.stderr)
	}
	r = run(t, "", nil, "explain", "KEY-EXPIRD")
	if r.code != 2 || !strings.Contains(r.stderr, "did you mean KEY-EXPIRED?") {
		t.Errorf("near miss: exit %d, %q", r.code, r.stderr)
	}
	r = run(t, "", nil, "__complete", "check", "--format", "")
	if !strings.Contains(r.stdout, "html\n") || !strings.Contains(r.stdout, "github\n") {
		t.Errorf("--format completion: %q", r.stdout)
	}
	dir := writeConfig(t, "checks:\n  - name: alpha\n    type: test\n  - name: beta\n    type: test\n")
	r = run(t, dir, nil, "__complete", "check", "--only", "")
	if !strings.Contains(r.stdout, "alpha\nbeta\n") {
		t.Errorf("--only completion: %q", r.stdout)
	}
	r = run(t, "", nil, "__complete", "explain", "KEY-EXP")
	if !strings.Contains(r.stdout, "KEY-EXPIRED\t") {
		t.Errorf("explain completion: %q", r.stdout)
	}
}

// TestInitFromSubdirectory: run below the root, init inspects the
// repository root (where SECURITY.md and .github/ live) and writes there.
func TestInitFromSubdirectory(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".git/HEAD":                     "ref: refs/heads/main\n",
		"SECURITY.md":                   "Mail security@acme.io, PGP-encrypted to docs/keys/security.asc.\n",
		"docs/keys/security.asc":        "",
		".github/workflows/release.yml": "jobs:\n  r:\n    steps:\n      - run: cosign sign ghcr.io/acme/app@sha256:0\n",
		"go.mod":                        "module acme\n",
		"internal/pkg/pkg.go":           "package pkg\n",
	})
	sub := filepath.Join(root, "internal", "pkg")
	r := run(t, sub, nil, "init")
	if r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(root, "readiness.yaml"))
	if err != nil {
		t.Fatalf("init did not write readiness.yaml at the repository root: %v", err)
	}
	for _, want := range []string{"- name: security-key", "- name: workflow", "- name: tests"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("proposal lacks %q:\n%s", want, data)
		}
	}
	if _, err := os.Stat(filepath.Join(sub, "readiness.yaml")); err == nil {
		t.Error("init also wrote readiness.yaml in the subdirectory")
	}
}
