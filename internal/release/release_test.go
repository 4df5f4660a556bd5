package release

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/checks/imagescan"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/pipeline"
)

const pinned = "ghcr.io/acme/api@sha256:0123456789012345678901234567890123456789012345678901234567890123"

// TestLivePinsTheDigest: the live run scans exactly the digest about to be
// signed — the configured images, tarballs and layouts are dropped — with
// the configuration's offline settings kept, and trivy may read a
// plain-HTTP registry only when the signer was allowed to.
func TestLivePinsTheDigest(t *testing.T) {
	p := &pipeline.Pipeline{Gates: catalog.Gates(), Now: time.Now}
	dir := t.TempDir()
	path := filepath.Join(dir, "readiness.yaml")
	if err := os.WriteFile(path, []byte(`version: 1
checks:
  - name: release-image
    type: image-scan
    with:
      images: [old:1]
      inputs: [x.tar]
      oci_layouts: [oci]
      skip_db_update: true
      cache_dir: c
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := p.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		cfg      *config.Config
		insecure bool
	}{
		{"configured", cfg, false},
		{"configured, insecure registry", cfg, true},
		{"no readiness.yaml", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := &Live{Pipeline: p, Config: tc.cfg, Insecure: tc.insecure}
			sel, err := live.Selection(pinned)
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := p.Jobs(sel)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("jobs = %v, %v; want the image-scan check alone", jobs, err)
			}
			o := jobs[0].Check.(*imagescan.Check).Options()
			if diff := cmp.Diff([]string{pinned}, o.Images); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if len(o.Inputs)+len(o.OCILayouts) != 0 || o.Insecure != tc.insecure {
				t.Errorf("options = %+v; want tarballs and layouts dropped, insecure %v", o, tc.insecure)
			}
			if tc.cfg != nil && (!o.SkipDBUpdate || o.CacheDir != filepath.Join(dir, "c")) {
				t.Errorf("options = %+v; want the configuration's offline settings kept", o)
			}
		})
	}
	// A reference that is not one is a usage error before anything runs.
	if _, err := (&Live{Pipeline: p, Config: cfg}).Selection("::"); err == nil {
		t.Error("a malformed reference was accepted")
	}
}
