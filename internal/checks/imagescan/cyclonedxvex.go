package imagescan

import (
	"net/url"
	"strings"
)

// trivy v0.74 applies a CycloneDX VEX only to a CycloneDX SBOM it scans
// (pkg/vex/document.go: "CycloneDX VEX can be used with CycloneDX SBOM"),
// matching affects[].ref as a BOM-Link into that SBOM's serial number; an
// image scan given one fails. So readiness translates a CycloneDX VEX into
// the OpenVEX trivy applies to images, with trivy's own reading of it
// (pkg/vex/cyclonedx.go): one statement per vulnerability ID, the last
// entry winning; analysis.state mapped as cdxStatus maps it; the
// justification kept as written. Each affects[].ref becomes a product, and
// the product rule is OpenVEX's: only a ref that resolves to this image by
// digest suppresses anything.

func isCycloneDXVEX(doc map[string]any) bool {
	format, _ := doc["bomFormat"].(string)
	_, ok := doc["vulnerabilities"].([]any)
	return format == "CycloneDX" && ok
}

// cycloneDXToOpenVEX translates a CycloneDX VEX document (sha256 sum)
// into an OpenVEX document.
func cycloneDXToOpenVEX(doc map[string]any, sum string) map[string]any {
	refs := bomRefPURLs(doc)
	var order []string
	last := map[string]map[string]any{}
	vulns, _ := doc["vulnerabilities"].([]any)
	for _, v := range vulns {
		vm, _ := v.(map[string]any)
		id, _ := vm["id"].(string)
		if id == "" {
			continue
		}
		if _, seen := last[id]; !seen {
			order = append(order, id)
		}
		last[id] = vm
	}
	stmts := []any{}
	for _, id := range order {
		vm := last[id]
		analysis, _ := vm["analysis"].(map[string]any)
		state, _ := analysis["state"].(string)
		st := map[string]any{
			"vulnerability": map[string]any{"name": id},
			"status":        cdxStatus(state),
		}
		if j, _ := analysis["justification"].(string); j != "" {
			st["justification"] = j
		}
		products := []any{}
		affects, _ := vm["affects"].([]any)
		for _, a := range affects {
			am, _ := a.(map[string]any)
			ref, _ := am["ref"].(string)
			if ref == "" {
				continue
			}
			products = append(products, map[string]any{"@id": resolveCDXRef(ref, refs)})
		}
		st["products"] = products
		stmts = append(stmts, st)
	}
	return map[string]any{
		"@context":   "https://openvex.dev/ns/v0.2.0",
		"@id":        "urn:readiness:cyclonedx-vex:sha256:" + sum,
		"author":     "readiness (translated from a CycloneDX VEX)",
		"version":    1,
		"statements": stmts,
	}
}

// cdxStatus is trivy's mapping of a CycloneDX analysis state to a VEX
// status; a state that suppresses nothing there suppresses nothing here.
func cdxStatus(state string) string {
	switch state {
	case "resolved", "resolved_with_pedigree":
		return "fixed"
	case "false_positive", "not_affected":
		return "not_affected"
	case "exploitable":
		return "affected"
	default: // in_triage, or no analysis
		return "under_investigation"
	}
}

// bomRefPURLs maps the bom-refs the document itself defines (its
// metadata.component and components, nested ones too) to their purls.
func bomRefPURLs(doc map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(c any)
	walk = func(c any) {
		cm, _ := c.(map[string]any)
		ref, _ := cm["bom-ref"].(string)
		purl, _ := cm["purl"].(string)
		if ref != "" && purl != "" {
			out[ref] = purl
		}
		sub, _ := cm["components"].([]any)
		for _, s := range sub {
			walk(s)
		}
	}
	meta, _ := doc["metadata"].(map[string]any)
	walk(meta["component"])
	comps, _ := doc["components"].([]any)
	for _, c := range comps {
		walk(c)
	}
	return out
}

// resolveCDXRef reads an affects ref as the product it names: a BOM-Link
// (urn:cdx:SERIAL/VERSION#BOM-REF) by its bom-ref, a bom-ref the document
// defines by that component's purl, anything else as written (a purl used
// as the bom-ref, as trivy's own SBOMs do).
func resolveCDXRef(ref string, refs map[string]string) string {
	if rest, ok := strings.CutPrefix(ref, "urn:cdx:"); ok {
		if _, frag, ok := strings.Cut(rest, "#"); ok {
			if u, err := url.PathUnescape(frag); err == nil {
				frag = u
			}
			ref = frag
		}
	}
	if purl, ok := refs[ref]; ok {
		return purl
	}
	return ref
}
