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

// book is the gate's rules table, the source of every finding's severity.
var book = checks.NewRuleBook(rulesYAML)

// vulnCase is the case of a vulnerability's rule: none where trivy rated
// it (its rule, SCAN-HIGH-VULN…, is the rating); for one rated UNKNOWN (by
// no source yet), the check's unknown_severity, medium by default: visible
// as a warning, blocking only when block_on or unknown_severity says so.
func vulnCase(sev string, unknownAs checks.Severity) string {
	if normSeverity(sev) != "UNKNOWN" {
		return ""
	}
	return unknownCase(unknownAs)
}

// ratedCase is the case of a secret or misconfiguration, whose rule is
// graded by the severity trivy gives it ("trivy-high"), or for UNKNOWN by
// the check's unknown_severity.
func ratedCase(sev string, unknownAs checks.Severity) string {
	if s := normSeverity(sev); s != "UNKNOWN" {
		return "trivy-" + strings.ToLower(s)
	}
	return unknownCase(unknownAs)
}

func unknownCase(unknownAs checks.Severity) string {
	return "unknown-severity-" + string(unknownAs)
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
				suppressed = append(suppressed, suppressedOf(m, id, m.Source))
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

// unique makes the finding of rule about subject unique within the scan:
// a second package of the same name (two copies of a library at different
// paths) gets its path or version appended, so that each finding stays
// separately waivable. It returns the subject to use.
func (b *findingBuilder) unique(rule, subject string, qualifiers ...string) (string, bool) {
	if id := rule + "/" + subject; !b.seen[id] {
		b.seen[id] = true
		return subject, true
	}
	for _, q := range qualifiers {
		if q == "" {
			continue
		}
		if alt := subject + "/" + q; !b.seen[rule+"/"+alt] {
			b.seen[rule+"/"+alt] = true
			return alt, true
		}
	}
	return "", false // an exact duplicate of a finding already reported
}

// vulnSubject is what a vulnerability's finding is about: the CVE, the
// package and the image.
func vulnSubject(v trivyVuln, t target) string {
	return fmt.Sprintf("%s/%s/%s", v.VulnerabilityID, v.PkgName, shortDigest(t.Digest))
}

func vulnID(v trivyVuln, t target) string {
	return VulnRule(v.Severity) + "/" + vulnSubject(v, t)
}

func (b *findingBuilder) vuln(v trivyVuln) bool {
	sev := normSeverity(v.Severity)
	rule, base := VulnRule(sev), vulnSubject(v, b.t)
	if key := rule + "/" + base + "\x00" + v.PkgPath + "\x00" + v.InstalledVersion; b.exact[key] {
		return false // trivy reported the same package twice
	} else {
		b.exact[key] = true
	}
	subject, ok := b.unique(rule, base, v.PkgPath, v.InstalledVersion)
	for n := 2; !ok; n++ {
		// A distinct package instance whose path and version alone are
		// both taken (a/v1, a/v2, b/v2, a/v3, b/v3): number it rather
		// than drop a vulnerability.
		subject, ok = b.unique(rule, fmt.Sprintf("%s/%s@%s#%d", base, v.PkgPath, v.InstalledVersion, n))
	}
	id := rule + "/" + subject
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
	f := book.Case(rule, vulnCase(sev, b.unknownAs), subject, msg, nil)
	f.Remediation = rem // the table's advice, made specific to this package
	b.out = append(b.out, f.With(props))
	return true
}

func secretLoc(file string, s trivySecret) string {
	if s.StartLine > 0 {
		return fmt.Sprintf("%s:%d", file, s.StartLine)
	}
	return file
}

func secretSubject(file string, s trivySecret, t target) string {
	return fmt.Sprintf("%s/%s/%s", s.RuleID, strings.TrimPrefix(secretLoc(file, s), "/"), shortDigest(t.Digest))
}

func (b *findingBuilder) secret(file string, s trivySecret) {
	loc := secretLoc(file, s)
	subject, ok := b.unique(RuleSecret, secretSubject(file, s, b.t))
	if !ok {
		return
	}
	title := s.Title
	if title == "" {
		title = s.RuleID
	}
	f := book.Case(RuleSecret, ratedCase(s.Severity, b.unknownAs), subject, fmt.Sprintf("%s in %s [%s]", title, loc, b.t.where()), nil)
	// The finding has always carried this shorter advice than the table's.
	f.Remediation = "Remove the secret from the image and its build context, rotate it, and rebuild; pass secrets at build or run time instead."
	b.out = append(b.out, f.With(map[string]any{
		"secret_rule": s.RuleID, "category": s.Category, "title": title,
		"file": file, "line": s.StartLine, "trivy_severity": normSeverity(s.Severity),
		"image": b.t.Name, "digest": b.t.Digest, "platform": b.t.Platform,
	}))
}

func (b *findingBuilder) misconf(m trivyMisconf) {
	if m.Status != "" && m.Status != "FAIL" {
		return
	}
	check := m.ID
	if check == "" {
		check = m.AVDID
	}
	subject, ok := b.unique(RuleMisconfig, fmt.Sprintf("%s/%s", check, shortDigest(b.t.Digest)), m.Message)
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
	f := book.Case(RuleMisconfig, ratedCase(m.Severity, b.unknownAs), subject, fmt.Sprintf("%s (%s) [%s]", shorten(msg, 200), check, b.t.where()), nil)
	f.Remediation = rem // trivy's resolution for this check
	b.out = append(b.out, f.With(map[string]any{
		"check_id": check, "title": m.Title, "primary_url": m.PrimaryURL,
		"trivy_severity": normSeverity(m.Severity),
		"image":          b.t.Name, "digest": b.t.Digest, "platform": b.t.Platform,
	}))
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
		return RuleSecret + "/" + secretSubject(file, s, t)
	case "misconfiguration":
		var mc trivyMisconf
		if json.Unmarshal(m.Finding, &mc) != nil {
			return ""
		}
		return fmt.Sprintf("%s/%s/%s", RuleMisconfig, mc.ID, shortDigest(t.Digest))
	}
	return ""
}

// suppressedOf records m, suppressed by source, as finding id.
func suppressedOf(m trivyModified, id, source string) Suppressed {
	s := Suppressed{Finding: id, Source: source, Statement: m.Statement, Status: m.Status}
	if m.Type == "vulnerability" {
		var v trivyVuln
		if json.Unmarshal(m.Finding, &v) == nil {
			s.Package = v.PkgName
		}
	}
	return s
}
