package imagescan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/readiness-dev/readiness/internal/procexec"
)

// The version probe, `trivy version --format json`, tells the gate
// trivy's version and its DB's metadata. It costs a whole trivy start-up
// (about 80 ms of CPU for a 250 MB binary), as much as a scan of a small
// image, so its output is kept between runs in Deps.ProbeCache, keyed by
// the identity of the two files it depends on:
//
//   - the trivy binary (path, inode, size, modification and change times):
//     an upgrade, a reinstall or a copy over it changes the key;
//   - the DB's metadata.json in the configured cache_dir, which trivy
//     rewrites whenever the DB changes.
//
// The change time (ctime) cannot be set from user space, so a file edited
// and given back its old modification time still gets a new key. Without
// an explicit cache_dir (trivy then picks its own directory) the probe
// always runs.

type probeResult struct {
	info   *versionInfo
	cached bool
	err    error
}

// version returns the checked output of `trivy version --format json`,
// from the probe cache when the binary and the DB metadata are unchanged.
func (c *Check) version(ctx context.Context, bin, work string) probeResult {
	key := c.probeKey(bin)
	if key != "" {
		if data, err := os.ReadFile(filepath.Join(c.deps.ProbeCache, key+".json")); err == nil {
			if info, err := parseVersionInfo(data); err == nil {
				if err := checkVersion(bin, info); err == nil {
					return probeResult{info: info, cached: true}
				}
			}
		}
	}
	args := []string{"version", "--format", "json"}
	if c.opts.CacheDir != "" {
		args = append(args, "--cache-dir", c.opts.CacheDir)
	}
	out, err := c.deps.Exec(ctx, procexec.Cmd{Path: bin, Args: args, Dir: work})
	if err != nil {
		return probeResult{err: runFailure(ctx, "trivy version", err)}
	}
	if out.ExitCode != 0 {
		return probeResult{err: fmt.Errorf("`trivy version` exited with code %d: %s", out.ExitCode, shorten(firstNonEmpty(fatalLine(out.Stderr), lastLine(out.Stderr), "no message"), 300))}
	}
	info, err := parseVersionInfo(out.Stdout)
	if err != nil {
		return probeResult{err: err}
	}
	if err := checkVersion(bin, info); err != nil {
		return probeResult{err: err}
	}
	if key != "" && info.VulnerabilityDB != nil {
		storeProbe(c.deps.ProbeCache, key, out.Stdout)
	}
	return probeResult{info: info}
}

// checkVersion holds trivy's version against MinTrivyVersion.
func checkVersion(bin string, info *versionInfo) error {
	v, err := parseSemver(info.Version)
	if err != nil {
		return fmt.Errorf("trivy %s reports version %q, which cannot be checked against the minimum %s; install a release build (scripts/install-trivy.sh stamps the version into a go install build)", bin, info.Version, MinTrivyVersion)
	}
	minV, _ := parseSemver(MinTrivyVersion)
	if v.less(minV) {
		return fmt.Errorf("trivy %s is %s, older than the minimum %s this gate needs; upgrade it (scripts/install-trivy.sh)", bin, info.Version, MinTrivyVersion)
	}
	return nil
}

// probeKey names the cache entry for bin and the configured DB, or "" when
// the probe must run (no cache, no explicit cache_dir, a file missing).
func (c *Check) probeKey(bin string) string {
	if c.deps.ProbeCache == "" || c.opts.CacheDir == "" {
		return ""
	}
	h := sha256.New()
	for _, p := range []string{bin, filepath.Join(c.opts.CacheDir, "db", "metadata.json")} {
		id, ok := fileIdentity(p)
		if !ok {
			return ""
		}
		fmt.Fprintf(h, "%s\x00%s\x00", p, id)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// storeProbe writes an entry atomically; a failure only costs the next
// run a probe.
func storeProbe(dir, key string, data []byte) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(dir, key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, key+".json")); err != nil {
		os.Remove(f.Name())
	}
}
