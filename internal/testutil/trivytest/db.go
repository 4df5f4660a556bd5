package trivytest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fixtures "github.com/aquasecurity/bolt-fixtures"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyDBYAML is a DB that knows no advisory: what a DB an attacker
// substitutes (another repository, another cache dir, a trivy server of
// theirs) would hold. trivy accepts it as a valid DB.
var emptyDBYAML = []byte(`- bucket: data-source
  pairs:
    - key: alpine 3.19
      value:
        ID: alpine
        Name: Alpine Secdb
        URL: https://secdb.alpinelinux.org/
`)

// EmptyCacheDir returns a new trivy cache directory holding a valid DB with
// no advisory at all, updated at updatedAt: scanning with it finds nothing.
func EmptyCacheDir(tb testing.TB, updatedAt time.Time) string {
	tb.Helper()
	dir := tb.TempDir()
	dbDir := filepath.Join(dir, "db")
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	src := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(src, emptyDBYAML, 0o644); err != nil {
		tb.Fatal(err)
	}
	loader, err := fixtures.New(filepath.Join(dbDir, "trivy.db"), []string{src})
	if err != nil {
		tb.Fatal(err)
	}
	if err := loader.Load(); err != nil {
		loader.Close()
		tb.Fatal(err)
	}
	if err := loader.Close(); err != nil {
		tb.Fatal(err)
	}
	WriteMetadata(tb, dir, Metadata{Version: SchemaVersion, UpdatedAt: updatedAt.UTC(), NextUpdate: updatedAt.Add(24 * time.Hour).UTC(), DownloadedAt: updatedAt.UTC()})
	return dir
}

// dbMediaType is the layer media type of a trivy-db artifact (trivy
// pkg/db/db.go).
const dbMediaType = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"

// PushDB publishes the DB in cacheDir (db/trivy.db and db/metadata.json) as
// a trivy-db OCI artifact at repoTag ("aquasec/trivy-db:2"), the way trivy's
// DB repositories serve it, and returns the repository reference to give
// trivy's --db-repository.
func (r *Registry) PushDB(tb testing.TB, repoTag, cacheDir string) string {
	tb.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []string{"trivy.db", "metadata.json"} {
		data, err := os.ReadFile(filepath.Join(cacheDir, "db", f))
		if err != nil {
			tb.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		tb.Fatal(err)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer: static.NewLayer(buf.Bytes(), dbMediaType),
		// trivy names the downloaded file after this annotation.
		Annotations: map[string]string{"org.opencontainers.image.title": "db.tar.gz"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ref := r.Host + "/" + repoTag
	tag, err := name.NewTag(ref)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		tb.Fatalf("push DB %s: %v", ref, err)
	}
	return ref
}

// StartServer runs the real `trivy server` (client/server mode) on a
// loopback port with the DB in cacheDir, offline, until the test ends, and
// returns its address ("http://127.0.0.1:PORT"). It returns once the server
// logs that it listens.
func StartServer(tb testing.TB, cacheDir string) string {
	tb.Helper()
	bin := Binary(tb)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "server", "--listen", addr, "--cache-dir", cacheDir, "--skip-db-update", "--cache-backend", "memory")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start trivy server: %v", err)
	}
	tb.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	// Wait for the event, not for time: trivy logs "Listening" once its
	// listener is up; an exit first ends the scan with no such line.
	sc := bufio.NewScanner(stderr)
	var log []string
	for sc.Scan() {
		log = append(log, sc.Text())
		if strings.Contains(sc.Text(), "Listening") {
			go func() {
				for sc.Scan() {
				}
			}()
			return "http://" + addr
		}
	}
	tb.Fatalf("trivy server exited before listening:\n%s", strings.Join(log, "\n"))
	return ""
}
