//go:build linux

package imagescan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// plantProbeCache writes, under dir, the answer the old version-probe cache
// would have reused for bin and cacheDir: the key was a hash of the two
// files' paths, inodes, sizes and times, all readable by anyone, so an
// attacker can compute it. The answer says the DB was updated an hour ago.
func plantProbeCache(t *testing.T, dir, bin, cacheDir string) {
	t.Helper()
	h := sha256.New()
	for _, p := range []string{bin, filepath.Join(cacheDir, "db", "metadata.json")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		fmt.Fprintf(h, "%s\x00%s\x00", p, fmt.Sprintf("%d:%d:%d:%d.%d:%d.%d", sys.Dev, sys.Ino, sys.Size,
			sys.Mtim.Sec, sys.Mtim.Nsec, sys.Ctim.Sec, sys.Ctim.Nsec))
	}
	key := hex.EncodeToString(h.Sum(nil))[:32]
	fresh := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	answer := fmt.Sprintf(`{"Version":"0.74.0","VulnerabilityDB":{"Version":2,"NextUpdate":%q,"UpdatedAt":%q,"DownloadedAt":%q}}`, fresh, fresh, fresh)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, key+".json"), []byte(answer), 0o600); err != nil {
		t.Fatal(err)
	}
}
