package imagescan

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// isVEXSuppression tells a VEX suppression from an ignorefile's: trivy
// marks what an ignorefile suppressed "ignored", and applies VEX to
// vulnerabilities only. Whatever else a report claims is judged as VEX.
func isVEXSuppression(m trivyModified) bool {
	return m.Type == "vulnerability" && m.Status != evidence.StatusIgnored
}

// CarriedVEX judges the VEX suppressions of a carried image-scan result,
// already re-derived from its reports (Rederive), with this machine's own
// vex: documents, each taken from the bundle by its pin (blob returns a
// bundle's blob by hex sha256; a path without a pin is pinned by this
// machine's own file). It never fetches a URL.
//
// It returns one sentence for each reason to refuse: a document of this
// machine's not carried byte-identical, a suppression the scans' reports
// claim that none of these documents makes for that image exactly as the
// live run would (same vulnerability, package and status). When there is
// none, it rewrites r with what this machine derived: each scan's
// suppressed list, facts.vex, the SCAN-VEX-* findings, and the status.
func (o Options) CarriedVEX(r *checks.Result, blob func(string) ([]byte, bool)) ([]string, error) {
	scans, err := Scans(*r)
	if err != nil {
		return nil, err
	}
	rec, err := evidence.ImageScans(*r)
	if err != nil {
		return nil, err
	}
	docs, fs, out, err := o.carriedDocs(blob, rec.VEX)
	if err != nil {
		return nil, err
	}
	for i := range scans {
		s := &scans[i]
		t := target{Reference: s.Reference, Source: s.Source, Name: s.Name, Digest: s.Digest, DigestKind: s.DigestKind, ImageID: s.ImageID, Platform: s.Platform}
		data, ok := blob(s.ReportSHA256)
		if !ok {
			return nil, fmt.Errorf("facts.scans[%d]: report_sha256 %q names no report in the bundle", i, s.ReportSHA256)
		}
		rep, err := parseReport(data)
		if err != nil {
			return nil, fmt.Errorf("facts.scans[%d]: %v", i, err)
		}
		filtered, err := filteredVEX(docs, t)
		if err != nil {
			return nil, err
		}
		supp, refusals := judgeSuppressions(rep, t, docs, filtered, unpinned(rec.VEX, docs))
		out = append(out, refusals...)
		s.Suppressed = supp
	}
	if len(out) > 0 {
		return out, nil
	}
	facts := make([]VEXFact, 0, len(docs))
	for _, d := range docs {
		d.fact.Suppressed = []Suppressed{}
		for _, s := range scans {
			for _, sp := range s.Suppressed {
				if sp.Source == d.fact.Source {
					d.fact.Suppressed = append(d.fact.Suppressed, sp)
				}
			}
		}
		facts = append(facts, d.fact)
	}
	r.Facts[FactScans] = scans
	delete(r.Facts, FactVEX)
	if len(facts) > 0 {
		r.Facts[FactVEX] = facts
	}
	r.Findings = slices.DeleteFunc(r.Findings, func(f checks.Finding) bool { return isVEXRule(f.Rule) })
	r.Findings = append(r.Findings, fs...)
	r.Findings = append(r.Findings, otherProductFindings(docs)...)
	r.Status = checks.StatusPass
	if len(r.Findings) > 0 {
		r.Status = checks.StatusFail
	}
	// The summary every report shows names the suppressions: this
	// machine's, not the file's text.
	db, err := DB(*r)
	if err != nil {
		return nil, err
	}
	total, err := factAs[Counts](*r, FactCounts)
	if err != nil {
		return nil, err
	}
	r.Summary = summary(scans, total, db, db.Stale)
	return nil, nil
}

func isVEXRule(rule string) bool {
	return rule == RuleVEXDigest || rule == RuleVEXOtherProduct
}

// carriedDocs reads this machine's vex: documents from the bundle by their
// pins, as the live run would read them (parseVEX). A document not carried
// is a sentence to refuse on; one this machine's own file pins that
// cannot be read is an error.
func (o Options) carriedDocs(blob func(string) ([]byte, bool), carried []evidence.VEXRecord) ([]vexDoc, []checks.Finding, []string, error) {
	var docs []vexDoc
	var fs []checks.Finding
	var out []string
	for _, src := range o.VEX {
		pin := src.SHA256
		if pin == "" {
			f, err := os.Open(src.Path)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("vex: %s cannot be read: %v", src.Path, unwrapPath(err))
			}
			data, err := readLimited(f, src.Path)
			f.Close()
			if err != nil {
				return nil, nil, nil, err
			}
			pin = evidence.SHA256(data)
		}
		data, ok := blob(pin)
		if !ok {
			out = append(out, fmt.Sprintf("this machine's VEX document %s (sha256 %s) is not carried in the bundle (it carries %s), so its suppressions cannot be judged with the same document; scan again with this machine's vex: documents",
				src.name(), pin, carriedList(carried)))
			continue
		}
		d, f := parseVEX(src, data)
		if f != nil {
			fs = append(fs, *f)
		}
		docs = append(docs, d)
	}
	return docs, fs, out, nil
}

func carriedList(carried []evidence.VEXRecord) string {
	if len(carried) == 0 {
		return "no VEX document"
	}
	var l []string
	for _, v := range carried {
		l = append(l, v.Source+" sha256 "+v.SHA256)
	}
	return strings.Join(l, ", ")
}

// unpinned lists the documents the scan applied that this machine's
// configuration does not pin, for the refusal's sentence.
func unpinned(carried []evidence.VEXRecord, docs []vexDoc) string {
	var l []string
	for _, v := range carried {
		if !slices.ContainsFunc(docs, func(d vexDoc) bool { return d.fact.SHA256 == v.SHA256 }) {
			l = append(l, v.Source+" (sha256 "+v.SHA256+")")
		}
	}
	if len(l) == 0 {
		return ""
	}
	return "; the scan applied VEX document " + strings.Join(l, ", ") + ", which this machine's configuration does not pin"
}

// scannedImage stands, in a filtered document, for every product that is
// the scanned image (filterFor kept only those).
const scannedImage = "urn:readiness:scanned-image"

// filteredVEX is, per document, what the live run passed trivy for t, read
// by trivy's own OpenVEX library (nil: nothing about t).
func filteredVEX(docs []vexDoc, t target) ([]*openvex.VEX, error) {
	out := make([]*openvex.VEX, len(docs))
	for i := range docs {
		f := filterFor(&docs[i], t)
		if f == nil {
			continue
		}
		stmts, _ := f["statements"].([]any)
		for j, s := range stmts {
			st := s.(map[string]any)
			cut := make(map[string]any, len(st))
			for k, v := range st {
				cut[k] = v
			}
			var ps []any
			for _, p := range st["products"].([]any) {
				pm, _ := p.(map[string]any)
				cp := make(map[string]any, len(pm))
				for k, v := range pm {
					cp[k] = v
				}
				cp["@id"] = scannedImage
				ps = append(ps, cp)
			}
			cut["products"] = ps
			stmts[j] = cut
		}
		data, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		var v openvex.VEX
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("vex: %s cannot be read as OpenVEX: %v", docs[i].fact.Source, err)
		}
		out[i] = &v
	}
	return out, nil
}

// judgeSuppressions rebuilds one scan's suppressed list from its report:
// an ignorefile's as the report says (Looser judges them), a VEX one only
// when a document makes it for t exactly as trivy would (its latest
// statement for the vulnerability, about t and the package, is
// not_affected or fixed, with the status and justification the report
// records). Each VEX suppression no document makes is a sentence.
func judgeSuppressions(rep *trivyReport, t target, docs []vexDoc, filtered []*openvex.VEX, unpinned string) ([]Suppressed, []string) {
	var supp []Suppressed
	var out []string
	for _, res := range rep.Results {
		for _, m := range res.ModifiedFindings {
			id := suppressedID(m, res.Target, t)
			if !isVEXSuppression(m) {
				if id != "" {
					supp = append(supp, suppressedOf(m, id, m.Source))
				}
				continue
			}
			var v struct {
				VulnerabilityID string `json:"VulnerabilityID"`
				PkgName         string `json:"PkgName"`
				PkgIdentifier   struct {
					PURL string `json:"PURL"`
				} `json:"PkgIdentifier"`
			}
			_ = json.Unmarshal(m.Finding, &v)
			what := fmt.Sprintf("its scan of %s suppressed %s in package %s (status %q, justification %q)", t.Digest, orUnnamed(v.VulnerabilityID), orUnnamed(v.PkgName), m.Status, m.Statement)
			if v.VulnerabilityID == "" || id == "" {
				out = append(out, what+", which names no vulnerability a VEX statement could be about")
				continue
			}
			src, why := vexMakes(docs, filtered, v.VulnerabilityID, v.PkgIdentifier.PURL, m, t)
			if src == "" {
				out = append(out, what+", which no VEX document this machine pins makes: "+why+unpinned)
				continue
			}
			supp = append(supp, suppressedOf(m, id, src))
		}
	}
	sort.Slice(supp, func(i, j int) bool { return supp[i].Finding < supp[j].Finding })
	return supp, out
}

// vexMakes returns the source of the first document that suppresses vuln
// in package purl of t with m's status and justification, or why none
// does.
func vexMakes(docs []vexDoc, filtered []*openvex.VEX, vuln, purl string, m trivyModified, t target) (string, string) {
	if len(docs) == 0 {
		return "", "this machine's configuration lists no vex: document"
	}
	var why []string
	for i, d := range docs {
		name := d.fact.Source
		if filtered[i] == nil {
			why = append(why, fmt.Sprintf("%s has no statement about image %s", name, t.Digest))
			continue
		}
		// trivy's OpenVEX.NotAffected: the statements about the image
		// and the package, the latest one deciding.
		matches := filtered[i].Matches(vuln, scannedImage, []string{purl})
		if len(matches) == 0 {
			why = append(why, fmt.Sprintf("%s has no statement for %s about image %s and this package", name, vuln, t.Digest))
			continue
		}
		st := matches[len(matches)-1]
		status, just := string(st.Status), string(st.Justification)
		switch {
		case st.Status != openvex.StatusNotAffected && st.Status != openvex.StatusFixed:
			why = append(why, fmt.Sprintf("%s's statement for %s about image %s says %s, which suppresses nothing", name, vuln, t.Digest, status))
		case status != m.Status || just != m.Statement:
			why = append(why, fmt.Sprintf("%s's statement for %s about image %s says %s (justification %q), not what the report records", name, vuln, t.Digest, status, just))
		default:
			return name, ""
		}
	}
	return "", strings.Join(why, "; ")
}
