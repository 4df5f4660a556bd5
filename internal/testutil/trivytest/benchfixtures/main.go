// Command benchfixtures prepares what scripts/bench-image-scan.sh measures:
// a trivy cache directory holding the offline test DB, the small vulnerable
// Alpine tarball, and a bigger image (hundreds of packages and tens of MB of
// files) whose scan takes long enough for a relative overhead to mean
// something. It prints shell assignments:
//
//	CACHE=… SMALL=… BIG=…
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

func main() {
	dir := flag.String("dir", "", "output `DIR` (the cache goes to DIR/cache, the big tarball to DIR/big.tar)")
	mb := flag.Int("big-mb", 48, "size of the big image's files in `MB`")
	pkgs := flag.Int("big-packages", 400, "number of apk packages the big image lists")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: benchfixtures -dir DIR [-big-mb N] [-big-packages N]")
		os.Exit(2)
	}
	if err := run(*dir, *mb, *pkgs); err != nil {
		fmt.Fprintln(os.Stderr, "benchfixtures:", err)
		os.Exit(1)
	}
}

func run(dir string, mb, pkgs int) error {
	f, err := trivytest.Build()
	if err != nil {
		return err
	}
	cache := filepath.Join(dir, "cache")
	if err := trivytest.FillCacheDir(cache, time.Now()); err != nil {
		return err
	}
	big := filepath.Join(dir, "big.tar")
	if _, err := os.Stat(big); err != nil {
		if err := writeBig(big, mb, pkgs); err != nil {
			return err
		}
	}
	fmt.Printf("CACHE=%s\nSMALL=%s\nBIG=%s\n", cache, f.AlpineTar, big)
	return nil
}

// writeBig writes an Alpine image with pkgs packages (musl and zlib among
// them, so it has the fixture CVEs) and mb MB of incompressible files.
func writeBig(path string, mb, pkgs int) error {
	var apk strings.Builder
	apk.WriteString("P:musl\nV:1.2.4-r1\nA:x86_64\no:musl\n\nP:zlib\nV:1.3-r0\nA:x86_64\no:zlib\n\n")
	for i := range pkgs {
		fmt.Fprintf(&apk, "P:bench-pkg-%d\nV:1.0.%d-r0\nA:x86_64\no:bench-pkg-%d\n\n", i, i, i)
	}
	files := map[string]string{"etc/alpine-release": "3.19.1\n", "lib/apk/db/installed": apk.String()}
	rng := rand.NewChaCha8([32]byte{1})
	for i := range mb {
		b := make([]byte, 1<<20)
		rng.Read(b)
		files[fmt.Sprintf("usr/share/bench/blob-%03d.bin", i)] = string(b)
	}
	tag, err := name.NewTag("readiness.test/bench-big:1")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, trivytest.Image("amd64", files)); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
