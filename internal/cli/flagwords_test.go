package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadValuesInWords: a bad flag value or a mis-shaped readiness.yaml
// reached the user as a raw Go error ("strconv.ParseInt: parsing "1MiB":
// invalid syntax", "cannot unmarshal !!map into []config.CheckSpec").
// Each is now one sentence with what to write instead, and exit 2; the
// size the docs suggest (1MiB) is accepted.
func TestBadValuesInWords(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	wf := "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: go test ./...\n"
	if err := os.WriteFile(filepath.Join(repo, ".github", "workflows", "ci.yml"), []byte(wf), 0o644); err != nil {
		t.Fatal(err)
	}
	mapChecks := writeConfig(t, "checks:\n  security-key:\n    timeout: 1m\n")
	for _, tc := range []struct {
		name     string
		dir      string
		args     []string
		code     int
		want     string
		dontWant []string
	}{
		{"size with a unit", repo, []string{"workflow", "lint", "--max-file-bytes", "1MiB"}, 0, "", nil},
		{"size in KiB", repo, []string{"workflow", "lint", "--max-file-bytes", "512KiB"}, 0, "", nil},
		{"size in bytes", repo, []string{"workflow", "lint", "--max-file-bytes", "2048"}, 0, "", nil},
		{"bad size", repo, []string{"workflow", "lint", "--max-file-bytes", "1XB"}, 2, "expected a size in bytes, such as 1048576, 512KiB or 1MiB", []string{"strconv", "ParseInt"}},
		{"negative size", repo, []string{"workflow", "lint", "--max-file-bytes", "-5"}, 2, "expected a size in bytes", nil},
		{"bad integer", repo, []string{"tests", "run", "--repeat", "x"}, 2, `--repeat "x": expected a whole number`, []string{"strconv", "invalid syntax"}},
		{"checks as a map", mapChecks, []string{"check"}, 2, `readiness.yaml:3: expected a list, got a mapping; write each entry as a list item starting with "- "`, []string{"cannot unmarshal", "config.CheckSpec"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.dir, nil, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.want)
			}
			for _, d := range tc.dontWant {
				if strings.Contains(r.stderr, d) {
					t.Errorf("stderr %q has the raw %q", r.stderr, d)
				}
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("more than one line: %q", r.stderr)
			}
		})
	}
}
