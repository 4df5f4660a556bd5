package scaffold_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/scaffold"
	"github.com/readiness-dev/readiness/internal/testutil/golden"
)

// shapesNow fixes the commented waiver's date in the golden files.
var shapesNow = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

// TestRepositoryShapes: init's proposal for the shapes real repositories
// take, as golden readiness.yaml files (go test -update rewrites them).
// Every proposal loads, every gate accepts its with: block, and a
// repository whose tests were found gets a tests gate (one repository got a
// GO with no test run: its unittest suite runs under meson).
func TestRepositoryShapes(t *testing.T) {
	wf := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	shapes := map[string]struct {
		files     fstest.MapFS
		wantTests []string // suite names proposed, uncommented
	}{
		"go-goreleaser-cosign": {files: fstest.MapFS{
			"go.mod": {}, "SECURITY.md": wf("Mail security@acme.io, encrypted to docs/keys/security.asc.\n"), "docs/keys/security.asc": {},
			".goreleaser.yaml": {}, ".github/workflows/release.yml": wf("jobs:\n  r:\n    steps:\n      - uses: goreleaser/goreleaser-action@v6\n      - run: cosign sign ghcr.io/acme/app@${{ steps.b.outputs.digest }}\n"),
		}, wantTests: []string{"go"}},
		"python-unittest-meson": {files: fstest.MapFS{
			"meson.build":        wf("project('x')\npy = import('python').find_installation()\ntest('unit', py, args: ['-m', 'unittest', 'discover'])\n"),
			"tests/test_core.py": wf("import unittest\n"), "SECURITY.md": wf("Report to security@acme.io.\n"),
		}, wantTests: []string{"meson"}},
		"python-unittest-ci": {files: fstest.MapFS{
			".github/workflows/ci.yml": wf("jobs:\n  t:\n    steps:\n      - run: python -m unittest discover -s tests\n"),
			"tests/test_core.py":       wf("import unittest\n"),
		}, wantTests: []string{"unittest"}},
		"pytest":      {files: fstest.MapFS{"pyproject.toml": wf("[tool.pytest.ini_options]\n"), "tests/test_a.py": {}}, wantTests: []string{"pytest"}},
		"node-vitest": {files: fstest.MapFS{"package.json": wf(`{"scripts":{"test":"vitest run"},"devDependencies":{"vitest":"^3"}}`)}, wantTests: []string{"node"}},
		"cmake":       {files: fstest.MapFS{"CMakeLists.txt": wf("cmake_minimum_required(VERSION 3.21)\nproject(x C)\nenable_testing()\nadd_test(NAME t COMMAND t)\n")}, wantTests: []string{"ctest"}},
		"maven":       {files: fstest.MapFS{"pom.xml": {}}, wantTests: []string{"maven"}},
		"gradle":      {files: fstest.MapFS{"build.gradle.kts": {}, "gradlew": {}}, wantTests: []string{"gradle"}},
		"cargo":       {files: fstest.MapFS{"Cargo.toml": {}}},
		"make-check":  {files: fstest.MapFS{"Makefile": wf("all:\n\tcc -o x x.c\ncheck: all\n\t./run-tests.sh\n")}},
		"security-txt-only-key": {files: fstest.MapFS{
			"docs/.well-known/security.txt": wf("Contact: mailto:security@acme.io\nEncryption: https://acme.io/.well-known/pgp-key.txt\n"),
			"docs/.well-known/pgp-key.txt":  {}, "go.mod": {},
		}, wantTests: []string{"go"}},
		"security-md-without-key": {files: fstest.MapFS{"SECURITY.md": wf("Use GitHub's private vulnerability reporting.\n"), "go.mod": {}}, wantTests: []string{"go"}},
		"nothing-found":           {files: fstest.MapFS{"README.md": {}}},
	}
	for name, sh := range shapes {
		t.Run(name, func(t *testing.T) {
			p, err := scaffold.Inspect(sh.files)
			if err != nil {
				t.Fatal(err)
			}
			out := scaffold.Render(p, shapesNow)
			golden.Assert(t, filepath.Join("testdata", "shapes", name+".yaml"), out)
			gates := catalog.Gates()
			cfg, err := config.Parse("readiness.yaml", out, config.LoadOptions{Now: time.Now(), KnownTypes: catalog.Types(gates)})
			if err != nil {
				t.Fatalf("proposal does not load: %v\n%s", err, out)
			}
			var suites []string
			for _, spec := range cfg.Checks {
				g, _ := catalog.Find(gates, spec.Type)
				if _, err := g.New(checks.Env{Dir: t.TempDir(), Now: time.Now}, spec); err != nil {
					t.Errorf("gate %s rejects its with: block: %v", spec.Name, err)
				}
			}
			for _, s := range p.Suites {
				if !s.Commented {
					suites = append(suites, s.Name)
				}
			}
			if strings.Join(suites, ",") != strings.Join(sh.wantTests, ",") {
				t.Errorf("tests suites %v, want %v", suites, sh.wantTests)
			}
			if len(p.Suites) == 0 && !strings.Contains(string(out), "No tests gate: no test command was found") {
				t.Errorf("no suite found, and the proposal does not say so:\n%s", out)
			}
		})
	}
}

// TestREADMENamesEverySuite keeps README's `init` section true: every test
// runner init proposes is named there.
func TestREADMENamesEverySuite(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "`init` inspects the repository's root")
	end := strings.Index(string(readme), "`--dir DIR` inspects another repository")
	if start < 0 || end < start {
		t.Fatal("README's init section not found")
	}
	section := strings.Join(strings.Fields(string(readme[start:end])), " ")
	// The words README uses for each suite init can propose.
	named := map[string]string{"go": "go test -json", "pytest": "pytest config", "node": "package.json's test script",
		"meson": "meson test", "ctest": "ctest --output-junit", "maven": "Maven", "gradle": "Gradle",
		"cargo": "cargo", "unittest": "python -m unittest", "make": "make test"}
	wf := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, files := range []fstest.MapFS{
		{"go.mod": {}, "pytest.ini": {}, "package.json": wf(`{"scripts":{"test":"vitest"}}`), "pom.xml": {}, "build.gradle": {}, "Cargo.toml": {},
			"CMakeLists.txt": wf("enable_testing()\n"), "meson.build": wf("test('t', exe)\n")},
		{"tests/test_a.py": wf("import unittest\n")},
		{"Makefile": wf("test:\n\t./t.sh\n")},
	} {
		p, err := scaffold.Inspect(files)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Suites {
			words, ok := named[s.Name]
			if !ok {
				t.Errorf("init proposes suite %q, which this test (and README's init section) does not know", s.Name)
			} else if !strings.Contains(section, words) {
				t.Errorf("README's init section does not name %s (%q)", s.Name, words)
			}
			delete(named, s.Name)
		}
	}
	for name := range named {
		t.Errorf("no fixture here proposes suite %q any more", name)
	}
}
