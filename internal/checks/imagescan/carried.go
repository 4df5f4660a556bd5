package imagescan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// Looser compares a carried image-scan result (already re-derived from its
// reports, see Rederive) with o, the options this machine's readiness.yaml
// gives the check, and returns one sentence for each way the scan that
// produced it was looser: findings it left out cannot be recovered from its
// reports, so the signer must refuse rather than judge. now is when the
// signer judges (for the expiry of its own ignore entries).
//
// What the scan recorded is compared, both its facts and the trivy command
// lines it ran; a result that records neither for a setting is looser (a
// setting that cannot be read is not assumed to be the strict one).
func (o Options) Looser(r checks.Result, report func(sha256 string) ([]byte, bool), now time.Time) ([]string, error) {
	scans, err := Scans(r)
	if err != nil {
		return nil, err
	}
	var out []string
	// Scanners: every scanner this machine runs must have run.
	recorded, ok := stringList(r.Facts["scanners"])
	if !ok {
		out = append(out, "it does not record which trivy scanners ran (facts.scanners)")
	}
	for _, s := range scans {
		if cmd, ok := flagValue(s.Command, "--scanners"); ok {
			recorded = intersect(recorded, strings.Split(cmd, ","))
		}
	}
	var missing []string
	for _, want := range o.Scanners {
		if !slices.Contains(recorded, want) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 && ok {
		out = append(out, fmt.Sprintf("it ran the trivy scanners %s, without %s, which this machine's configuration runs",
			orNone(recorded), strings.Join(missing, ", ")))
	}

	// ignore_unfixed: unfixed vulnerabilities left out.
	unfixed, ok := r.Facts["ignore_unfixed"].(bool)
	for _, s := range scans {
		if v, has := flagValue(s.Command, "--ignore-unfixed"); has && v != "false" {
			unfixed = true
		}
	}
	switch {
	case !ok && !o.IgnoreUnfixed:
		out = append(out, "it does not record whether unfixed vulnerabilities were left out (facts.ignore_unfixed)")
	case unfixed && !o.IgnoreUnfixed:
		out = append(out, "it ran with ignore_unfixed, leaving out vulnerabilities without a fixed version, which this machine's configuration does not")
	}

	// unknown_severity: a different mapping judges UNKNOWN vulnerabilities
	// by another severity than this machine would.
	if got, _ := r.Facts[FactUnknownSeverity].(string); got != o.UnknownSeverity {
		out = append(out, fmt.Sprintf("it rated trivy's UNKNOWN vulnerabilities %q, this machine's configuration rates them %q (unknown_severity)", got, o.UnknownSeverity))
	}

	// The DB: its age at the end of the scan, against this machine's limit.
	db, err := DB(r)
	if err != nil {
		return nil, err
	}
	var last time.Time
	for _, s := range scans {
		if s.FinishedAt.After(last) {
			last = s.FinishedAt
		}
	}
	if age := last.Sub(db.UpdatedAt); age > o.DBMaxAge.D() {
		out = append(out, fmt.Sprintf("its vulnerability DB (updated %s) was %s old at the scan, more than this machine's db_max_age %s",
			db.UpdatedAt.UTC().Format(time.RFC3339), humanAge(age), humanAge(o.DBMaxAge.D())))
	}

	// An ignorefile's suppressions: each must be one this machine's own
	// ignorefile makes (VEX suppressions: CarriedVEX).
	diffs, err := o.unmatchedSuppressions(scans, report, now)
	if err != nil {
		return nil, err
	}
	return append(out, diffs...), nil
}

// unmatchedSuppressions lists the findings the scans' reports say an
// ignorefile suppressed and that this machine's ignorefile does not.
func (o Options) unmatchedSuppressions(scans []ScanFact, report func(string) ([]byte, bool), now time.Time) ([]string, error) {
	var mine map[string]time.Time
	if o.IgnoreFile != "" {
		var err error
		if mine, err = ReadIgnoreIDs(o.IgnoreFile); err != nil {
			return nil, err
		}
	}
	var out []string
	for i, s := range scans {
		data, ok := report(s.ReportSHA256)
		if !ok {
			return nil, fmt.Errorf("facts.scans[%d]: report_sha256 %q names no report in the bundle", i, s.ReportSHA256)
		}
		rep, err := parseReport(data)
		if err != nil {
			return nil, fmt.Errorf("facts.scans[%d]: %v", i, err)
		}
		for _, res := range rep.Results {
			for _, m := range res.ModifiedFindings {
				if isVEXSuppression(m) {
					continue // judged with this machine's VEX documents (CarriedVEX)
				}
				id := suppressedRuleID(m)
				exp, ok := mine[id]
				if id != "" && ok && (exp.IsZero() || now.Before(exp)) {
					continue
				}
				if id == "" {
					id = "a " + m.Type + " finding"
				}
				why := "this machine configures no ignorefile"
				if o.IgnoreFile != "" {
					why = "this machine's ignorefile " + o.IgnoreFile + " does not (or no longer does)"
				}
				out = append(out, fmt.Sprintf("its scan of %s suppressed %s (by %s, status %q), %s", s.Digest, id, orUnnamed(m.Source), m.Status, why))
			}
		}
	}
	return out, nil
}

// suppressedRuleID is the ID an ignore file names to suppress m: the CVE
// (or other advisory) ID, the secret rule ID, the misconfiguration ID.
func suppressedRuleID(m trivyModified) string {
	var f struct {
		VulnerabilityID string `json:"VulnerabilityID"`
		RuleID          string `json:"RuleID"`
		ID              string `json:"ID"`
		AVDID           string `json:"AVDID"`
	}
	if json.Unmarshal(m.Finding, &f) != nil {
		return ""
	}
	switch m.Type {
	case "vulnerability":
		return f.VulnerabilityID
	case "secret":
		return f.RuleID
	case "misconfiguration":
		return firstNonEmpty(f.ID, f.AVDID)
	}
	return ""
}

// ReadIgnoreIDs reads the IDs a trivy ignore file suppresses, with the
// expiry of each (zero: none): a .trivyignore (one ID per line, "#"
// comments, an optional "exp:YYYY-MM-DD") or a .trivyignore.yaml
// (vulnerabilities, secrets, misconfigurations, licenses: id, expired_at).
// Only IDs are read: an entry limited to some paths or purls counts for
// its ID everywhere, which is what the signer compares.
func ReadIgnoreIDs(path string) (map[string]time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ignorefile %s cannot be read: %v", path, unwrapPath(err))
	}
	out := map[string]time.Time{}
	if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
		var doc map[string][]struct {
			ID        string `yaml:"id"`
			ExpiredAt string `yaml:"expired_at"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("ignorefile %s: %v", path, err)
		}
		for _, entries := range doc {
			for _, e := range entries {
				exp, err := parseExpiry(e.ExpiredAt)
				if err != nil {
					return nil, fmt.Errorf("ignorefile %s: id %s: %v", path, e.ID, err)
				}
				out[e.ID] = exp
			}
		}
		return out, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		var exp time.Time
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "exp:"); ok {
				if exp, err = parseExpiry(v); err != nil {
					return nil, fmt.Errorf("%s:%d: %v", path, n, err)
				}
			}
		}
		out[fields[0]] = exp
	}
	return out, nil
}

func parseExpiry(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("expiry %q is not a date (YYYY-MM-DD)", s)
	}
	return t, nil
}

// flagValue finds --name's value in a recorded command line ("--name v" or
// "--name=v"); a bare boolean flag reads as "true".
func flagValue(cmd []string, name string) (string, bool) {
	for i, a := range cmd {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name {
			if i+1 < len(cmd) && !strings.HasPrefix(cmd[i+1], "-") {
				return cmd[i+1], true
			}
			return "true", true
		}
	}
	return "", false
}

func stringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		var out []string
		for _, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// intersect keeps what both lists hold: a scanner counts only when the
// facts and every command line say it ran.
func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func orUnnamed(s string) string {
	if s == "" {
		return "an unnamed source"
	}
	return s
}

// CarriedOptions are the options of spec that judge scans gathered
// elsewhere (Looser): decoded strictly and validated like the check's, but
// without images, since nothing is scanned.
func CarriedOptions(env checks.Env, spec config.CheckSpec) (Options, error) {
	o, err := OptionsFromSpec(env, spec)
	if err != nil {
		return Options{}, err
	}
	o.Images, o.Inputs, o.OCILayouts = []string{"example.invalid/carried"}, nil, nil
	if err := o.Validate(); err != nil {
		return Options{}, config.Errorf(env.ConfigFile, withNode(spec), "check %q: %v", spec.Name, err)
	}
	o.Images = nil
	return o, nil
}
