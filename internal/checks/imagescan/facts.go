package imagescan

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// Facts keys the gate sets on its Result.
const (
	// FactScans holds []ScanFact, one per scanned image (per platform).
	FactScans = evidence.FactScans
	// FactDB holds a DBFact: trivy's vulnerability DB and its age.
	FactDB = evidence.FactScanDB
	// FactTrivy holds a TrivyFact: the binary, its version, the minimum.
	FactTrivy = evidence.FactScanner
	// FactCounts holds Counts over every scan (unsuppressed findings).
	FactCounts = "counts"
	// FactSettings holds Settings: every result-changing trivy setting,
	// with the value passed.
	FactSettings = "trivy_settings"
	// FactVEX lists the configured VEX documents ([]VEXFact).
	FactVEX = evidence.FactVEX
	// FactEnvWithheld names the TRIVY_* variables readiness's environment
	// had and trivy was not given.
	FactEnvWithheld = "trivy_env_withheld"
)

// ScanFact records one trivy scan of one image, by digest: the neutral
// evidence.ImageScan record (what the signer reads) plus what only this
// gate reports. Facts["scans"] is a list of these; Scans reads it back from
// a Result, whether the Result came straight from Run or was decoded from
// an evidence document.
type ScanFact struct {
	evidence.ImageScan
	// OS is the distribution trivy detected ("alpine 3.19.1").
	OS string `json:"os,omitempty"`
	// OSEndOfLife is trivy's verdict that the distribution no longer gets
	// security updates (so "no vulnerabilities" means less).
	OSEndOfLife bool `json:"os_end_of_life,omitempty"`
	// Counts are this image's unsuppressed vulnerabilities by trivy severity.
	Counts Counts `json:"counts"`
	// Suppressed lists the findings the ignorefile suppressed in this image.
	Suppressed []Suppressed `json:"suppressed,omitempty"`
}

// Counts are vulnerabilities by trivy severity.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
}

// Add counts one vulnerability of trivy severity sev.
func (c *Counts) Add(sev string) {
	switch sev {
	case "CRITICAL":
		c.Critical++
	case "HIGH":
		c.High++
	case "MEDIUM":
		c.Medium++
	case "LOW":
		c.Low++
	default:
		c.Unknown++
	}
}

// Plus returns the sum of two counts.
func (c Counts) Plus(o Counts) Counts {
	return Counts{c.Critical + o.Critical, c.High + o.High, c.Medium + o.Medium, c.Low + o.Low, c.Unknown + o.Unknown}
}

// Suppressed is a finding that trivy's ignorefile or a VEX document
// suppressed (the neutral evidence record).
type Suppressed = evidence.Suppressed

// DBFact describes trivy's vulnerability DB as `trivy version --format
// json` reports it (the neutral evidence.ScanDB), and judges its age.
type DBFact struct {
	evidence.ScanDB
	// AgeHours is how long before the scan the DB was last updated.
	AgeHours float64 `json:"age_hours"`
	Stale    bool    `json:"stale"`
	// SkipUpdate records offline mode: trivy was told not to update any DB.
	SkipUpdate bool   `json:"skip_update"`
	CacheDir   string `json:"cache_dir,omitempty"`
}

// TrivyFact names the trivy that ran (the neutral evidence.Scanner).
type TrivyFact struct {
	evidence.Scanner
	MinVersion string `json:"min_version"`
}

// Scans reads Facts["scans"] back from a Result.
func Scans(r checks.Result) ([]ScanFact, error) {
	return factAs[[]ScanFact](r, FactScans)
}

// DB reads Facts["db"] back from a Result.
func DB(r checks.Result) (DBFact, error) {
	return factAs[DBFact](r, FactDB)
}

func factAs[T any](r checks.Result, key string) (T, error) {
	var out T
	v, ok := r.Facts[key]
	if !ok {
		return out, fmt.Errorf("check %s has no %q fact", r.Check, key)
	}
	if t, ok := v.(T); ok {
		return t, nil
	}
	// Decoded from JSON: a []any of map[string]any. Re-encode into T.
	data, err := json.Marshal(v)
	if err != nil {
		return out, fmt.Errorf("fact %q of check %s: %w", key, r.Check, err)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return out, fmt.Errorf("fact %q of check %s does not have the image-scan shape: %v", key, r.Check, err)
		}
		return out, fmt.Errorf("fact %q of check %s: %w", key, r.Check, err)
	}
	return out, nil
}
