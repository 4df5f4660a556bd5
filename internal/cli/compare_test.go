package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
)

// editJSON rewrites the evidence document at path with f, into a new file.
func editJSON(t *testing.T, path string, f func(doc map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	f(doc)
	out, _ := json.Marshal(doc)
	p := filepath.Join(t.TempDir(), "edited.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// check --compare (issue 28, 8): every blocker is marked against the
// earlier run, the verdict and exit code never move, and a PREVIOUS that is
// not this repository's evidence is a usage error naming the file.
func TestCheckCompare(t *testing.T) {
	keys := signtest.KeyPair(t, "evidence password")
	pw := map[string]string{"COSIGN_PASSWORD": keys.Password}
	goDir, nogoDir := writeConfig(t, goConfig), writeConfig(t, nogoConfig)
	out := t.TempDir()
	goPrev, nogoPrev, signed := filepath.Join(out, "go.json"), filepath.Join(out, "nogo.json"), filepath.Join(out, "signed.json")
	if r := run(t, goDir, nil, "check", "-o", "json="+goPrev); r.code != 0 {
		t.Fatalf("go run: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, nogoDir, nil, "check", "-o", "json="+nogoPrev); r.code != 1 {
		t.Fatalf("nogo run: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, nogoDir, pw, "check", "-o", "json="+signed, "--sign-evidence", "--key", keys.Private); r.code != 1 {
		t.Fatalf("signed run: exit %d: %s", r.code, r.stderr)
	}
	v1 := editJSON(t, nogoPrev, func(d map[string]any) {
		d["schema"] = evidence.SchemaV1
		delete(d["verdict"].(map[string]any), "checks")
	})
	// The smallest edits that might turn a NO-GO into GO: the earlier
	// run claims GO, and knows no blocker at all.
	claimsGO := editJSON(t, nogoPrev, func(d map[string]any) {
		v := d["verdict"].(map[string]any)
		v["decision"], v["summary"], v["deny"] = "GO", "GO", []any{}
	})
	otherRepo := editJSON(t, nogoPrev, func(d map[string]any) {
		d["repository"] = map[string]any{"remote": "https://github.com/other/repo", "commit": "0123"}
	})
	tests := []struct {
		name    string
		prev    string
		args    []string
		code    int
		stdout  []string
		stderr  string
		notWant string
	}{
		{"same blockers", nogoPrev, nil, 1, []string{"Since the last run (the run of 2026-11-24 12:00 UTC): 0 new, 2 still open, 0 fixed", "(still open) TEST-FINDING: a blocker"}, "", "(new)"},
		{"after a GO", goPrev, nil, 1, []string{"2 new, 0 still open, 0 fixed", "(new) TEST-FINDING: a blocker"}, "", "(still open)"},
		{"an earlier run that claims GO", claimsGO, nil, 1, []string{"2 new, 0 still open, 0 fixed"}, "", ""},
		{"a signed envelope", signed, nil, 1, []string{"0 new, 2 still open, 0 fixed"}, "", ""},
		{"a v1 document", v1, nil, 1, []string{"0 new, 2 still open, 0 fixed"}, "", ""},
		{"markdown", nogoPrev, []string{"-o", "markdown"}, 1, []string{"### Since the last run", "_still open_ ·"}, "", ""},
		{"missing", filepath.Join(out, "nope.json"), nil, 2, nil, "--compare " + filepath.Join(out, "nope.json") + " cannot be read: no such file or directory", ""},
		{"a directory", out, nil, 2, nil, "--compare " + out + " cannot be read", ""},
		{"not json", writeFile(t, []byte("hello\n")), nil, 2, nil, "is not an earlier run's evidence: not an evidence document", ""},
		{"json of another kind", writeFile(t, []byte(`{"name": "x"}`)), nil, 2, nil, `is not an earlier run's evidence: not an evidence document: no "schema" field`, ""},
		{"another repository", otherRepo, nil, 2, nil, `is the evidence of another repository ("github.com/other/repo"), not of this one (no git repository)`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nogoDir, nil, append([]string{"check", "--compare", tt.prev}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			if tt.notWant != "" && strings.Contains(r.stdout, tt.notWant) {
				t.Errorf("stdout has %q:\n%s", tt.notWant, r.stdout)
			}
			if tt.code == 2 {
				if !strings.Contains(r.stderr, tt.stderr) || !strings.Contains(r.stderr, tt.prev) {
					t.Errorf("stderr %q lacks %q", r.stderr, tt.stderr)
				}
				if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
					t.Errorf("usage error is not one sentence on one line:\n%s", r.stderr)
				}
				if r.stdout != "" {
					t.Errorf("nothing may be judged, but stdout says:\n%s", r.stdout)
				}
				return
			}
			if !strings.Contains(r.stdout, "NO-GO: 2 blocking findings in 2 checks") || strings.Contains(r.stdout, "\nGO") {
				t.Errorf("the verdict moved:\n%s", r.stdout)
			}
		})
	}
}

// The rolling comparison: the run reads the file it then rewrites.
func TestCheckCompareRewritesItsPrevious(t *testing.T) {
	dir := writeConfig(t, nogoConfig)
	last := filepath.Join(t.TempDir(), "last.json")
	if r := run(t, dir, nil, "check", "-o", "json="+last); r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r := run(t, dir, nil, "check", "--compare", last, "-o", "text", "-o", "json="+last)
	if r.code != 1 || !strings.Contains(r.stdout, "0 new, 2 still open") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	f, err := os.Open(last)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := evidence.Decode(f); err != nil {
		t.Errorf("the rewritten evidence: %v", err)
	}
}

// In a checkout, the earlier run must be of the same repository: its
// origin, however it was cloned.
func TestCheckCompareRepository(t *testing.T) {
	dir := writeConfig(t, nogoConfig)
	g, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{"https://github.com/acme/app.git"}}); err != nil {
		t.Fatal(err)
	}
	prev := filepath.Join(t.TempDir(), "prev.json")
	if r := run(t, dir, nil, "check", "-o", "json="+prev); r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		remote string
		code   int
	}{
		{"https://github.com/acme/app.git", 1},
		{"git@github.com:acme/app", 1},
		{"ssh://git@GitHub.com/acme/app.git", 1},
		{"https://github.com/acme/app-fork.git", 2},
		{"", 2},
	} {
		t.Run(tc.remote, func(t *testing.T) {
			p := editJSON(t, prev, func(d map[string]any) {
				repo := d["repository"].(map[string]any)
				if tc.remote == "" {
					delete(repo, "remote")
				} else {
					repo["remote"] = tc.remote
				}
			})
			r := run(t, dir, nil, "check", "--compare", p)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.code == 2 && !strings.Contains(r.stderr, `not of this one ("github.com/acme/app")`) {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}
}
