package imagescan

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/procexec"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
	"github.com/readiness-dev/readiness/internal/trivyreport"
)

func TestSBOMOptionValidated(t *testing.T) {
	for _, tt := range []struct {
		sbom string
		ok   bool
	}{{"", true}, {"cyclonedx", true}, {"spdx", false}, {"CycloneDX", false}} {
		o := Options{Inputs: []string{"a.tar"}, SBOM: tt.sbom}
		if err := o.Validate(); (err == nil) != tt.ok {
			t.Errorf("sbom %q: err = %v, want ok=%v", tt.sbom, err, tt.ok)
		}
	}
}

// TestSBOMOfEveryScannedPlatform: with sbom: cyclonedx, real trivy writes
// one CycloneDX SBOM per platform image, with the scan's own command line
// but for --format, tied to the same digest and config, saved as the
// compact JSON whose sha256 the scan records.
func TestSBOMOfEveryScannedPlatform(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	reg.PushIndex(t, "multi:1", trivytest.MultiPlatform())
	o := offline(t, Options{Images: []string{reg.Host + "/multi:1"}, SBOM: "cyclonedx"})
	res := runJob(t, New(o, Deps{}), 3*time.Minute)
	if res.Status == checks.StatusError {
		t.Fatalf("error: %s", res.Error)
	}
	scans := mustScans(t, res)
	if len(scans) != 2 {
		t.Fatalf("%d scans, want 2", len(scans))
	}
	for _, s := range scans {
		if s.SBOM == nil {
			t.Fatalf("the scan of %s records no SBOM", s.Digest)
		}
		if s.SBOM.Format != "cyclonedx" {
			t.Errorf("format = %q", s.SBOM.Format)
		}
		// The same invocation: only --format's value differs.
		i := slices.Index(s.Command, "--format")
		j := slices.Index(s.SBOM.Command, "--format")
		if i < 0 || i != j || s.Command[i+1] != "json" || s.SBOM.Command[j+1] != "cyclonedx" {
			t.Fatalf("--format: scan %v, SBOM %v", s.Command, s.SBOM.Command)
		}
		scanCmd, sbomCmd := slices.Clone(s.Command), slices.Clone(s.SBOM.Command)
		scanCmd[i+1], sbomCmd[j+1] = "", ""
		// --timeout follows the time left, which moved on between the runs.
		for _, cmd := range [][]string{scanCmd, sbomCmd} {
			if k := slices.Index(cmd, "--timeout"); k >= 0 {
				cmd[k+1] = ""
			}
		}
		if !slices.Equal(scanCmd, sbomCmd) {
			t.Errorf("the SBOM ran with other settings than the scan:\nscan %v\nsbom %v", scanCmd, sbomCmd)
		}
		data, err := os.ReadFile(s.SBOM.Path)
		if err != nil {
			t.Fatal(err)
		}
		if evidence.SHA256(data) != s.SBOM.SHA256 {
			t.Errorf("the saved SBOM does not hash to the recorded sha256")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil || !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("the saved SBOM is not compact JSON (%v)", err)
		}
		id, err := trivyreport.ReadCycloneDXIdentity(data)
		if err == nil {
			err = id.Check(trivyreport.Want{Digest: s.Digest, ImageID: s.ImageID, Registry: true})
		}
		if err != nil {
			t.Errorf("the SBOM of %s is not of that image: %v", s.Digest, err)
		}
		if !bytes.Contains(data, []byte(`"components"`)) {
			t.Errorf("the SBOM of %s lists no components", s.Digest)
		}
	}
}

// TestSBOMOfAnotherImageRefused: a trivy whose SBOM describes another
// image than the one it just scanned makes the check an error, not a scan
// with someone else's SBOM.
func TestSBOMOfAnotherImageRefused(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	reg.Push(t, "app:1", trivytest.Clean("amd64"))
	other := reg.Push(t, "other:1", trivytest.AlpineVulnerable("amd64"))
	swap := func(ctx context.Context, c procexec.Cmd) (procexec.Result, error) {
		if i := slices.Index(c.Args, "--format"); i >= 0 && c.Args[i+1] == "cyclonedx" {
			c.Args = slices.Clone(c.Args)
			c.Args[len(c.Args)-1] = other.String()
		}
		return procexec.Run(ctx, c)
	}
	o := offline(t, Options{Images: []string{reg.Host + "/app:1"}, SBOM: "cyclonedx"})
	res := runJob(t, New(o, Deps{Exec: swap}), 3*time.Minute)
	if res.Status != checks.StatusError || !strings.Contains(res.Error, "SBOM") || !strings.Contains(res.Error, "cannot be tied") {
		t.Fatalf("status %s, error %q; want an error about the SBOM's image", res.Status, res.Error)
	}
}
