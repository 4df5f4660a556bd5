package imagescan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// DB origins recorded in the db fact.
const (
	DBDownloaded = "downloaded"
	DBCache      = "cache"
)

// downloadedRepo matches trivy's log line for a finished artifact download
// (pkg/oci/artifact.go: "Artifact successfully downloaded" repo="…").
var downloadedRepo = regexp.MustCompile(`Artifact successfully downloaded\s+repo="([^"]+)"`)

// downloadedDBRepo is the vulnerability-DB repository trivy's stderr says
// it downloaded from, or "". Only a repository readiness passed with
// --db-repository counts (trivy adds the schema tag ":2" to one given
// without a tag), so the Java DB's download, or a line a scanned image
// could not put on trivy's stderr anyway, cannot name another one.
func downloadedDBRepo(stderr []byte, repos []string) string {
	found := ""
	for _, m := range downloadedRepo.FindAllSubmatch(stderr, -1) {
		got := string(m[1])
		for _, r := range repos {
			if got == r || got == r+":2" {
				found = r
			}
		}
	}
	return found
}

// usedDB is the DB in trivy's cache directory as read after the scans.
type usedDB struct {
	meta                   dbMetadata
	path                   string
	sha256, metadataSHA256 string
}

// readDB reads the DB trivy scanned with: its metadata (what `trivy
// version` would report) and the sha256 of the DB file and of the
// metadata, read once so that the digest is of what was parsed.
func readDB(set Settings) (usedDB, error) {
	dir := filepath.Join(set.CacheDir, "db")
	u := usedDB{path: filepath.Join(dir, "trivy.db")}
	data, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		return u, fmt.Errorf("trivy left no DB metadata in its cache dir %s after the scan, so the DB's age cannot be judged: %v", set.CacheDir, unwrapPath(err))
	}
	if u.meta, err = parseDBMetadata(data); err != nil {
		return u, fmt.Errorf("the DB metadata in %s: %v", dir, err)
	}
	sum := sha256.Sum256(data)
	u.metadataSHA256 = hex.EncodeToString(sum[:])
	if u.sha256, err = fileSHA256(u.path); err != nil {
		return u, fmt.Errorf("read the vulnerability DB trivy scanned with: %v", unwrapPath(err))
	}
	return u, nil
}

// parseDBMetadata reads trivy-db's metadata.json.
func parseDBMetadata(data []byte) (dbMetadata, error) {
	var m dbMetadata
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return m, fmt.Errorf("metadata.json is not a JSON object (it begins %s)", preview(trimmed))
	}
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return m, fmt.Errorf("metadata.json is not valid: %v", err)
	}
	if m.UpdatedAt.IsZero() {
		return m, errors.New("metadata.json gives no UpdatedAt, so the DB's age cannot be judged")
	}
	return m, nil
}

// recordDBSource fills in where the DB the scans used came from and what it
// was: downloaded during these scans from a repository, or the DB already
// in the cache directory, with the sha256 of the DB file and its metadata.
func recordDBSource(db *DBFact, u usedDB, offline bool, downloadedFrom string) {
	db.Path, db.SHA256, db.MetadataSHA256 = u.path, u.sha256, u.metadataSHA256
	if downloadedFrom != "" && !offline {
		db.Origin, db.URI = DBDownloaded, "oci://"+downloadedFrom
		return
	}
	db.Origin, db.URI = DBCache, fileURI(u.path)
}

// checkDownload refuses a DB trivy wrote during the scans when its log
// named no repository readiness allowed: the evidence cannot say where it
// came from, and readiness will not guess.
func checkDownload(db DBFact, scans []ScanFact, set Settings) error {
	if db.Origin != DBCache || set.SkipDBUpdate || len(scans) == 0 || db.DownloadedAt.IsZero() || !db.DownloadedAt.After(scans[0].StartedAt) {
		return nil
	}
	return fmt.Errorf("trivy downloaded a vulnerability DB during the scan (at %s) but did not log which of %s it came from; the evidence cannot name the DB", db.DownloadedAt.Format(time.RFC3339), strings.Join(set.DBRepositories, ", "))
}

func fileURI(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return "file://" + p
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
