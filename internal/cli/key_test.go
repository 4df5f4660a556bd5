package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// keyCase copies a gpg-made fixture of the security-key gate (a miniature
// repository) into a temporary directory and returns it. The fixtures were
// made on 2025-01-01; fixedNow is 2026-11-24, so "good" (valid until
// 2027-01-01) is 37 days from expiry: a warning, not a blocker.
func keyCase(t *testing.T, name string) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "checks", "securitykey", "testdata", "cases", name))
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestKeyVerify(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		config   string // readiness.yaml body after "version: 1", or "" for none
		files    map[string]string
		args     []string
		code     int
		contains []string
	}{
		{name: "sound key warns about expiry, GO", fixture: "good", args: []string{"key", "verify"}, code: 0,
			contains: []string{"KEY-EXPIRING-SOON", "in 37 days", "GO"}},
		{name: "expired key, NO-GO", fixture: "expired", args: []string{"key", "verify"}, code: 1,
			contains: []string{"KEY-EXPIRED", "KEY-NO-ENCRYPTION", "NO-GO"}},
		{name: "missing key, NO-GO", fixture: "missing", args: []string{"key", "verify"}, code: 1,
			contains: []string{"KEY-MISSING", "docs/keys/security.asc does not exist"}},
		{name: "window flag makes 37 days blocking", fixture: "good", args: []string{"key", "verify", "--expiry-fail", "60d"}, code: 1,
			contains: []string{"KEY-EXPIRING-SOON", "the gate fails under 60 days"}},
		{name: "KEY_FILE and --security-md override the defaults", fixture: "good",
			files: map[string]string{"other/SECURITY.md": "Mail nobody@example.net, PGP key other/k.asc"},
			args:  []string{"key", "verify", "docs/keys/security.asc", "--security-md", "other/SECURITY.md"}, code: 1,
			contains: []string{"KEY-UID-MISMATCH", "nobody@example.net", "KEY-PATH-MISMATCH"}},
		{name: "defaults come from readiness.yaml", fixture: "good",
			config: "checks:\n  - name: pgp\n    type: security-key\n    with:\n      key: keys/team.asc\n      security_md: POLICY.md\n",
			files:  map[string]string{"POLICY.md": "Mail security@example.org, encrypted to keys/team.asc"},
			args:   []string{"key", "verify", "--format", "json"}, code: 1,
			contains: []string{`"name": "pgp"`, "KEY-MISSING/keys/team.asc"}},
		{name: "two security-key checks need --check", fixture: "good",
			config: "checks:\n  - name: a\n    type: security-key\n  - name: b\n    type: security-key\n",
			args:   []string{"key", "verify"}, code: 2, contains: []string{"configures 2 security-key checks; choose one with --check (security-key checks: a, b)"}},
		{name: "--check picks one", fixture: "good",
			config: "checks:\n  - name: a\n    type: security-key\n    with: {security_md: nope.md}\n  - name: b\n    type: security-key\n",
			args:   []string{"key", "verify", "--check", "b"}, code: 0},
		{name: "unknown --check", fixture: "good", config: "checks:\n  - name: a\n    type: security-key\n",
			args: []string{"key", "verify", "--check", "zz"}, code: 2, contains: []string{"--check zz: readiness.yaml has no security-key check of that name (security-key checks: a)"}},
		{name: "explicit missing --config", fixture: "good", args: []string{"key", "verify", "--config", "nope.yaml"}, code: 2,
			contains: []string{"nope.yaml: config file not found"}},
		{name: "bad with: block is a usage error with file:line", fixture: "good",
			config: "checks:\n  - name: a\n    type: security-key\n    with:\n      expiry_fail: soon\n",
			args:   []string{"key", "verify"}, code: 2, contains: []string{`readiness.yaml:6: "soon" is not a duration`}},
		{name: "inconsistent windows", fixture: "good", args: []string{"key", "verify", "--expiry-fail", "100d"}, code: 2,
			contains: []string{"--expiry-warn (90 days) must not be shorter than --expiry-fail (100 days)"}},
		// Issue 14 item 8: with no config, a root-relative link in .github/SECURITY.md
		// and the same key named on the command line are one file, not KEY-PATH-MISMATCH.
		{name: "root-relative link in .github/SECURITY.md, no config", fixture: "root-relative-link",
			args: []string{"key", "verify", "docs/keys/security.asc", "--security-md", ".github/SECURITY.md"}, code: 0,
			contains: []string{"KEY-EXPIRING-SOON", "GO"}},
		// Issue 13 item 11: config paths resolve from the config's directory,
		// reported paths from the repository root.
		{name: "config in .github/ with paths relative to it", fixture: "good",
			files: map[string]string{".github/readiness.yaml": "version: 1\nchecks:\n  - name: security-key\n    with:\n      key: ../docs/keys/security.asc\n      security_md: ../SECURITY.md\n"},
			args:  []string{"key", "verify", "-c", ".github/readiness.yaml", "--format", "json"}, code: 0,
			contains: []string{`"key_file": "docs/keys/security.asc"`, `"security_md": "SECURITY.md"`}},
		{name: "config path outside the repository", fixture: "good",
			files: map[string]string{".github/readiness.yaml": "version: 1\nchecks:\n  - name: security-key\n    with:\n      key: ../../elsewhere/security.asc\n"},
			args:  []string{"key", "verify", "-c", ".github/readiness.yaml"}, code: 2,
			contains: []string{".github/readiness.yaml:5", "not inside the repository"}},
		{name: "too many arguments", fixture: "good", args: []string{"key", "verify", "a", "b"}, code: 2},
		{name: "unknown format", fixture: "good", args: []string{"key", "verify", "--format", "yaml"}, code: 2, contains: []string{`unknown --format "yaml"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := keyCase(t, tc.fixture)
			if tc.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte("version: 1\n"+tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for name, body := range tc.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.name == "defaults come from readiness.yaml" {
				// The configured key is missing: proof that the default path was not used.
				_ = os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
			}
			res := run(t, dir, nil, tc.args...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
			all := res.stdout + res.stderr
			for _, s := range tc.contains {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
			if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") {
				t.Errorf("output has a stack trace:\n%s", all)
			}
		})
	}
}

// TestKeyVerifyMatchesCheck: `key verify` and `check --only security-key`
// print the same evidence for the same configuration.
func TestKeyVerifyMatchesCheck(t *testing.T) {
	for _, fixture := range []string{"good", "expired", "deliberately-leaked-private-key", "bad-crc"} {
		t.Run(fixture, func(t *testing.T) {
			dir := keyCase(t, fixture)
			cfg := "version: 1\nchecks:\n  - name: security-key\n    with:\n      expiry_warn: 60d\n"
			if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			a := run(t, dir, nil, "check", "--only", "security-key", "--format", "json")
			b := run(t, dir, nil, "key", "verify", "--format", "json")
			if a.code != b.code {
				t.Fatalf("exit codes differ: check %d, key verify %d", a.code, b.code)
			}
			if diff := cmp.Diff(stableEvidence(t, a.stdout), stableEvidence(t, b.stdout)); diff != "" {
				t.Errorf("evidence differs (-check +key verify):\n%s", diff)
			}
			for _, format := range []string{"text", "markdown", "sarif", "junit"} {
				a := run(t, dir, nil, "check", "--only", "security-key", "--format", format)
				b := run(t, dir, nil, "key", "verify", "--format", format)
				if stripVolatile(a.stdout) != stripVolatile(b.stdout) {
					t.Errorf("%s output differs:\ncheck:\n%s\nkey verify:\n%s", format, a.stdout, b.stdout)
				}
			}
		})
	}
}

// stableEvidence drops what differs between two runs: timings.
func stableEvidence(t *testing.T, s string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("%v in %q", err, s)
	}
	delete(doc, "generated_at")
	for _, c := range doc["checks"].([]any) {
		m := c.(map[string]any)
		delete(m, "started_at")
		delete(m, "duration_ms")
	}
	return doc
}

// stripVolatile blanks durations and timestamps in rendered reports.
func stripVolatile(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "time=") || strings.Contains(l, "timestamp=") || strings.Contains(l, "ms ") || strings.Contains(l, "duration") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
