package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEntryPointsAgree runs the same configuration and inputs through every
// command that can produce the verdict and proves the same verdict, exit
// code and evidence (timings aside). Single-gate commands used to force
// Required, skip --only and so warn differently; now they only fill in the
// pipeline's selection. image scan/release/sign need trivy and a registry
// and are covered by their own tests through the same pipeline.Selection.
func TestEntryPointsAgree(t *testing.T) {
	const config = `checks:
  - name: pgp
    type: security-key
    required: false
  - name: ci
    type: workflow
  - name: unit
    type: test
waivers:
  - {id: KEY-EXPIRING-SOON, check: pgp, reason: rotation booked, owner: sec, expires: 2026-12-20}
`
	tests := []struct {
		name             string
		single, viaCheck []string
		code             int
	}{
		{name: "key verify", single: []string{"key", "verify"}, viaCheck: []string{"check", "--only", "pgp"}, code: 0},
		{name: "workflow lint", single: []string{"workflow", "lint"}, viaCheck: []string{"check", "--only", "ci"}, code: 0},
		{name: "key verify --check", single: []string{"key", "verify", "--check", "pgp"}, viaCheck: []string{"check", "--only", "pgp"}, code: 0},
		{name: "workflow lint --check", single: []string{"workflow", "lint", "--check", "ci"}, viaCheck: []string{"check", "--only", "ci"}, code: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := keyCase(t, "good")
			wf := workflowCase(t, "pass-needs")
			if err := os.CopyFS(dir, os.DirFS(wf)); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte("version: 1\n"+config), 0o644)
			a := run(t, dir, nil, append(tt.single, "-o", "json=single.json")...)
			if a.code != tt.code {
				t.Fatalf("%v: exit %d, want %d\n%s", tt.single, a.code, tt.code, a.stderr)
			}
			single := normalized(t, filepath.Join(dir, "single.json"))
			if tt.viaCheck != nil {
				b := run(t, dir, nil, append(tt.viaCheck, "-o", "json=check.json")...)
				if b.code != a.code {
					t.Errorf("exit codes differ: %v %d, %v %d", tt.single, a.code, tt.viaCheck, b.code)
				}
				if diff := cmp.Diff(normalized(t, filepath.Join(dir, "check.json")), single); diff != "" {
					t.Errorf("evidence differs (-check +single):\n%s", diff)
				}
			}
			// Re-judging the saved document gives the same verdict.
			c := run(t, dir, nil, "policy", "eval", "-i", "single.json", "-o", "json=rejudged.json")
			if c.code != a.code {
				t.Errorf("policy eval: exit %d, want %d\n%s", c.code, a.code, c.stderr)
			}
			if diff := cmp.Diff(single, normalized(t, filepath.Join(dir, "rejudged.json"))); diff != "" {
				t.Errorf("re-judged evidence differs (-run +rejudged):\n%s", diff)
			}
		})
	}
}

// normalized reads an evidence document without its timings.
func normalized(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "generated_at")
	for _, c := range doc["checks"].([]any) {
		delete(c.(map[string]any), "started_at")
		delete(c.(map[string]any), "duration_ms")
	}
	return doc
}
