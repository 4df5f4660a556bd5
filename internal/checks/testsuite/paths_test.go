package testsuite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// TestPathsAreRepositoryRelative: with the config in ci/ and the suite in
// the repository root (dir: ..), a failing test's file and a missing
// required test's config line are reported relative to the repository root
// (issue 13, item 11), as SARIF and waivers read them.
func TestPathsAreRepositoryRelative(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	reports, err := filepath.Abs(filepath.Join("testdata", "reports"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, d := range []string{".git", "ci", "tests/api"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "tests/api/test_ledger.py"), []byte("# the suite\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(`
suites:
  - name: py
    dir: ..
    command: [`+exe+`]
    env: {TESTSUITE_HELPER: write, HELPER_SRC: `+reports+`/pytest-xunit2.xml, HELPER_DST: report.xml, HELPER_EXIT: "1"}
    report: {format: junit, path: report.xml}
    required: [tests/api/test_ledger.py::test_gone]
`), &node); err != nil {
		t.Fatal(err)
	}
	// The config as the user named it, from the repository root.
	env := checks.Env{Dir: filepath.Join(root, "ci"), ConfigFile: "ci/readiness.yaml", Now: time.Now}
	spec, err := config.CheckSpec{Name: "tests", Type: Type, Line: 3, With: node}.Override(map[string]any{"log_dir": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromSpec(env, spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]checks.Location{
		"TESTS-REQUIRED-MISSING/py/tests/api/test_ledger.py::test_gone":              {Path: "ci/readiness.yaml", Line: 8},
		"TESTS-FAILED/py/tests/api/test_ledger.py::test_dedupes_concurrent_requests": {Path: "tests/api/test_ledger.py", Line: 10},
	}
	for _, f := range res.Findings {
		loc, ok := want[f.ID]
		if !ok {
			continue
		}
		delete(want, f.ID)
		if f.Location == nil || *f.Location != loc {
			t.Errorf("%s: location %+v, want %+v", f.ID, f.Location, loc)
		}
	}
	for id := range want {
		t.Errorf("no finding %s in %v", id, findingIDs(res))
	}
}
