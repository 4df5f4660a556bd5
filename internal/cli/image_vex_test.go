package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// TestImageVEX: a VEX document readiness.yaml declares (both CVEs of the
// vulnerable image not_affected, for that image by digest) turns the live
// release into GO, with the suppressions in its report. The same
// suppressions carried in a signed bundle, with the document's bytes, are
// signed by image sign only when this machine's readiness.yaml declares
// the same document: without it, or with its own copy changed, the bundle
// is refused and nothing is written.
func TestImageVEX(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.AlpineVulnerable("amd64"))
	product := `{"@id":"pkg:oci/api@` + strings.Replace(d.DigestStr(), ":", "%3A", 1) + `"}`
	stmt := func(cve string) string {
		return `{"vulnerability":{"name":"` + cve + `"},"products":[` + product + `],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}`
	}
	vex := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://acme.example/vex-1","author":"acme","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[` +
		stmt(trivytest.CVECritical) + "," + stmt(trivytest.CVEHigh) + `]}`
	vexPath := filepath.Join(e.dir, "api.openvex.json")
	if err := os.WriteFile(vexPath, []byte(vex), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(e.dir, "readiness.yaml")
	plain, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	withVEX := string(plain) + "      vex:\n        - path: api.openvex.json\n"
	if err := os.WriteFile(cfgPath, []byte(withVEX), 0o644); err != nil {
		t.Fatal(err)
	}

	// The scan job, with the VEX declared: GO, the suppressions shown.
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	code, stdout, stderr := e.run(t, nil, scanEnv, "image", "scan", "--format", "json", "--bundle", bundle, "--key", e.scanKeys.Private, d.String())
	if code != 0 || !strings.Contains(stdout, "2 suppressed: ") || !strings.Contains(stdout, `"status": "not_affected"`) {
		t.Fatalf("scan with VEX: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	sign := func() (int, string, string) {
		return e.run(t, nil, nil, "image", "sign", "--key", e.keys.Private, "--tlog-upload=false",
			"--evidence", bundle, "--evidence-key", e.scanKeys.Public, d.String())
	}
	// Refused where this machine does not declare the very document.
	for _, tc := range []struct {
		name, cfg, doc, want string
	}{
		{"no vex: on this machine", string(plain), vex, "this machine's configuration lists no vex: document"},
		{"this machine's copy differs", withVEX, strings.Replace(vex, stmt(trivytest.CVEHigh), strings.Replace(stmt(trivytest.CVEHigh), "not_affected", "affected", 1), 1), "is not carried in the bundle"},
	} {
		if err := os.WriteFile(cfgPath, []byte(tc.cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vexPath, []byte(tc.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr = sign()
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: sign a bundle whose scan VEX suppressed: exit %d, want 1 and %q\nstdout: %s\nstderr: %s", tc.name, code, tc.want, stdout, stderr)
		}
	}
	if diff := cmp.Diff([]string{"1"}, e.reg.Tags(t, "api")); diff != "" {
		t.Errorf("written from a carried VEX suppression this machine does not make (-want +got):\n%s", diff)
	}
	// The same document on this machine: the carried suppressions are its own.
	if err := os.WriteFile(cfgPath, []byte(withVEX), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vexPath, []byte(vex), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr = sign(); code != 0 || !strings.Contains(stdout, "released") || !strings.Contains(stdout, "Suppressed by VEX:\n  - release-image: SCAN-CRITICAL-VULN/"+trivytest.CVECritical) {
		t.Fatalf("sign a bundle whose VEX this machine declares: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, stdout, _ := e.verify(t, func() time.Time { return time.Now() }, d.String()); code != 0 {
		t.Errorf("verify the carried-VEX signature: exit %d\n%s", code, stdout)
	}

	// Live, the declared VEX is this machine's own evidence: released.
	if err := os.WriteFile(cfgPath, []byte(withVEX), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = e.release(t, d.String())
	if code != 0 || !strings.Contains(stdout, "GO") {
		t.Fatalf("release with VEX: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, stdout, _ := e.verify(t, func() time.Time { return time.Now() }, d.String()); code != 0 {
		t.Errorf("verify: exit %d\n%s", code, stdout)
	}
}
