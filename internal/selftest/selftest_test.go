// Package selftest holds the tests of this repository as a release: its own
// readiness check must be GO, its release workflow must scan before it
// signs, and its packaging files must be valid. A gatekeeper that does not
// pass its own gate is not credible.
package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks/workflow"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
	needpkg "github.com/readiness-dev/readiness/internal/testutil/need"
)

// TestMain lets gates that re-execute this binary (the ledger suite's worker
// processes) find the CLI here.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "ledger" && os.Args[2] == "worker" {
		os.Exit(root.Main(os.Args[1:], cli.System()))
	}
	os.Exit(m.Run())
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// need finds a tool: missing is a loud skip locally and a failure in CI,
// which installs it (scripts/test.sh).
func need(t *testing.T, name string) string {
	t.Helper()
	return needpkg.Tool(t, name)
}

// TestGoreleaserCheck validates goreleaser.yaml with the real goreleaser.
func TestGoreleaserCheck(t *testing.T) {
	goreleaser := need(t, "goreleaser")
	cmd := exec.Command(goreleaser, "check", "-f", "goreleaser.yaml")
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("goreleaser check: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "1 configuration file(s) validated") {
		t.Errorf("goreleaser check said:\n%s", out)
	}
}

// goreleaserConfig is the part of goreleaser.yaml the release promises rest on.
type goreleaserConfig struct {
	Builds []struct {
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
		Ldflags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Sboms []struct {
		Artifacts string `yaml:"artifacts"`
	} `yaml:"sboms"`
	Signs []struct {
		Cmd       string `yaml:"cmd"`
		Artifacts string `yaml:"artifacts"`
	} `yaml:"signs"`
	Checksum struct {
		Name string `yaml:"name_template"`
	} `yaml:"checksum"`
}

func TestGoreleaserPromises(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var g goreleaserConfig
	if err := yaml.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	// Two flavours: readiness, and readiness-kms (-tags kms).
	if len(g.Builds) != 2 {
		t.Fatalf("%d builds, want 2 (readiness, readiness-kms)", len(g.Builds))
	}
	b := g.Builds[0]
	if strings.Join(b.Goos, ",") != "linux,darwin,windows" || strings.Join(b.Goarch, ",") != "amd64,arm64" {
		t.Errorf("targets %v × %v", b.Goos, b.Goarch)
	}
	flags := strings.Join(b.Ldflags, " ")
	for _, v := range []string{"buildinfo.Version=", "buildinfo.Commit=", "buildinfo.Date="} {
		if !strings.Contains(flags, v) {
			t.Errorf("ldflags do not set %s", v)
		}
	}
	if len(g.Sboms) == 0 || g.Sboms[0].Artifacts != "archive" {
		t.Error("no SBOM per archive")
	}
	if len(g.Signs) == 0 || g.Signs[0].Cmd != "cosign" || g.Signs[0].Artifacts != "checksum" {
		t.Error("the checksum file is not signed with cosign")
	}
}

// action is the part of action.yml the users' workflows depend on.
type action struct {
	Inputs  map[string]struct{ Default string } `yaml:"inputs"`
	Outputs map[string]struct{ Value string }   `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func TestActionYAML(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using %q, want composite", a.Runs.Using)
	}
	if _, ok := a.Inputs["go-version"]; ok {
		t.Error("input go-version: the Action installs a release binary and must not change the job's Go")
	}
	if v := a.Inputs["version"].Default; v == "latest" {
		t.Error("input version defaults to latest: the Action must install its own pinned version")
	}
	for _, s := range a.Runs.Steps {
		if strings.Contains(s.Uses, "setup-go") {
			t.Error("the Action runs setup-go: it would change the calling job's Go version")
		}
		if strings.Contains(s.Run, "@latest") {
			t.Error("the Action installs @latest")
		}
	}
	for _, in := range []string{"config", "policy", "format", "images"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("no input %q", in)
		}
	}
	for _, o := range []string{"verdict", "sarif", "report", "image-sarif", "sarif-dir"} {
		if _, ok := a.Outputs[o]; !ok {
			t.Errorf("no output %q", o)
		}
	}
	for i, s := range a.Runs.Steps {
		// Inputs must reach scripts through env, never through template
		// expansion inside the script: that is how Actions get injected.
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %d expands an expression inside run:", i)
		}
		if s.Uses != "" && !strings.Contains(s.Uses, "@") {
			t.Errorf("step %d uses %q without a pin", i, s.Uses)
		}
		if at := strings.LastIndex(s.Uses, "@"); at >= 0 && len(s.Uses)-at-1 != 40 {
			t.Errorf("step %d: %q is not pinned to a commit SHA", i, s.Uses)
		}
	}
}

// TestReleaseWorkflowScansBeforeSigning asserts, as readiness's own workflow
// gate sees it, that every signing step of release.yml runs after a
// blocking scan: the image is scanned by digest before it is signed, and
// goreleaser's signature of checksums.txt comes after a blocking scan too.
func TestReleaseWorkflowScansBeforeSigning(t *testing.T) {
	rep, err := workflow.Analyze(context.Background(), repoRoot(t), ".github/workflows")
	if err != nil {
		t.Fatal(err)
	}
	var release []workflow.Signing
	for _, s := range rep.Signings {
		if s.Workflow == ".github/workflows/release.yml" {
			release = append(release, s)
		}
	}
	if len(release) < 2 {
		t.Fatalf("release.yml has %d signing steps as the gate sees it, want goreleaser's and readiness image release: %+v", len(release), rep.Signings)
	}
	tools := map[string]bool{}
	for _, s := range release {
		tools[s.Tool] = true
		if s.Decision != "gated" && s.Decision != "self-gated" {
			t.Errorf("%s (%s) is %s: %v", s.Location(), s.Tool, s.Decision, s.Rules)
		}
		if len(s.Rules) > 0 {
			t.Errorf("%s (%s) raised %v", s.Location(), s.Tool, s.Rules)
		}
		if len(s.Preceding) == 0 {
			t.Errorf("%s (%s): no scan runs before it", s.Location(), s.Tool)
		}
		for _, p := range s.Preceding {
			if p.Path == s.Path && p.Job == s.Job && p.Line >= s.Line {
				t.Errorf("%s: scan at line %d listed as preceding a signing at line %d", s.Tool, p.Line, s.Line)
			}
		}
	}
	// The image path: the scan of the digest is a separate, earlier step
	// than the release that signs it.
	var scanLine, releaseLine int
	for _, sc := range rep.Scans {
		if sc.Workflow == ".github/workflows/release.yml" && strings.Contains(sc.Tool, "readiness image scan") && sc.Blocking {
			scanLine = sc.Line
		}
	}
	for _, s := range release {
		if strings.Contains(s.Tool, "readiness image release") {
			releaseLine = s.Line
		}
	}
	if scanLine == 0 || releaseLine == 0 || scanLine >= releaseLine {
		t.Errorf("image scan at line %d, image release at line %d: the blocking scan must come first (tools seen: %v)", scanLine, releaseLine, tools)
	}
}
