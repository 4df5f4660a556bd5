package imagescan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
)

// FactUnknownSeverity records the severity UNKNOWN vulnerabilities were
// given, so that findings can be rebuilt from the raw reports.
const FactUnknownSeverity = "unknown_severity"

// Rederive rebuilds an image-scan result from the raw trivy reports its
// scans name (report returns a report by hex sha256) and refuses a result
// that disagrees with them: a finding removed or added, a severity or
// status changed, counts edited, a report of another image. On success the
// result's findings are the rebuilt ones, with no waiver marks (waivers are
// applied again by the caller), and its subjects are those of its scans.
// Results of other types, and results in error or skipped (which the
// policy blocks on anyway), are left alone.
func Rederive(r *checks.Result, report func(sha256 string) ([]byte, bool)) error {
	if r.Type != Type {
		// Renaming the type must not hide a scan from being rebuilt.
		if _, ok := r.Facts[FactScans]; ok {
			return fmt.Errorf("type is %q, but the result records image scans (facts.%s); only an %s result may", r.Type, FactScans, Type)
		}
		return nil
	}
	if r.Status == checks.StatusError || r.Status == checks.StatusSkipped {
		return nil
	}
	scans, err := Scans(*r)
	if err != nil {
		return err
	}
	if len(scans) == 0 {
		return fmt.Errorf("status is %s, but facts.scans lists no scan", r.Status)
	}
	db, err := DB(*r)
	if err != nil {
		return err
	}
	unknown, _ := r.Facts[FactUnknownSeverity].(string)
	if !checks.Severity(unknown).Valid() {
		return fmt.Errorf("facts.%s is %q, not a severity", FactUnknownSeverity, unknown)
	}
	var (
		rebuilt  []checks.Finding
		total    Counts
		subjects []checks.Subject
		last     time.Time
	)
	for i, sf := range scans {
		where := fmt.Sprintf("facts.scans[%d] (%s)", i, sf.Digest)
		data, ok := report(sf.ReportSHA256)
		if !ok {
			return fmt.Errorf("%s: report_sha256 %q names no report in the bundle", where, sf.ReportSHA256)
		}
		rep, err := parseReport(data)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		t := target{Reference: sf.Reference, Source: sf.Source, Name: sf.Name, Digest: sf.Digest, DigestKind: sf.DigestKind, ImageID: sf.ImageID, Platform: sf.Platform}
		if err := tieReport(data, t); err != nil {
			return fmt.Errorf("%s: the report is not of this image: %v", where, err)
		}
		if rep.Metadata.OS == nil && len(rep.Results) == 0 {
			return fmt.Errorf("%s: the report found no operating system and no packages, so nothing was scanned", where)
		}
		if err := osResultPresent(rep); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		fs, counts, _ := findingsOf(rep, t, checks.Severity(unknown))
		if counts != sf.Counts {
			return fmt.Errorf("%s.counts is %+v, but its report counts %+v", where, sf.Counts, counts)
		}
		total = total.Plus(counts)
		rebuilt = append(rebuilt, fs...)
		subjects = append(subjects, sf.Subject())
		if sf.FinishedAt.After(last) {
			last = sf.FinishedAt
		}
	}
	if got, err := factAs[Counts](*r, FactCounts); err != nil || got != total {
		return fmt.Errorf("facts.counts is %+v, but the reports count %+v", got, total)
	}
	// The DB's age is not in trivy's report; it is judged again from the
	// recorded DB and the end of the last scan, so at least the two cannot disagree.
	stale := last.Sub(db.UpdatedAt) > time.Duration(db.MaxAgeHours*float64(time.Hour))
	if stale != db.Stale {
		return fmt.Errorf("facts.db.stale is %v, but a DB updated %s judged at %s with max age %.1fh is stale=%v", db.Stale, db.UpdatedAt.Format(time.RFC3339), last.Format(time.RFC3339), db.MaxAgeHours, stale)
	}
	var staleFinding []checks.Finding
	for _, f := range r.Findings {
		if f.Rule == RuleDBStale {
			staleFinding = append(staleFinding, f)
		}
	}
	if stale && len(staleFinding) != 1 || !stale && len(staleFinding) != 0 {
		return fmt.Errorf("findings hold %d %s finding(s), but the DB is stale=%v", len(staleFinding), RuleDBStale, stale)
	}
	// The SCAN-VEX-* findings are about the VEX documents, not in any
	// report: they are kept as the document says here, and replaced by
	// the signer's own (CarriedVEX).
	var vexFindings, others []checks.Finding
	for _, f := range r.Findings {
		if isVEXRule(f.Rule) {
			vexFindings = append(vexFindings, f)
		} else {
			others = append(others, f)
		}
	}
	want := append(staleFinding, rebuilt...)
	if err := sameFindings(others, want); err != nil {
		return err
	}
	want = append(want, vexFindings...)
	status := checks.StatusPass
	if len(want) > 0 {
		status = checks.StatusFail
	}
	if r.Status != status {
		return fmt.Errorf("status is %s, but the reports hold %d finding(s)", r.Status, len(want))
	}
	for i := range want {
		want[i].WaivedBy = ""
	}
	r.Findings, r.Subjects = want, subjects
	return nil
}

// sameFindings compares findings by what the policy judges: ID, rule and
// severity.
func sameFindings(doc, want []checks.Finding) error {
	key := func(f checks.Finding) string { return f.ID + " (" + f.Rule + ", " + string(f.Severity) + ")" }
	var a, b []string
	for _, f := range doc {
		a = append(a, key(f))
	}
	for _, f := range want {
		b = append(b, key(f))
	}
	slices.Sort(a)
	slices.Sort(b)
	for _, k := range b {
		if i, ok := slices.BinarySearch(a, k); ok {
			a = slices.Delete(a, i, i+1)
			continue
		}
		return fmt.Errorf("findings lack %s, which the reports hold", k)
	}
	if len(a) > 0 {
		return fmt.Errorf("findings hold %s, which no report holds", strings.Join(a, ", "))
	}
	return nil
}

// osResultPresent refuses a report that names an operating system but holds
// no result for its packages. trivy always writes that result when it
// detects an OS, even with no vulnerability in it; a report without one had
// its results cut out after the scan. (A careful forger who removes only the
// vulnerabilities is not caught here: the bundle is tamper-evident, not
// authenticated; see docs/attestation.md.)
func osResultPresent(rep *trivyReport) error {
	if rep.Metadata.OS == nil {
		return nil
	}
	for _, r := range rep.Results {
		if r.Class == "os-pkgs" {
			return nil
		}
	}
	return errors.New("the report names an operating system but holds no result for its packages, which trivy always writes; its results were edited")
}
