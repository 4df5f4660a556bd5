package imagescan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
)

// Rule IDs.
const (
	RuleSecret    = "SCAN-SECRET"
	RuleMisconfig = "SCAN-MISCONFIG"
	RuleDBStale   = "SCAN-DB-STALE"
)

// VulnRule is the rule of a vulnerability of trivy severity sev:
// SCAN-CRITICAL-VULN … SCAN-UNKNOWN-VULN.
func VulnRule(sev string) string {
	return "SCAN-" + normSeverity(sev) + "-VULN"
}

// normSeverity is trivy's severity in upper case; anything unexpected is
// UNKNOWN.
func normSeverity(sev string) string {
	switch s := strings.ToUpper(strings.TrimSpace(sev)); s {
	case "CRITICAL", "HIGH", "MEDIUM", "LOW":
		return s
	default:
		return "UNKNOWN"
	}
}

// severityOf maps trivy's severity onto ours. UNKNOWN (not rated by any
// source yet) becomes unknownAs, medium by default: visible as a warning,
// blocking only when the check's block_on or unknown_severity says so.
func severityOf(sev string, unknownAs checks.Severity) checks.Severity {
	switch normSeverity(sev) {
	case "CRITICAL":
		return checks.SeverityCritical
	case "HIGH":
		return checks.SeverityHigh
	case "MEDIUM":
		return checks.SeverityMedium
	case "LOW":
		return checks.SeverityLow
	default:
		return unknownAs
	}
}

// findingsOf turns one trivy report of target t into findings, and lists
// what the ignorefile suppressed.
func findingsOf(rep *trivyReport, t target, unknownAs checks.Severity) ([]checks.Finding, Counts, []Suppressed) {
	b := findingBuilder{t: t, unknownAs: unknownAs, seen: map[string]bool{}, exact: map[string]bool{}}
	var counts Counts
	var suppressed []Suppressed
	for _, res := range rep.Results {
		for _, v := range res.Vulnerabilities {
			if b.vuln(v) {
				counts.Add(normSeverity(v.Severity))
			}
		}
		for _, s := range res.Secrets {
			b.secret(res.Target, s)
		}
		for _, m := range res.Misconfigurations {
			b.misconf(m)
		}
		for _, m := range res.ModifiedFindings {
			if id := suppressedID(m, res.Target, t); id != "" {
				suppressed = append(suppressed, Suppressed{Finding: id, Source: m.Source, Statement: m.Statement})
			}
		}
	}
	sortFindings(b.out)
	sort.Slice(suppressed, func(i, j int) bool { return suppressed[i].Finding < suppressed[j].Finding })
	return b.out, counts, suppressed
}

func sortFindings(fs []checks.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if a, b := fs[i].Severity.Rank(), fs[j].Severity.Rank(); a != b {
			return a < b
		}
		return fs[i].ID < fs[j].ID
	})
}

type findingBuilder struct {
	t         target
	unknownAs checks.Severity
	seen      map[string]bool
	exact     map[string]bool
	out       []checks.Finding
}

// unique makes id unique within the scan: a second package of the same
// name (two copies of a library at different paths) gets its path or
// version appended, so that each finding stays separately waivable.
func (b *findingBuilder) unique(id string, qualifiers ...string) (string, bool) {
	if !b.seen[id] {
		b.seen[id] = true
		return id, true
	}
	for _, q := range qualifiers {
		if q == "" {
			continue
		}
		if alt := id + "/" + q; !b.seen[alt] {
			b.seen[alt] = true
			return alt, true
		}
	}
	return "", false // an exact duplicate of a finding already reported
}

func vulnID(v trivyVuln, t target) string {
	return fmt.Sprintf("%s/%s/%s/%s", VulnRule(v.Severity), v.VulnerabilityID, v.PkgName, shortDigest(t.Digest))
}

func (b *findingBuilder) vuln(v trivyVuln) bool {
	base := vulnID(v, b.t)
	if key := base + "\x00" + v.PkgPath + "\x00" + v.InstalledVersion; b.exact[key] {
		return false // trivy reported the same package twice
	} else {
		b.exact[key] = true
	}
	id, ok := b.unique(base, v.PkgPath, v.InstalledVersion)
	for n := 2; !ok; n++ {
		// A distinct package instance whose path and version alone are
		// both taken (a/v1, a/v2, b/v2, a/v3, b/v3): number it rather
		// than drop a vulnerability.
		id, ok = b.unique(fmt.Sprintf("%s/%s@%s#%d", base, v.PkgPath, v.InstalledVersion, n))
	}
	sev := normSeverity(v.Severity)
	where := b.t.where()
	msg := fmt.Sprintf("%s %s has %s (%s)", v.PkgName, v.InstalledVersion, v.VulnerabilityID, sev)
	if v.FixedVersion != "" {
		msg += ", fixed in " + v.FixedVersion
	} else {
		msg += ", no fix yet"
	}
	if v.Title != "" {
		msg += ": " + shorten(v.Title, 160)
	}
	msg += " [" + where + "]"
	var rem string
	if v.FixedVersion != "" {
		rem = fmt.Sprintf("Upgrade %s to %s or later (rebuild the image on a patched base) and scan the new digest; or waive %s with a reason, owner and expiry.", v.PkgName, v.FixedVersion, id)
	} else {
		status := v.Status
		if status == "" {
			status = "affected"
		}
		rem = fmt.Sprintf("No fixed version of %s is published (status: %s); remove or replace the package, or waive %s with a reason, owner and expiry until a fix ships.", v.PkgName, status, id)
	}
	props := map[string]any{
		"cve":               v.VulnerabilityID,
		"title":             v.Title,
		"primary_url":       v.PrimaryURL,
		"package":           v.PkgName,
		"installed_version": v.InstalledVersion,
		"fixed_version":     v.FixedVersion,
		"status":            v.Status,
		"trivy_severity":    sev,
		"image":             b.t.Name,
		"digest":            b.t.Digest,
	}
	if b.t.Platform != "" {
		props["platform"] = b.t.Platform
	}
	if v.PkgPath != "" {
		props["package_path"] = v.PkgPath
	}
	if v.SeveritySource != "" {
		props["severity_source"] = v.SeveritySource
	}
	b.out = append(b.out, checks.Finding{
		Rule: VulnRule(sev), ID: id, Severity: severityOf(sev, b.unknownAs),
		Message: msg, Remediation: rem, Properties: props,
	})
	return true
}

func secretLoc(file string, s trivySecret) string {
	if s.StartLine > 0 {
		return fmt.Sprintf("%s:%d", file, s.StartLine)
	}
	return file
}

func secretID(file string, s trivySecret, t target) string {
	return fmt.Sprintf("%s/%s/%s/%s", RuleSecret, s.RuleID, strings.TrimPrefix(secretLoc(file, s), "/"), shortDigest(t.Digest))
}

func (b *findingBuilder) secret(file string, s trivySecret) {
	loc := secretLoc(file, s)
	id, ok := b.unique(secretID(file, s, b.t))
	if !ok {
		return
	}
	title := s.Title
	if title == "" {
		title = s.RuleID
	}
	b.out = append(b.out, checks.Finding{
		Rule: RuleSecret, ID: id, Severity: severityOf(s.Severity, b.unknownAs),
		Message:     fmt.Sprintf("%s in %s [%s]", title, loc, b.t.where()),
		Remediation: "Remove the secret from the image and its build context, rotate it, and rebuild; pass secrets at build or run time instead.",
		Properties: map[string]any{
			"secret_rule": s.RuleID, "category": s.Category, "title": title,
			"file": file, "line": s.StartLine, "trivy_severity": normSeverity(s.Severity),
			"image": b.t.Name, "digest": b.t.Digest, "platform": b.t.Platform,
		},
	})
}

func (b *findingBuilder) misconf(m trivyMisconf) {
	if m.Status != "" && m.Status != "FAIL" {
		return
	}
	check := m.ID
	if check == "" {
		check = m.AVDID
	}
	id, ok := b.unique(fmt.Sprintf("%s/%s/%s", RuleMisconfig, check, shortDigest(b.t.Digest)), m.Message)
	if !ok {
		return
	}
	msg := m.Title
	if m.Message != "" {
		msg += ": " + m.Message
	}
	rem := m.Resolution
	if rem == "" {
		rem = "Fix the image configuration and rebuild."
	}
	b.out = append(b.out, checks.Finding{
		Rule: RuleMisconfig, ID: id, Severity: severityOf(m.Severity, b.unknownAs),
		Message:     fmt.Sprintf("%s (%s) [%s]", shorten(msg, 200), check, b.t.where()),
		Remediation: rem,
		Properties: map[string]any{
			"check_id": check, "title": m.Title, "primary_url": m.PrimaryURL,
			"trivy_severity": normSeverity(m.Severity),
			"image":          b.t.Name, "digest": b.t.Digest, "platform": b.t.Platform,
		},
	})
}

// where names the image in a message by digest and platform only (the
// reference is in the facts), so messages are stable across registries.
func (t target) where() string {
	s := "image " + shortDigest(t.Digest)
	if t.Platform != "" {
		s += " " + t.Platform
	}
	return s
}

// suppressedID is the finding ID a suppressed finding would have had.
func suppressedID(m trivyModified, file string, t target) string {
	switch m.Type {
	case "vulnerability":
		var v trivyVuln
		if json.Unmarshal(m.Finding, &v) != nil || v.VulnerabilityID == "" {
			return ""
		}
		return vulnID(v, t)
	case "secret":
		var s trivySecret
		if json.Unmarshal(m.Finding, &s) != nil {
			return ""
		}
		return secretID(file, s, t)
	case "misconfiguration":
		var mc trivyMisconf
		if json.Unmarshal(m.Finding, &mc) != nil {
			return ""
		}
		return fmt.Sprintf("%s/%s/%s", RuleMisconfig, mc.ID, shortDigest(t.Digest))
	}
	return ""
}
