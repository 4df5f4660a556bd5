package imagescan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MinTrivyVersion is the oldest trivy this gate runs, written as trivy
// reports versions (no "v"): 0.64.0 is the first
// release with every flag the gate passes (--skip-version-check and
// --disable-telemetry landed in v0.63/v0.64; --show-suppressed,
// --cache-backend memory, --skip-java-db-update and --offline-scan are
// older). The tests run v0.74.0.
const MinTrivyVersion = "0.64.0"

// trivyReport is the part of `trivy image --format json` the gate reads.
// Unknown fields are ignored, so newer trivy versions keep working.
type trivyReport struct {
	SchemaVersion int `json:"SchemaVersion"`
	// Trivy names the trivy that wrote the report (trivy PR #10065, January
	// 2026; v0.74 has it). Older reports lack it.
	Trivy struct {
		Version string `json:"Version"`
	} `json:"Trivy"`
	ArtifactName string `json:"ArtifactName"`
	ArtifactType string `json:"ArtifactType"`
	Metadata     struct {
		OS *struct {
			Family string `json:"Family"`
			Name   string `json:"Name"`
			EOSL   bool   `json:"EOSL"`
		} `json:"OS"`
		ImageID     string   `json:"ImageID"`
		RepoDigests []string `json:"RepoDigests"`
	} `json:"Metadata"`
	Results []trivyResult `json:"Results"`
}

type trivyResult struct {
	Target            string          `json:"Target"`
	Class             string          `json:"Class"`
	Type              string          `json:"Type"`
	Vulnerabilities   []trivyVuln     `json:"Vulnerabilities"`
	Secrets           []trivySecret   `json:"Secrets"`
	Misconfigurations []trivyMisconf  `json:"Misconfigurations"`
	ModifiedFindings  []trivyModified `json:"ExperimentalModifiedFindings"`
}

type trivyVuln struct {
	VulnerabilityID  string `json:"VulnerabilityID"`
	PkgName          string `json:"PkgName"`
	PkgPath          string `json:"PkgPath"`
	InstalledVersion string `json:"InstalledVersion"`
	FixedVersion     string `json:"FixedVersion"`
	Status           string `json:"Status"`
	Severity         string `json:"Severity"`
	SeveritySource   string `json:"SeveritySource"`
	PrimaryURL       string `json:"PrimaryURL"`
	Title            string `json:"Title"`
	Description      string `json:"Description"`
}

type trivySecret struct {
	RuleID    string `json:"RuleID"`
	Category  string `json:"Category"`
	Severity  string `json:"Severity"`
	Title     string `json:"Title"`
	StartLine int    `json:"StartLine"`
}

type trivyMisconf struct {
	ID         string `json:"ID"`
	AVDID      string `json:"AVDID"`
	Title      string `json:"Title"`
	Message    string `json:"Message"`
	Resolution string `json:"Resolution"`
	Severity   string `json:"Severity"`
	PrimaryURL string `json:"PrimaryURL"`
	Status     string `json:"Status"`
}

// trivyModified is a finding a .trivyignore (or VEX) suppressed, reported
// because the gate passes --show-suppressed.
type trivyModified struct {
	Type      string          `json:"Type"`
	Status    string          `json:"Status"`
	Statement string          `json:"Statement"`
	Source    string          `json:"Source"`
	Finding   json.RawMessage `json:"Finding"`
}

// parseReport decodes trivy's JSON report. Anything that is not a JSON
// object with trivy's SchemaVersion 2 is rejected: a report the gate cannot
// read must never pass as "no vulnerabilities".
func parseReport(data []byte) (*trivyReport, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("trivy printed no report (empty output)")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("trivy printed output that is not a JSON report (it begins %s)", preview(trimmed))
	}
	var r trivyReport
	if err := json.Unmarshal(trimmed, &r); err != nil {
		return nil, fmt.Errorf("trivy printed output that is not a valid JSON report (%v; it begins %s)", err, preview(trimmed))
	}
	if r.SchemaVersion != 2 {
		return nil, fmt.Errorf("trivy's JSON report has SchemaVersion %d; this gate reads version 2", r.SchemaVersion)
	}
	return &r, nil
}

// preview quotes the start of some output for an error message.
func preview(b []byte) string {
	const n = 60
	s := string(b)
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strconv.Quote(s)
}

// versionInfo is `trivy version --format json`.
type versionInfo struct {
	Version         string      `json:"Version"`
	VulnerabilityDB *dbMetadata `json:"VulnerabilityDB"`
}

// dbMetadata is trivy-db's metadata as `trivy version` reports it.
type dbMetadata struct {
	Version      int       `json:"Version"`
	NextUpdate   time.Time `json:"NextUpdate"`
	UpdatedAt    time.Time `json:"UpdatedAt"`
	DownloadedAt time.Time `json:"DownloadedAt"`
}

func parseVersionInfo(data []byte) (*versionInfo, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("`trivy version --format json` printed output that is not JSON (it begins %s)", preview(trimmed))
	}
	var v versionInfo
	if err := json.Unmarshal(trimmed, &v); err != nil {
		return nil, fmt.Errorf("`trivy version --format json` printed invalid JSON (%v)", err)
	}
	if v.Version == "" {
		return nil, errors.New("`trivy version --format json` reported no Version")
	}
	return &v, nil
}

// semver is a parsed release version.
type semver struct {
	major, minor, patch int
	pre                 string
}

// parseSemver reads "v0.74.0", "0.74.0" or "0.75.0-rc.1". Anything else
// (such as "dev", what `go install` builds report) is an error.
func parseSemver(s string) (semver, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	core, _, _ := strings.Cut(s, "+")
	core, pre, _ := strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return semver{}, fmt.Errorf("%q is not a release version", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || p == "" || (len(p) > 1 && p[0] == '0') {
			return semver{}, fmt.Errorf("%q is not a release version", s)
		}
		n[i] = v
	}
	return semver{n[0], n[1], n[2], pre}, nil
}

// less orders versions; a pre-release sorts before its release.
func (a semver) less(b semver) bool {
	if a.major != b.major {
		return a.major < b.major
	}
	if a.minor != b.minor {
		return a.minor < b.minor
	}
	if a.patch != b.patch {
		return a.patch < b.patch
	}
	return a.pre != "" && (b.pre == "" || a.pre < b.pre)
}

func (a semver) String() string {
	s := fmt.Sprintf("v%d.%d.%d", a.major, a.minor, a.patch)
	if a.pre != "" {
		s += "-" + a.pre
	}
	return s
}

// trivyFailure turns a failed trivy run into one clear sentence, using
// trivy's FATAL log line when there is one.
func trivyFailure(what string, exit int, stderr []byte, cacheDir string) error {
	fatal := fatalLine(stderr)
	switch {
	case strings.Contains(fatal, "--skip-db-update cannot be specified on the first run"):
		return fmt.Errorf("trivy has no vulnerability DB in its cache dir %s and skip_db_update is set; download one first (trivy image --download-db-only --cache-dir %s) or let trivy update it", orDefault(cacheDir), orDefault(cacheDir))
	case strings.Contains(fatal, "failed to download vulnerability DB") || strings.Contains(fatal, "failed to download") && strings.Contains(fatal, "DB"):
		return fmt.Errorf("trivy could not download its vulnerability DB while scanning %s: %s", what, lastCause(fatal))
	case strings.Contains(fatal, "unknown flag"):
		return fmt.Errorf("trivy does not know a flag this gate passes (%s) while scanning %s: it is probably older than the minimum %s; %s", shorten(fatal, 200), what, MinTrivyVersion, installTrivy)
	case fatal != "":
		return fmt.Errorf("trivy failed (exit code %d) while scanning %s: %s", exit, what, shorten(fatal, 400))
	}
	tail := lastLine(stderr)
	if tail == "" {
		return fmt.Errorf("trivy exited with unexpected code %d while scanning %s and printed no error", exit, what)
	}
	return fmt.Errorf("trivy exited with unexpected code %d while scanning %s: %s", exit, what, shorten(tail, 400))
}

func orDefault(dir string) string {
	if dir == "" {
		return "(trivy's default, ~/.cache/trivy)"
	}
	return dir
}

// fatalLine is the message of trivy's "FATAL" log line, continuation lines
// joined.
func fatalLine(stderr []byte) string {
	lines := strings.Split(string(stderr), "\n")
	for i, l := range lines {
		_, after, ok := strings.Cut(l, "\tFATAL\t")
		if !ok {
			continue
		}
		msg := strings.TrimPrefix(after, "Fatal error\t")
		for _, c := range lines[i+1:] {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			msg += " " + c
		}
		return strings.TrimSpace(msg)
	}
	return ""
}

// lastCause keeps the innermost part of a wrapped error chain, where the
// reason (no such host, connection refused, 404) is.
func lastCause(msg string) string {
	msg = strings.ReplaceAll(msg, "1 error occurred: ", "")
	msg = strings.ReplaceAll(msg, "* ", "")
	parts := strings.Split(msg, ": ")
	if len(parts) > 4 {
		parts = parts[len(parts)-4:]
	}
	return shorten(strings.Join(parts, ": "), 300)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s + "…"
}
