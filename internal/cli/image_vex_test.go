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
// suppressions carried in a signed bundle are refused by image sign: the
// documents are not carried yet, so a carried suppression this machine
// cannot re-derive never becomes a signature.
func TestImageVEX(t *testing.T) {
	e := newRelEnv(t)
	d := e.reg.Push(t, "api:1", trivytest.AlpineVulnerable("amd64"))
	product := `{"@id":"pkg:oci/api@` + strings.Replace(d.DigestStr(), ":", "%3A", 1) + `"}`
	stmt := func(cve string) string {
		return `{"vulnerability":{"name":"` + cve + `"},"products":[` + product + `],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}`
	}
	vex := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://acme.example/vex-1","author":"acme","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[` +
		stmt(trivytest.CVECritical) + "," + stmt(trivytest.CVEHigh) + `]}`
	if err := os.WriteFile(filepath.Join(e.dir, "api.openvex.json"), []byte(vex), 0o644); err != nil {
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
	// Signing that bundle is refused, with or without the VEX on this machine.
	for _, cfg := range []string{withVEX, string(plain)} {
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr = e.run(t, nil, nil, "image", "sign", "--key", e.keys.Private, "--tlog-upload=false",
			"--evidence", bundle, "--evidence-key", e.scanKeys.Public, d.String())
		if code != 1 || !strings.Contains(stderr, "suppressed "+trivytest.CVECritical) {
			t.Errorf("sign a bundle whose scan VEX suppressed: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
	}
	if diff := cmp.Diff([]string{"1"}, e.reg.Tags(t, "api")); diff != "" {
		t.Errorf("written from a carried VEX suppression (-want +got):\n%s", diff)
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
