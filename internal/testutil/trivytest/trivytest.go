// Package trivytest runs the real trivy offline in tests: it finds the
// trivy binary, builds a small vulnerability DB the way trivy's own
// integration tests do (github.com/aquasecurity/bolt-fixtures plus trivy-db's
// metadata.json), builds image tarballs, an OCI layout and a multi-platform
// index with go-containerregistry, and starts an in-process registry to push
// them to. No network and no Docker engine are needed.
//
// The image-scan gate's tests and the image-release tests both use it.
//
//	bin := trivytest.Binary(t)                       // skips locally, fails under CI=true
//	cache := trivytest.CacheDir(t, time.Now())        // a DB updated "now"
//	fx := trivytest.Load(t)                           // tarballs and layouts, built once per process
//	reg := trivytest.StartRegistry(t)
//	ref := reg.Push(t, "app:1", trivytest.AlpineVulnerable("amd64"))
//
// Scans must pass OfflineArgs(cache) (or the gate's equivalent options), or
// trivy will try to download its DB.
package trivytest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fixtures "github.com/aquasecurity/bolt-fixtures"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// The advisories in the test DB (testdata/db.yaml). The IDs are made up.
const (
	// CVECritical affects musl 1.2.4-r1 in the Alpine images; fixed in 1.2.4-r3.
	CVECritical = "CVE-2099-0001"
	// CVEHigh affects zlib 1.3-r0 in the Alpine images; fixed in 1.3.1-r0.
	CVEHigh = "CVE-2099-0002"
	// CVEDebianHigh affects openssl 3.0.11-1~deb12u1 in the Debian image.
	CVEDebianHigh = "CVE-2099-0010"
	// CVEDebianUnfixed affects bash in the Debian image, has no fix and no
	// severity (trivy reports UNKNOWN).
	CVEDebianUnfixed = "CVE-2099-0011"
)

// MinVersion is the oldest trivy these helpers are written against.
const MinVersion = "0.64.0"

//go:embed testdata/db.yaml
var dbYAML []byte

// SchemaVersion is trivy-db's schema version (trivy-db pkg/db.SchemaVersion).
const SchemaVersion = 2

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of a trivy binary that reports a release version:
// $READINESS_TRIVY, else trivy on PATH, else $(go env GOPATH)/bin/trivy.
// When none is found the test is skipped with a loud reason, except under
// CI=true, where it fails: CI must provide trivy (scripts/install-trivy.sh).
func Binary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() { binPath, binErr = findBinary() })
	if binErr != nil {
		missing(tb, binErr.Error())
	}
	return binPath
}

func missing(tb testing.TB, why string) {
	tb.Helper()
	need.Skip(tb, "TRIVY NOT AVAILABLE, real-trivy test not run: %s (install it with scripts/install-trivy.sh)", why)
}

var versionLine = regexp.MustCompile(`(?m)^Version:\s*v?(\d+)\.(\d+)\.(\d+)`)

func findBinary() (string, error) {
	var candidates []string
	if p := os.Getenv("READINESS_TRIVY"); p != "" {
		candidates = append(candidates, p)
	} else {
		if p, err := exec.LookPath("trivy"); err == nil {
			candidates = append(candidates, p)
		}
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			if home, err := os.UserHomeDir(); err == nil {
				gopath = filepath.Join(home, "go")
			}
		}
		if gopath != "" {
			candidates = append(candidates, filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "trivy"))
		}
	}
	var problems []string
	for _, c := range candidates {
		out, err := exec.Command(c, "--version").Output()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", c, err))
			continue
		}
		m := versionLine.FindStringSubmatch(string(out))
		if m == nil {
			problems = append(problems, fmt.Sprintf("%s reports no release version (%q)", c, firstLine(string(out))))
			continue
		}
		v := m[1] + "." + m[2] + "." + m[3]
		if versionLess(v, MinVersion) {
			problems = append(problems, fmt.Sprintf("%s is %s, older than %s", c, v, MinVersion))
			continue
		}
		return c, nil
	}
	if len(problems) == 0 {
		return "", errors.New("no trivy on PATH, in $GOPATH/bin or $READINESS_TRIVY")
	}
	return "", errors.New(strings.Join(problems, "; "))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func versionLess(a, b string) bool {
	var x, y [3]int
	fmt.Sscanf(a, "%d.%d.%d", &x[0], &x[1], &x[2])
	fmt.Sscanf(b, "%d.%d.%d", &y[0], &y[1], &y[2])
	for i := range x {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

// OfflineArgs are the trivy flags a test scan needs: the test DB in
// cacheDir, no download of any DB or check bundle, no API calls, no
// version check or telemetry, and the in-memory scan cache (so that test
// processes running at once never wait on trivy's fanal.db lock).
func OfflineArgs(cacheDir string) []string {
	return []string{
		"--cache-dir", cacheDir, "--cache-backend", "memory",
		"--skip-db-update", "--skip-java-db-update", "--skip-check-update", "--offline-scan",
		"--skip-version-check", "--disable-telemetry", "--no-progress",
	}
}

// Fixtures are the files built once per test process (read-only: copy
// before changing anything).
type Fixtures struct {
	// Root holds everything below.
	Root string
	// DB is the bolt DB built from testdata/db.yaml (a template; CacheDir
	// copies it).
	DB string
	// AlpineTar is a docker-format tarball of AlpineVulnerable("amd64").
	AlpineTar string
	// CleanTar is a docker-format tarball of Clean("amd64").
	CleanTar string
	// DebianTar is a docker-format tarball of DebianVulnerable().
	DebianTar string
	// Layout is an OCI image layout holding MultiPlatform() (tagged
	// "multi") and Clean("amd64") (tagged "clean").
	Layout string
}

var (
	fxOnce sync.Once
	fx     *Fixtures
	fxErr  error
)

// Load builds the fixtures once per process into
// os.TempDir()/readiness-trivytest-<hash>, where the hash covers the DB
// fixtures and every image digest: a directory is reused only when its
// content is exactly what this code builds, and it is created atomically, so
// concurrent test processes share it safely.
func Load(tb testing.TB) *Fixtures {
	tb.Helper()
	f, err := Build()
	if err != nil {
		tb.Fatalf("build trivy test fixtures: %v", err)
	}
	return f
}

// Build is Load for programs (the benchmark script): it builds the
// fixtures once per process and returns them.
func Build() (*Fixtures, error) {
	fxOnce.Do(func() { fx, fxErr = build() })
	return fx, fxErr
}

func build() (*Fixtures, error) {
	alpine, clean, debian, multi := AlpineVulnerable("amd64"), Clean("amd64"), DebianVulnerable(), MultiPlatform()
	h := sha256.New()
	h.Write(dbYAML)
	for _, d := range []interface{ Digest() (v1.Hash, error) }{alpine, clean, debian, multi} {
		dg, err := d.Digest()
		if err != nil {
			return nil, err
		}
		io.WriteString(h, dg.String())
	}
	root := filepath.Join(os.TempDir(), "readiness-trivytest-"+hex.EncodeToString(h.Sum(nil))[:16])
	f := &Fixtures{
		Root:      root,
		DB:        filepath.Join(root, "db", "trivy.db"),
		AlpineTar: filepath.Join(root, "alpine-vulnerable.tar"),
		CleanTar:  filepath.Join(root, "clean.tar"),
		DebianTar: filepath.Join(root, "debian-vulnerable.tar"),
		Layout:    filepath.Join(root, "layout"),
	}
	if _, err := os.Stat(filepath.Join(root, "complete")); err == nil {
		return f, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "readiness-trivytest-build-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rel := func(p string) string { return filepath.Join(tmp, strings.TrimPrefix(p, root)) }
	if err := buildDB(rel(f.DB)); err != nil {
		return nil, fmt.Errorf("build DB: %w", err)
	}
	for _, t := range []struct {
		path, tag string
		img       v1.Image
	}{
		{f.AlpineTar, "readiness.test/alpine-vulnerable:1", alpine},
		{f.CleanTar, "readiness.test/clean:1", clean},
		{f.DebianTar, "readiness.test/debian-vulnerable:1", debian},
	} {
		tag, err := name.NewTag(t.tag)
		if err != nil {
			return nil, err
		}
		if err := tarball.WriteToFile(rel(t.path), tag, t.img); err != nil {
			return nil, fmt.Errorf("write %s: %w", t.path, err)
		}
	}
	lp, err := layout.Write(rel(f.Layout), empty.Index)
	if err != nil {
		return nil, err
	}
	if err := lp.AppendIndex(multi, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "multi"})); err != nil {
		return nil, err
	}
	if err := lp.AppendImage(clean, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "clean"})); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, root); err != nil {
		// Another process built the same content first.
		if _, serr := os.Stat(filepath.Join(root, "complete")); serr == nil {
			return f, nil
		}
		return nil, err
	}
	return f, nil
}

func buildDB(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	src := filepath.Join(filepath.Dir(path), "fixtures.yaml")
	if err := os.WriteFile(src, dbYAML, 0o644); err != nil {
		return err
	}
	defer os.Remove(src)
	loader, err := fixtures.New(path, []string{src})
	if err != nil {
		return err
	}
	if err := loader.Load(); err != nil {
		loader.Close()
		return err
	}
	return loader.Close()
}

// Metadata is trivy-db's metadata.json (trivy-db pkg/metadata.Metadata).
type Metadata struct {
	Version      int `json:",omitempty"`
	NextUpdate   time.Time
	UpdatedAt    time.Time
	DownloadedAt time.Time
}

// CacheDir returns a new trivy cache directory (under tb.TempDir) holding
// the test DB, whose metadata says it was updated at updatedAt (pass
// time.Now() for a fresh DB, an older time for a stale one).
func CacheDir(tb testing.TB, updatedAt time.Time) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := FillCacheDir(dir, updatedAt); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// FillCacheDir puts the test DB into the trivy cache directory dir, with
// metadata saying it was updated at updatedAt.
func FillCacheDir(dir string, updatedAt time.Time) error {
	f, err := Build()
	if err != nil {
		return err
	}
	dbDir := filepath.Join(dir, "db")
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(f.DB)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dbDir, "trivy.db"), data, 0o644); err != nil {
		return err
	}
	return writeMetadata(dir, Metadata{
		Version: SchemaVersion, UpdatedAt: updatedAt.UTC(),
		NextUpdate: updatedAt.Add(24 * time.Hour).UTC(), DownloadedAt: updatedAt.UTC(),
	})
}

// WriteMetadata (re)writes the DB metadata of a cache directory.
func WriteMetadata(tb testing.TB, cacheDir string, m Metadata) {
	tb.Helper()
	if err := writeMetadata(cacheDir, m); err != nil {
		tb.Fatal(err)
	}
}

func writeMetadata(cacheDir string, m Metadata) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cacheDir, "db", "metadata.json"), data, 0o644)
}

// Registry is an in-process OCI registry on loopback.
type Registry struct {
	// Host is "127.0.0.1:PORT"; references to it use plain HTTP, as
	// go-containerregistry (and so trivy) does for loopback hosts.
	Host string
}

// StartRegistry starts a registry that lives until the test ends.
func StartRegistry(tb testing.TB) *Registry {
	tb.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	tb.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://")}
}

// Push writes img as repoTag ("app:1") and returns the digest reference.
func (r *Registry) Push(tb testing.TB, repoTag string, img v1.Image) name.Digest {
	tb.Helper()
	tag, err := name.NewTag(r.Host + "/" + repoTag)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		tb.Fatalf("push %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return tag.Context().Digest(d.String())
}

// PushIndex writes idx as repoTag and returns the digest reference.
func (r *Registry) PushIndex(tb testing.TB, repoTag string, idx v1.ImageIndex) name.Digest {
	tb.Helper()
	tag, err := name.NewTag(r.Host + "/" + repoTag)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		tb.Fatalf("push %s: %v", tag, err)
	}
	d, err := idx.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return tag.Context().Digest(d.String())
}

// Images. Every one is deterministic: the same code yields the same digest.

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const alpineBase = `P:alpine-baselayout
V:3.4.3-r2
A:%[1]s
T:Alpine base dir structure and init scripts
L:GPL-2.0-only
o:alpine-baselayout

`

const alpineVulnerable = `P:musl
V:1.2.4-r1
A:%[1]s
T:the musl c library (libc) implementation
L:MIT
o:musl

P:zlib
V:1.3-r0
A:%[1]s
T:A compression/decompression Library
L:Zlib
o:zlib

`

// AlpineVulnerable is an Alpine 3.19 image for arch (amd64, arm64) whose
// musl has CVECritical and whose zlib has CVEHigh.
func AlpineVulnerable(arch string) v1.Image {
	return Image(arch, map[string]string{
		"etc/alpine-release":   "3.19.1\n",
		"lib/apk/db/installed": fmt.Sprintf(alpineBase+alpineVulnerable, apkArch(arch)),
	})
}

// Clean is an Alpine 3.19 image with no known vulnerability.
func Clean(arch string) v1.Image {
	return Image(arch, map[string]string{
		"etc/alpine-release":   "3.19.1\n",
		"lib/apk/db/installed": fmt.Sprintf(alpineBase, apkArch(arch)),
	})
}

// DebianVulnerable is a Debian 12 image whose openssl has CVEDebianHigh and
// whose bash has CVEDebianUnfixed.
func DebianVulnerable() v1.Image {
	return Image("amd64", map[string]string{
		"etc/debian_version": "12.5\n",
		"etc/os-release":     "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
		"var/lib/dpkg/status": `Package: openssl
Status: install ok installed
Priority: optional
Section: utils
Architecture: amd64
Version: 3.0.11-1~deb12u1
Description: Secure Sockets Layer toolkit - cryptographic utility

Package: bash
Status: install ok installed
Priority: required
Section: shells
Architecture: amd64
Version: 5.2.15-2+b2
Description: GNU Bourne Again SHell

`,
	})
}

// MultiPlatform is an OCI index with a clean linux/amd64 image, a
// vulnerable linux/arm64/v8 image (so a scan of amd64 alone misses
// CVECritical), and a buildx-style attestation manifest (unknown/unknown)
// that is not an image to scan.
func MultiPlatform() v1.ImageIndex {
	// As buildx writes it: one in-toto statement per layer. An entry with
	// only the annotation is an image like any other (ociindex.Classify).
	statement := static.NewLayer([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{}}`), "application/vnd.in-toto+json")
	att, err := mutate.Append(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1),
		mutate.Addendum{Layer: statement, Annotations: map[string]string{"in-toto.io/predicate-type": "https://spdx.dev/Document"}})
	if err != nil {
		panic(err) // appending an in-memory layer cannot fail
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx,
		mutate.IndexAddendum{Add: Clean("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: AlpineVulnerable("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}},
	)
	return idx
}

func apkArch(arch string) string {
	switch arch {
	case "arm64":
		return "aarch64"
	case "amd64":
		return "x86_64"
	}
	return arch
}

// Image builds a deterministic one-layer OCI image for linux/arch holding
// files (path → content, paths without a leading slash).
func Image(arch string, files map[string]string) v1.Image {
	layer, err := tarLayer(files)
	if err != nil {
		panic(err) // in-memory tar and gzip of fixed data cannot fail
	}
	img := mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "readiness trivytest"}})
	if err != nil {
		panic(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		panic(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Cmd = []string{"/bin/sh"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		panic(err)
	}
	return img
}

func tarLayer(files map[string]string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		body := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, tarball.WithMediaType(types.OCILayer))
}
