package workflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// TestConfigPathsAreRepositoryRelative: paths in readiness.yaml resolve
// from its directory, and whatever directory that is, findings (paths,
// IDs: what waivers and SARIF use) are relative to the repository root
// (issue 13, item 11).
func TestConfigPathsAreRepositoryRelative(t *testing.T) {
	repoDir := t.TempDir()
	if err := os.CopyFS(repoDir, os.DirFS(filepath.Join("testdata", "cases", "no-scan"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(repoDir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, configDir, with string) ([]checks.Finding, error) {
		t.Helper()
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(with), &n); err != nil {
			t.Fatal(err)
		}
		spec := config.CheckSpec{Name: "workflow", Type: Type, Line: 4}
		if len(n.Content) > 0 {
			spec.With = *n.Content[0]
		}
		env := checks.Env{Dir: filepath.Join(repoDir, configDir), ConfigFile: filepath.Join(configDir, "readiness.yaml")}
		chk, err := fromSpec(env, spec)
		if err != nil {
			return nil, err
		}
		res, err := chk.Run(context.Background())
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		return res.Findings, nil
	}
	want, err := run(t, ".", "{}")
	if err != nil || len(want) == 0 {
		t.Fatalf("from the root: %v, %d findings", err, len(want))
	}
	for _, f := range want {
		if f.Location == nil || !strings.HasPrefix(f.Location.Path, ".github/workflows/") || !strings.Contains(f.ID, ".github/workflows/") {
			t.Fatalf("baseline finding not root-relative: %+v", f)
		}
	}
	for _, tc := range []struct{ name, configDir, with string }{
		{"-c .github/readiness.yaml, dir: workflows", ".github", "dir: workflows"},
		{"-c ci/readiness.yaml, dir: ../.github/workflows", "ci", "dir: ../.github/workflows"},
		{"-c ci/readiness.yaml, files: [../.github/workflows/release-containers.yml]", "ci", "files: [../.github/workflows/release-containers.yml]"},
		{"-c ci/readiness.yaml, default dir", "ci", "{}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.MkdirAll(filepath.Join(repoDir, tc.configDir), 0o755); err != nil {
				t.Fatal(err)
			}
			got, err := run(t, tc.configDir, tc.with)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings differ from a config at the root (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a directory outside the repository is refused", func(t *testing.T) {
		_, err := run(t, "ci", "dir: ../../elsewhere/workflows")
		if err == nil || !strings.Contains(err.Error(), "not inside the repository") || !strings.Contains(err.Error(), "ci/readiness.yaml:") {
			t.Errorf("got %v, want a config error at ci/readiness.yaml:LINE saying the path is not inside the repository", err)
		}
	})
}

// TestReusableCacheOption: reusable_cache, relative to readiness.yaml,
// makes a remote reusable workflow readable at the ref its call pins;
// without it the call stays unresolved (and fails closed).
func TestReusableCacheOption(t *testing.T) {
	repoDir := t.TempDir()
	if err := os.CopyFS(repoDir, os.DirFS(filepath.Join("testdata", "cases", "remote-reusable-cache"))); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repoDir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repoDir, "ci"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, with string
		read       bool
	}{
		{"no cache", "{}", false},
		{"cache relative to the config", "reusable_cache: ../reusable-cache", true},
		{"cache absolute", "reusable_cache: " + filepath.Join(repoDir, "reusable-cache"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.with), &n); err != nil {
				t.Fatal(err)
			}
			spec := config.CheckSpec{Name: "workflow", Type: Type, Line: 4, With: *n.Content[0]}
			env := checks.Env{Dir: filepath.Join(repoDir, "ci"), ConfigFile: filepath.Join("ci", "readiness.yaml")}
			chk, err := fromSpec(env, spec)
			if err != nil {
				t.Fatal(err)
			}
			res, err := chk.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			read, unresolved := false, false
			for _, f := range res.Findings {
				if f.Location != nil && strings.HasPrefix(f.Location.Path, "acme/release-workflows/.github/workflows/sign-image.yml@v2") {
					read = true
				}
				if f.ID == "WF-UNRESOLVED-REUSABLE/.github/workflows/release.yml/sign" {
					unresolved = true
				}
			}
			if read != tc.read || unresolved == tc.read {
				t.Errorf("sign-image.yml@v2 read = %v, unresolved = %v; want read = %v", read, unresolved, tc.read)
			}
		})
	}
}
