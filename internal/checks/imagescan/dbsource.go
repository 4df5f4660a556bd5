package imagescan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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

// recordDBSource fills in where the DB the scans used came from and what it
// was: downloaded during these scans from a repository, or the DB already
// in the cache directory, with the sha256 of the DB file and its metadata.
// A DB file that cannot be read after trivy scanned with it is an error.
func recordDBSource(db *DBFact, set Settings, scans []ScanFact, downloadedFrom string) error {
	dir := filepath.Join(set.CacheDir, "db")
	db.Path = filepath.Join(dir, "trivy.db")
	sum, err := fileSHA256(db.Path)
	if err != nil {
		return fmt.Errorf("read the vulnerability DB trivy scanned with: %w", err)
	}
	db.SHA256 = sum
	if db.MetadataSHA256, err = fileSHA256(filepath.Join(dir, "metadata.json")); err != nil {
		return fmt.Errorf("read the vulnerability DB's metadata: %w", err)
	}
	switch {
	case downloadedFrom != "" && !set.SkipDBUpdate:
		db.Origin, db.URI = DBDownloaded, "oci://"+downloadedFrom
	default:
		db.Origin, db.URI = DBCache, fileURI(db.Path)
	}
	if db.Origin == DBCache && len(scans) > 0 && !db.DownloadedAt.IsZero() && db.DownloadedAt.After(scans[0].StartedAt) && !set.SkipDBUpdate {
		// trivy wrote a new DB during the scans but its log named no
		// repository readiness allowed: readiness cannot say where it
		// came from, and will not guess.
		return fmt.Errorf("trivy downloaded a vulnerability DB during the scan (downloaded at %s) but did not log which of %s it came from; the evidence cannot name the DB", db.DownloadedAt.Format("2006-01-02T15:04:05Z07:00"), strings.Join(slices.Clone(set.DBRepositories), ", "))
	}
	return nil
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
