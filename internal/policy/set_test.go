package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
)

// TestMissing: what a recorded policy set holds and this engine lacks is
// named, so that a re-judge never runs with fewer rules.
func TestMissing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "extra.rego"), []byte("package main\n\ndeny contains \"x\" if { false }\n"), 0o644)
	full, err := policy.LoadSet(context.Background(), policy.Options{Dirs: []string{dir}, Namespaces: []string{"main"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := full.Set()
	if len(rec.Modules) != 1 || len(rec.Namespaces) != 1 {
		t.Fatalf("set: %+v", rec)
	}
	if m := full.Missing(rec); len(m) != 0 {
		t.Errorf("the same engine misses %v", m)
	}
	bare, err := policy.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(bare.Missing(rec), "; ")
	for _, want := range []string{"extra.rego (sha256:", "namespace main"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q lacks %q", got, want)
		}
	}
	other := rec
	other.Embedded = evidence.EmbeddedPolicy{Version: "v0.9.0", SHA256: "sha256:00"}
	if got := strings.Join(full.Missing(other), "; "); !strings.Contains(got, "embedded default policy of readiness v0.9.0") {
		t.Errorf("a different embedded policy is not named: %q", got)
	}
}

func TestViolationRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "v.rego"), []byte("package readiness\n\nviolation contains \"x\" if { true }\n"), 0o644)
	_, err := policy.Load(context.Background(), []string{dir})
	if err == nil || !strings.Contains(err.Error(), "v.rego:3: readiness reads deny and warn, not violation") {
		t.Errorf("err %v", err)
	}
}
