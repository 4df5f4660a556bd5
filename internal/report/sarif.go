package report

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

const infoURI = "https://github.com/readiness-dev/readiness"

// securitySeverity maps our severities onto the CVSS-like scores GitHub code
// scanning reads from the "security-severity" property.
var securitySeverity = map[checks.Severity]string{
	checks.SeverityCritical: "9.5", checks.SeverityHigh: "8.0", checks.SeverityMedium: "5.5",
	checks.SeverityLow: "2.0", checks.SeverityInfo: "0.0",
}

func sarifLevel(s checks.Severity) string {
	switch s {
	case checks.SeverityCritical, checks.SeverityHigh:
		return "error"
	case checks.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// sarifRuleID is the rule a result belongs to: one rule per CVE for
// vulnerability findings, so code scanning groups alerts by CVE; otherwise
// the finding's rule.
func sarifRuleID(f *checks.Finding) string {
	if cve, ok := f.Properties["cve"].(string); ok && cve != "" {
		return cve
	}
	return f.Rule
}

// writeSARIF renders SARIF 2.1.0, one result per finding. Waived findings
// carry an accepted external suppression with the waiver as justification;
// so does each finding a VEX statement suppressed, with the statement's
// status and justification.
func writeSARIF(w io.Writer, doc *evidence.Document, opts Options) error {
	rep := sarif.NewReport()
	run := sarif.NewRunWithInformationURI("readiness", infoURI)
	run.Tool.Driver.WithVersion(doc.Tool.Version)
	blocking := map[string]bool{}
	for _, m := range doc.Verdict.Deny {
		blocking[m.Check+"\x00"+m.Finding] = true
	}
	rules := map[string]bool{}
	loc := newLocator(doc)
	// A finding that is one place of a cause found in several stays its
	// own result (code scanning wants one location per result), linked to
	// the others: the same cause fingerprint, the other places as related
	// locations.
	causeOf := map[string]cause{}
	all := causes(doc, opts.Rules)
	tr := newTrend(doc, all, opts)
	for _, c := range all {
		for _, m := range c.Members {
			if m.Finding != nil && len(c.Places) > 1 {
				causeOf[m.Check+"\x00"+m.Finding.ID] = c
			}
		}
	}
	for _, r := range doc.Checks {
		for i := range r.Findings {
			f := &r.Findings[i]
			id := sarifRuleID(f)
			if !rules[id] {
				rules[id] = true
				addRule(run, id, f, opts.Rules)
			}
			msg := f.Message
			if f.Remediation != "" {
				msg += "\nFix: " + f.Remediation
			}
			res := run.CreateResultForRule(id).
				WithLevel(sarifLevel(f.Severity)).
				WithMessage(sarif.NewTextMessage(msg))
			// A finding without a location points at its check's entry in
			// the config.
			p := loc.of(blocker{Message: evidence.Message{Check: r.Check}, Finding: f})
			path, line := p.Path, max(1, p.Line)
			region := sarif.NewRegion().WithStartLine(line)
			if f.Location != nil && f.Location.Column > 0 {
				region.WithStartColumn(f.Location.Column)
			}
			res.AddLocation(sarif.NewLocationWithPhysicalLocation(
				sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(filepath.ToSlash(path))).WithRegion(region)))
			prints := map[string]string{"readinessFindingId/v1": r.Check + ":" + f.ID}
			if c, ok := causeOf[r.Check+"\x00"+f.ID]; ok {
				prints["readinessCauseId/v1"] = c.Rule + ":" + c.Places[0].place.String()
				for i, o := range c.Places {
					if o.place == p {
						continue
					}
					res.AddRelatedLocation(sarif.NewLocation().WithID(i + 1).
						WithPhysicalLocation(sarif.NewPhysicalLocation().
							WithArtifactLocation(sarif.NewSimpleArtifactLocation(filepath.ToSlash(o.Path))).
							WithRegion(sarif.NewRegion().WithStartLine(max(1, o.Line)))).
						WithMessage(sarif.NewTextMessage("same cause: " + o.String())))
				}
			}
			res.WithPartialFingerprints(prints)
			props := sarif.NewPropertyBag().
				Add("check", r.Check).
				Add("rule", f.Rule).
				Add("severity", string(f.Severity)).
				Add("blocking", blocking[r.Check+"\x00"+f.ID])
			if st := tr.member(blocker{Message: evidence.Message{Check: r.Check, Rule: f.Rule, Finding: f.ID}, Finding: f}); st != "" && blocking[r.Check+"\x00"+f.ID] {
				props.Add("trend", machine(st))
			}
			res.WithProperties(props)
			if f.WaivedBy != "" {
				res.WithSuppressions([]*sarif.Suppression{sarif.NewSuppression().WithKind("external").WithStatus("accepted").WithJustification(waiverNote(doc, f.WaivedBy))})
			}
		}
	}
	addVEXResults(run, doc, opts, rules)
	addVerdictResults(run, doc, opts, rules, tr)
	// Each gate's judged status, so that a tool reading the run sees the
	// same pass/warn/fail as every other format.
	gates := map[string]string{}
	for _, g := range doc.Gates() {
		gates[g.Name] = g.Status
	}
	inv := sarif.NewPropertyBag().Add("verdict", doc.Verdict.Decision).Add("summary", VerdictLine(doc)).Add("gates", gates)
	if tr != nil {
		// The earlier run's blockers now fixed have no result to carry
		// them (nothing is wrong any more): the run says what they were.
		fixed := []string{}
		for _, f := range tr.Fixed {
			fixed = append(fixed, "["+f.Severity+"] "+f.Title)
		}
		inv.Add("since", map[string]any{"run": tr.Since, "new": tr.New, "still_open": tr.Open, "fixed": fixed})
	}
	run.AddInvocation(sarif.NewInvocation().
		WithExecutionSuccessful(doc.Verdict.PolicyError == "").
		WithProperties(inv))
	rep.AddRun(run)
	return rep.PrettyWrite(w)
}

// addVEXResults gives every finding a VEX statement suppressed a result of
// its own, as a waived finding has: its rule (the CVE, like the finding's),
// located at its check's entry in the config, with an accepted external
// suppression whose justification is the statement's status and
// justification and the document that made it.
func addVEXResults(run *sarif.Run, doc *evidence.Document, opts Options, rules map[string]bool) {
	loc := newLocator(doc)
	for _, x := range evidence.VEXSuppressed(doc) {
		rule := ruleOfID(x.Finding)
		id := rule
		parts := strings.Split(x.Finding, "/")
		if strings.HasSuffix(rule, "-VULN") && len(parts) > 1 {
			id = parts[1] // the CVE
		}
		// The rule's severity from the table, else from a vulnerability
		// rule's name (SCAN-CRITICAL-VULN).
		sev := checks.Severity(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(rule, "SCAN-"), "-VULN")))
		if r, ok := opts.Rules[rule]; ok && r.Severity.Valid() {
			sev = r.Severity
		} else if !sev.Valid() {
			sev = checks.SeverityMedium
		}
		msg := vexWhat(x) + " suppressed by VEX: " + vexNote(doc, x)
		if !rules[id] {
			rules[id] = true
			addRule(run, id, &checks.Finding{Rule: rule, Severity: sev, Message: msg}, opts.Rules)
		}
		p := loc.of(blocker{Message: evidence.Message{Check: x.Check}, Finding: &checks.Finding{ID: x.Finding, Rule: rule}})
		res := run.CreateResultForRule(id).WithLevel(sarifLevel(sev)).WithMessage(sarif.NewTextMessage(msg))
		res.AddLocation(sarif.NewLocationWithPhysicalLocation(
			sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(filepath.ToSlash(p.Path))).WithRegion(sarif.NewRegion().WithStartLine(max(1, p.Line)))))
		res.WithPartialFingerprints(map[string]string{"readinessFindingId/v1": x.Check + ":" + x.Finding})
		res.WithProperties(sarif.NewPropertyBag().Add("check", x.Check).Add("rule", rule).Add("severity", string(sev)).Add("blocking", false).Add("vex", map[string]any{
			"status": x.Status, "justification": x.Statement, "document": relPath(doc, x.Source), "package": x.Package,
		}))
		res.WithSuppressions([]*sarif.Suppression{sarif.NewSuppression().WithKind("external").WithStatus("accepted").WithJustification("VEX " + vexNote(doc, x))})
	}
}

// addVerdictResults gives every blocking message that is not about a
// finding its own result (an expired waiver, a check that errored or did
// not run, a custom policy rule), located at the config or policy line that
// caused it, so that code scanning shows why the run is NO-GO.
func addVerdictResults(run *sarif.Run, doc *evidence.Document, opts Options, rules map[string]bool, tr *trend) {
	loc := newLocator(doc)
	for _, b := range blockers(doc) {
		if b.Finding != nil {
			continue // already a result of its own
		}
		id := orDefault(b.Rule, "POLICY-DENY")
		if !rules[id] {
			rules[id] = true
			sev := checks.Severity(orDefault(b.Severity, "critical"))
			if !sev.Valid() {
				sev = checks.SeverityCritical
			}
			addRule(run, id, &checks.Finding{Rule: id, Severity: sev, Message: b.Msg}, opts.Rules)
		}
		msg := b.Msg
		if rem := remediation(b, opts.Rules); rem != "" {
			msg += "\nFix: " + strings.TrimSpace(rem)
		}
		p := loc.of(b)
		res := run.CreateResultForRule(id).WithLevel("error").WithMessage(sarif.NewTextMessage(msg))
		res.AddLocation(sarif.NewLocationWithPhysicalLocation(
			sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(filepath.ToSlash(p.Path))).WithRegion(sarif.NewRegion().WithStartLine(max(1, p.Line)))))
		res.WithPartialFingerprints(map[string]string{"readinessVerdictId/v1": b.Check + ":" + id + ":" + b.Message.Finding})
		props := sarif.NewPropertyBag().Add("rule", id).Add("severity", orDefault(b.Severity, "critical")).Add("blocking", true)
		if b.Check != "" {
			props.Add("check", b.Check)
		}
		if st := tr.member(b); st != "" {
			props.Add("trend", machine(st))
		}
		res.WithProperties(props)
	}
}

func addRule(run *sarif.Run, id string, f *checks.Finding, docs map[string]checks.Rule) {
	rule := run.AddRule(id)
	props := sarif.NewPropertyBag().Add("security-severity", securitySeverity[f.Severity]).WithTags([]string{"security", "release-readiness"})
	if d, ok := docs[id]; ok {
		rule.WithName(ruleName(id)).
			WithShortDescription(text(d.Title)).
			WithFullDescription(text(strings.TrimSpace(d.Description))).
			WithHelp(text(strings.TrimSpace(d.Remediation)).WithMarkdown(strings.TrimSpace(d.Description) + "\n\n**Remediation:** " + strings.TrimSpace(d.Remediation)))
	} else {
		title, _ := f.Properties["title"].(string)
		if title == "" {
			title = f.Message
		}
		help := f.Remediation
		if help == "" {
			help = f.Message
		}
		rule.WithName(ruleName(id)).
			WithShortDescription(text(truncate(oneLine(title), 200))).
			WithFullDescription(text(f.Message)).
			WithHelp(text(help))
		if u, ok := f.Properties["primary_url"].(string); ok && u != "" {
			rule.WithHelpURI(u)
		}
	}
	rule.WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(f.Severity)))
	rule.WithProperties(props)
}

func text(s string) *sarif.MultiformatMessageString {
	return sarif.NewMultiformatMessageString().WithText(s)
}

// ruleName turns KEY-EXPIRED into KeyExpired, the PascalCase SARIF suggests.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + strings.ToLower(part[1:]))
	}
	return b.String()
}

// relPath makes paths repository-relative, as code scanning expects.
func relPath(doc *evidence.Document, p string) string {
	if doc.Repository != nil && doc.Repository.Root != "" && filepath.IsAbs(p) {
		if rel, err := filepath.Rel(doc.Repository.Root, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}
