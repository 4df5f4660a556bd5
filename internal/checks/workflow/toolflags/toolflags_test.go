package toolflags

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks/workflow/toolflags/internal/extract"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// moduleDir finds a pinned module's source in the module cache; a test
// that needs it skips locally when it is missing and fails under CI=true.
func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(mod))
	if _, err := os.Stat(dir); err != nil {
		need.Skip(t, "%s is not in the module cache; run `go mod download %s`", mod, mod)
	}
	return dir
}

// TestGeneratedTablesAreCurrent re-derives the tables from the tools'
// sources at the pinned versions: a stale flags_gen.go fails here.
func TestGeneratedTablesAreCurrent(t *testing.T) {
	for _, tt := range []struct {
		mod   string
		read  func(string) ([]string, error)
		table []string
	}{
		{extract.CosignModule, extract.Cosign, cosignValue},
		{extract.TrivyModule, extract.Trivy, trivyValue},
		{extract.GrypeModule, extract.Grype, grypeValue},
	} {
		t.Run(tt.mod, func(t *testing.T) {
			got, err := tt.read(moduleDir(t, tt.mod))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.table, got); diff != "" {
				t.Errorf("flags_gen.go is stale; run go generate ./internal/checks/workflow/toolflags (-table +source):\n%s", diff)
			}
		})
	}
}

func TestTables(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flags map[string]bool
		value []string
		bool  []string
	}{
		{"cosign", Cosign(), []string{"--key", "--registry-referrers-mode", "--predicate", "--type", "-a", "--output-signature", "--certificate"},
			[]string{"--yes", "-y", "--recursive", "--upload", "--tlog-upload"}},
		{"trivy", Trivy(), []string{"--severity", "-s", "--exit-code", "--format", "-f", "--output", "-o", "--input", "--platform", "--scanners", "--cache-dir"},
			[]string{"--quiet", "-q", "--ignore-unfixed", "--no-progress", "--debug"}},
		{"grype", Grype(), []string{"--fail-on", "-f", "--output", "-o", "--file", "--platform", "--config", "-c"},
			[]string{"--only-fixed", "--add-cpes-if-none", "-v", "--quiet"}},
	} {
		for _, f := range tt.value {
			if !tt.flags[f] {
				t.Errorf("%s %s takes a value, the table says not", tt.name, f)
			}
		}
		for _, f := range tt.bool {
			if tt.flags[f] {
				t.Errorf("%s %s is a switch, the table says it takes a value", tt.name, f)
			}
		}
	}
}
