package trivytest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The images are deterministic, so fixture directories can be shared by
// content hash and golden files can name digests.
func TestImagesDeterministic(t *testing.T) {
	a, _ := AlpineVulnerable("amd64").Digest()
	b, _ := AlpineVulnerable("amd64").Digest()
	c, _ := AlpineVulnerable("arm64").Digest()
	if a != b || a == c {
		t.Errorf("digests %s %s %s: want equal for equal input, different per arch", a, b, c)
	}
	i1, _ := MultiPlatform().Digest()
	i2, _ := MultiPlatform().Digest()
	if i1 != i2 {
		t.Errorf("index digests differ: %s %s", i1, i2)
	}
}

func TestLoadBuildsEveryFixture(t *testing.T) {
	f := Load(t)
	if Load(t) != f {
		t.Error("Load built twice in one process")
	}
	for _, p := range []string{f.DB, f.AlpineTar, f.CleanTar, f.DebianTar, filepath.Join(f.Layout, "index.json")} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	img, err := tarball.ImageFromPath(f.AlpineTar, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := img.ConfigName()
	want, _ := AlpineVulnerable("amd64").ConfigName()
	if got != want {
		t.Errorf("tarball image ID %s, want %s", got, want)
	}
	idx, err := layout.ImageIndexFromPath(f.Layout)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := idx.IndexManifest()
	if len(m.Manifests) != 2 {
		t.Errorf("layout holds %d manifests, want the index and the clean image", len(m.Manifests))
	}
}

func TestCacheDirMetadata(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	dir := CacheDir(t, at)
	data, err := os.ReadFile(filepath.Join(dir, "db", "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != SchemaVersion || !m.UpdatedAt.Equal(at) || !m.NextUpdate.Equal(at.Add(24*time.Hour)) {
		t.Errorf("metadata = %+v", m)
	}
}

func TestRegistryPush(t *testing.T) {
	reg := StartRegistry(t)
	ref := reg.PushIndex(t, "multi:1", MultiPlatform())
	tag, _ := name.NewTag(reg.Host + "/multi:1")
	desc, err := remote.Get(tag)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != ref.DigestStr() || !desc.MediaType.IsIndex() {
		t.Errorf("pulled %s %s, want the index %s", desc.MediaType, desc.Digest, ref.DigestStr())
	}
}

// The real trivy sees the advisories in the test DB, offline.
func TestTrivyFindsTheFixtureCVEs(t *testing.T) {
	bin := Binary(t)
	f := Load(t)
	args := append([]string{"image", "--format", "json", "--scanners", "vuln", "--quiet", "--input", f.AlpineTar}, OfflineArgs(CacheDir(t, time.Now()))...)
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("trivy %s: %v", strings.Join(args, " "), err)
	}
	for _, cve := range []string{CVECritical, CVEHigh} {
		if !strings.Contains(string(out), `"VulnerabilityID": "`+cve+`"`) {
			t.Errorf("trivy did not report %s:\n%.2000s", cve, out)
		}
	}
}
