package doctest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// checkStep is the script of action.yml's "readiness check" step and the
// default of its config input, as GitHub passes it when the input is unset.
func checkStep(t *testing.T) (string, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Steps []struct {
				ID  string `yaml:"id"`
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	for _, s := range a.Runs.Steps {
		if s.ID == "check" {
			return s.Run, a.Inputs["config"].Default
		}
	}
	t.Fatal("action.yml has no step with id: check")
	return "", ""
}

// TestActionFindsConfig runs the Action's check step as GitHub would (bash,
// the step's env, RUNNER_TEMP and GITHUB_OUTPUT set) with this test binary
// as readiness on PATH. The Action passed `--config readiness.yaml` by
// default, so a repository whose config is .github/readiness.yaml (which
// `readiness check` finds) got exit 2 from the Action.
func TestActionFindsConfig(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "readiness")); err != nil {
		t.Fatal(err)
	}
	script, configDefault := checkStep(t)
	for _, tc := range []struct {
		name, config string
		code         int
		verdict      string
	}{
		{"default input: discovered", configDefault, 0, "GO"},
		{"named file", ".github/readiness.yaml", 0, "GO"},
		{"named missing file", "readiness.yaml", 2, "NO-GO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
				t.Fatalf("git init: %v\n%s", err, out)
			}
			root := repoRoot(t)
			copyTree(t, filepath.Join(root, "docs", "keys", "security.asc"), filepath.Join(repo, "docs", "keys", "security.asc"))
			copyTree(t, filepath.Join(root, "SECURITY.md"), filepath.Join(repo, "SECURITY.md"))
			cfg := "version: 1\nchecks:\n  - name: security-key\n    with: {key: ../docs/keys/security.asc, security_md: ../SECURITY.md}\n"
			if err := os.MkdirAll(filepath.Join(repo, ".github"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(repo, ".github", "readiness.yaml"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			runner := t.TempDir()
			output := filepath.Join(runner, "github_output")
			cmd := exec.Command(bash, "-e", "-c", script)
			cmd.Dir = repo
			cmd.Env = []string{
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"HOME=" + os.Getenv("HOME"),
				"RUNNER_TEMP=" + runner,
				"GITHUB_OUTPUT=" + output,
				"CONFIG=" + tc.config, "POLICY=", "FORMAT=sarif", "IMAGES=",
			}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("the step exits %d, want %d\n%s", code, tc.code, out)
			}
			got, err := os.ReadFile(output)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), "verdict="+tc.verdict+"\n") {
				t.Errorf("GITHUB_OUTPUT:\n%s\nwant verdict=%s", got, tc.verdict)
			}
			if tc.code == 0 && strings.Contains(string(got), "sarif=\n") {
				t.Errorf("no SARIF written:\n%s", got)
			}
		})
	}
}
