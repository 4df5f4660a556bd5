package securitykey

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
)

// TestRepositoryOwnKey runs the gate on this repository's own SECURITY.md
// and docs/keys/security.asc, as `readiness check` does before a release,
// with the real clock. It starts failing 30 days before the key expires:
// that is the reminder to rotate it (see SECURITY.md, "Our key").
func TestRepositoryOwnKey(t *testing.T) {
	root := repoRoot(t)
	res := runCheck(t, root, Options{}, time.Now())
	if res.Status != checks.StatusPass || len(res.Findings) != 0 {
		t.Fatalf("the repository's own key does not pass the security-key gate: status %s\n%s", res.Status, describe(res))
	}
	cf := res.Facts["certificates"].([]CertFacts)
	if len(cf) != 1 || cf[0].Algorithm != "eddsa" || cf[0].Curve != "ed25519" || !cf[0].CanEncrypt || cf[0].Expires == "" {
		t.Errorf("own key facts: %+v", cf)
	}
	if got := res.Facts["contacts"].([]string); len(got) != 1 || got[0] != "security@readiness.dev" {
		t.Errorf("contacts = %v, want [security@readiness.dev]", got)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
