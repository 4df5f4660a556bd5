package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// workflowCase copies a fixture repository of the workflow gate into a
// temporary directory and returns it.
func workflowCase(t *testing.T, name string) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "checks", "workflow", "testdata", "cases", name))
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestWorkflowLint(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		config   string // readiness.yaml after "version: 1", or "" for none
		args     []string
		outside  bool // run from another directory, naming the fixture's workflows by absolute path
		code     int
		contains []string
		lacks    []string
	}{
		{name: "no scan before signing, NO-GO", fixture: "no-scan", args: []string{"workflow", "lint"}, code: 1,
			contains: []string{"WF-SIGN-BEFORE-SCAN", ".github/workflows/release-containers.yml:84", "3 not gated", "NO-GO"}},
		{name: "scan job needed by the sign job, GO", fixture: "pass-needs", args: []string{"workflow", "lint"}, code: 0,
			contains: []string{"2 after a blocking scan", "GO"}},
		// Alone, release.yml has no scan at all: ci.yml is not analysed.
		{name: "one file", fixture: "scan-other-workflow", args: []string{"workflow", "lint", ".github/workflows/release.yml"}, code: 1,
			contains: []string{"1 workflow, 1 signing step: 1 not gated", "WF-SIGN-BEFORE-SCAN"}, lacks: []string{"WF-SCAN-NOT-NEEDED"}},
		{name: "directory named from elsewhere keeps repository paths", fixture: "scan-after-sign", outside: true, code: 1,
			contains: []string{"WF-SCAN-AFTER-SIGN", "(.github/workflows/release.yml:35)"}},
		{name: "waived in readiness.yaml, GO", fixture: "push-before-scan",
			config: "checks:\n  - name: ci-workflows\n    type: workflow\nwaivers:\n  - id: WF-PUSH-BEFORE-SCAN/.github/workflows/release.yml/release/sign\n    reason: staging registry migration in progress\n    owner: release-team\n    expires: 2027-01-15\n",
			args:   []string{"workflow", "lint", "--format", "json"}, code: 0,
			contains: []string{`"name": "ci-workflows"`, `"waived_by": "WF-PUSH-BEFORE-SCAN/.github/workflows/release.yml/release/sign"`}},
		{name: "options from readiness.yaml", fixture: "invalid",
			config: "checks:\n  - name: workflow\n    with:\n      ignore: [broken.yml, empty.yml, dependabot.yml, \"*.yaml\"]\n",
			args:   []string{"workflow", "lint"}, code: 0, contains: []string{"1 workflow, no signing steps", "GO"}},
		{name: "invalid files are blocking", fixture: "invalid", args: []string{"workflow", "lint"}, code: 1,
			contains: []string{"WF-INVALID-WORKFLOW", ".github/workflows/broken.yml:8", "is not valid YAML"}},
		{name: "file size limit", fixture: "pass-needs", args: []string{"workflow", "lint", "--max-file-bytes", "200"}, code: 1,
			contains: []string{"over the 200-byte limit"}},
		{name: "actionlint findings are low", fixture: "actionlint", args: []string{"workflow", "lint", "--format", "json"}, code: 0,
			contains: []string{`"actionlint_findings": 2`, "job-needs"}},
		{name: "actionlint off", fixture: "actionlint", args: []string{"workflow", "lint", "--actionlint=false", "--format", "json"}, code: 0,
			contains: []string{`"actionlint_findings": 0`}, lacks: []string{"job-needs"}},
		{name: "bad with: block is a usage error with file:line", fixture: "pass-needs",
			config: "checks:\n  - name: workflow\n    with:\n      dirs: .github\n",
			args:   []string{"workflow", "lint"}, code: 2, contains: []string{`readiness.yaml:5: unknown key "dirs"`}},
		{name: "missing path", fixture: "pass-needs", args: []string{"workflow", "lint", "nope"}, code: 2,
			contains: []string{"nope: no such file or directory"}},
		{name: "a directory without workflows is an error, NO-GO", fixture: "pass-needs", args: []string{"workflow", "lint", "."}, code: 1,
			contains: []string{"holds no workflow files", "NO-GO"}},
		{name: "explicit missing --config", fixture: "pass-needs", args: []string{"workflow", "lint", "--config", "nope.yaml"}, code: 2,
			contains: []string{"nope.yaml: config file not found"}},
		{name: "unknown format", fixture: "pass-needs", args: []string{"workflow", "lint", "--format", "yaml"}, code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := workflowCase(t, tc.fixture)
			if tc.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte("version: 1\n"+tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := tc.args
			runDir := dir
			if tc.outside {
				runDir = t.TempDir()
				args = []string{"workflow", "lint", filepath.Join(dir, ".github", "workflows")}
			}
			res := run(t, runDir, nil, args...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
			all := res.stdout + res.stderr
			for _, s := range tc.contains {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
			for _, s := range tc.lacks {
				if strings.Contains(all, s) {
					t.Errorf("output has %q:\n%s", s, all)
				}
			}
			if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
				t.Errorf("output has a stack trace:\n%s", all)
			}
		})
	}
}

// TestWorkflowLintMatchesCheck: `workflow lint` and `check --only workflow`
// print the same evidence for the same configuration.
func TestWorkflowLintMatchesCheck(t *testing.T) {
	for _, fixture := range []string{"pass-same-job", "not-blocking", "invalid"} {
		t.Run(fixture, func(t *testing.T) {
			dir := workflowCase(t, fixture)
			cfg := "version: 1\nchecks:\n  - name: workflow\n"
			if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			a := run(t, dir, nil, "check", "--only", "workflow", "--format", "json")
			b := run(t, dir, nil, "workflow", "lint", "--format", "json")
			if a.code != b.code {
				t.Fatalf("exit codes differ: check %d, workflow lint %d", a.code, b.code)
			}
			if diff := cmp.Diff(stableEvidence(t, a.stdout), stableEvidence(t, b.stdout)); diff != "" {
				t.Errorf("evidence differs (-check +workflow lint):\n%s", diff)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(b.stdout), &doc); err != nil {
				t.Fatal(err)
			}
		})
	}
}
