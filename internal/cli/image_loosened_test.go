package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// Issue 23 section 4, end to end with the real trivy and cosign: a GO that
// policy code made says so, and image verify can refuse it; an old GO is
// retired by default.
func TestImageReleaseWaivedByPolicyCodeIsVisibleAndVerifyCanRefuseIt(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.AlpineVulnerable("amd64"))
	if err := os.MkdirAll(filepath.Join(e.dir, "policy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "policy", "x.rego"), []byte(waiveEverything), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(e.dir, "readiness.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "readiness.yaml"), append([]byte("policy:\n  dirs: [policy]\n"), cfg...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := e.release(t, d.String())
	if code != 0 {
		t.Fatalf("release: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	at := filepath.Join(e.dir, "policy", "x.rego") + ":5"
	for _, want := range []string{"GO, 2 blocking findings waived by " + at, "waived by policy code at " + at} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the release does not say %q\nstdout: %s", want, stdout)
		}
	}
	code, stdout, _ = e.verify(t, nil, d.String())
	if code != 0 {
		t.Errorf("verify without --deny-waived: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = e.verify(t, nil, d.String(), "--deny-waived")
	if code != 1 || !strings.Contains(stdout, "--deny-waived: critical finding") || !strings.Contains(stdout, "policy:"+at) {
		t.Errorf("verify --deny-waived: exit %d, want 1 naming the policy code\n%s", code, stdout)
	}
}

func TestImageVerifyRetiresOldGOsByDefault(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	if code, stdout, stderr := e.release(t, d.String()); code != 0 {
		t.Fatalf("release: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	later := func() time.Time { return time.Now().Add(31 * 24 * time.Hour) }
	tests := []struct {
		name string
		now  func() time.Time
		args []string
		code int
		want []string
	}{
		{"today", nil, nil, 0, []string{"max age    30d (--max-age; 0 disables it)"}},
		{"31 days later", later, nil, 1, []string{"older than --max-age 720h0m0s", "max age    30d"}},
		{"31 days later, limit disabled", later, []string{"--max-age", "0"}, 0, []string{"max age    none (--max-age 0)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := e.verify(t, tc.now, d.String(), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not say %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// A bundle scanned 31 days ago whose generated_at was edited to now: the
// signer compares it with the scans it holds.
func TestImageSignRefusesABundleWhoseDateWasEdited(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.Clean("amd64"))
	out := filepath.Join(t.TempDir(), "bundle.json")
	month := func() time.Time { return time.Now().Add(-31 * 24 * time.Hour) }
	if code, stdout, stderr := e.run(t, month, scanEnv, "image", "scan", "--bundle", out, "--key", e.scanKeys.Private, d.String()); code != 0 {
		t.Fatalf("scan: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	b := readBundleJSON(t, out)
	b.doc()["generated_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	code, stdout, stderr := e.signFrom(t, b.sealed(t, e), d.String())
	if code != 1 || !strings.Contains(stderr, "after its scan of "+d.DigestStr()+" finished") {
		t.Errorf("sign: exit %d, want 1 naming the scan's date\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	e.assertNothingWritten(t, "api", "1")
}
