package workflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/checks"
)

// Issue 28, 6: a finding quotes a reference as the file writes it
// (${{ steps.prep.outputs.VERSION }}), never the resolver's spelled-out
// form (${{ jobs.release.steps.prep.outputs.version }}); what it resolves
// to is said apart, and only when it says more.
func TestQuotedAsWritten(t *testing.T) {
	// Two repositories: a scan anywhere would make the checksum file's
	// finding WF-SCAN-NOT-NEEDED.
	const release = `name: release
on: push
permissions: {contents: read, id-token: write, packages: write}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - id: prep
        run: echo "VERSION=1.2.3" >> "$GITHUB_OUTPUT"
      - uses: aquasecurity/trivy-action@0.28.0
        with:
          image-ref: ghcr.io/acme/app-dev:${{ github.sha }}
          exit-code: '1'
          severity: CRITICAL,HIGH
      - uses: sigstore/cosign-installer@v3
      - run: cosign sign --yes ghcr.io/acme/app@${{ steps.prep.outputs.VERSION }}
`
	const checksums = `name: checksums
on: push
permissions: {contents: read, id-token: write, attestations: write}
env:
  DIST: dist
jobs:
  checksums:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/attest-build-provenance@v1
        with:
          subject-path: ${{ env.DIST }}/checksums.txt
`
	var findings []checks.Finding
	for _, wf := range []string{release, checksums} {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, ".github/workflows"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".github/workflows/release.yml"), []byte(wf), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Analyze(context.Background(), dir, DefaultDir)
		if err != nil {
			t.Fatal(err)
		}
		findings = append(findings, rep.Findings...)
	}
	want := map[string]string{
		"WF-SCAN-REF-MISMATCH": "`ghcr.io/acme/app@${{ steps.prep.outputs.VERSION }}`",
		"WF-SIGN-BEFORE-SCAN":  "attests ${{ env.DIST }}/checksums.txt with",
	}
	for _, f := range findings {
		if strings.Contains(f.Message, "jobs.release.steps") {
			t.Errorf("%s quotes the resolver's form: %s", f.ID, f.Message)
		}
		if w, ok := want[f.Rule]; ok {
			delete(want, f.Rule)
			if !strings.Contains(f.Message, w) {
				t.Errorf("%s does not quote %s as written: %s", f.ID, w, f.Message)
			}
			if f.Rule == "WF-SIGN-BEFORE-SCAN" && (strings.Contains(f.Remediation, "the image before") || !strings.Contains(f.Remediation, "trivy fs")) {
				t.Errorf("%s: a checksum file's fix is to scan what it lists, not the image: %s", f.ID, f.Remediation)
			}
		}
	}
	for rule := range want {
		t.Errorf("no %s finding; findings: %v", rule, findings)
	}
}
