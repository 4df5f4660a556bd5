package imagescan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// carried is a scan result as a bundle carries it (decoded from JSON, its
// blobs by sha256), and the signing machine's options.
type carried struct {
	res    checks.Result
	blobs  map[string][]byte
	signer Options
}

func (c *carried) blob(sum string) ([]byte, bool) {
	b, ok := c.blobs[sum]
	return b, ok
}

// put adds a blob and returns its address.
func (c *carried) put(data []byte) string {
	sum := evidence.SHA256(data)
	c.blobs[sum] = data
	return sum
}

func (c *carried) scan0() map[string]any {
	return c.res.Facts[FactScans].([]any)[0].(map[string]any)
}

// editReport edits the first scan's raw report and, as an attacker would,
// makes the result agree with it again (findings, counts, status), so
// that only the VEX judging stands between it and a signature.
func (c *carried) editReport(t *testing.T, edit func(rep map[string]any)) {
	t.Helper()
	s := c.scan0()
	var rep map[string]any
	if err := json.Unmarshal(c.blobs[s["report_sha256"].(string)], &rep); err != nil {
		t.Fatal(err)
	}
	edit(rep)
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	s["report_sha256"] = c.put(data)
	parsed, err := parseReport(data)
	if err != nil {
		t.Fatal(err)
	}
	tg := target{Digest: s["digest"].(string), DigestKind: s["digest_kind"].(string), Platform: s["platform"].(string)}
	fs, counts, _ := findingsOf(parsed, tg, checks.SeverityMedium)
	s["counts"] = counts
	c.res.Facts[FactCounts] = counts
	c.res.Findings = fs
	c.res.Status = checks.StatusPass
	if len(fs) > 0 {
		c.res.Status = checks.StatusFail
	}
}

// moveToSuppressed moves vulnerability vuln from the report's findings to
// its suppressed ones, with the status and justification given.
func moveToSuppressed(vuln, status, just string) func(map[string]any) {
	return func(rep map[string]any) {
		for _, r := range rep["Results"].([]any) {
			res := r.(map[string]any)
			vs, _ := res["Vulnerabilities"].([]any)
			var keep []any
			for _, v := range vs {
				if v.(map[string]any)["VulnerabilityID"] == vuln {
					mods, _ := res["ExperimentalModifiedFindings"].([]any)
					res["ExperimentalModifiedFindings"] = append(mods, map[string]any{
						"Type": "vulnerability", "Status": status, "Statement": just, "Source": "/tmp/vex.json", "Finding": v,
					})
					continue
				}
				keep = append(keep, v)
			}
			res["Vulnerabilities"] = keep
		}
	}
}

// editSuppressed edits every suppressed finding of the report.
func editSuppressed(edit func(m map[string]any)) func(map[string]any) {
	return func(rep map[string]any) {
		for _, r := range rep["Results"].([]any) {
			mods, _ := r.(map[string]any)["ExperimentalModifiedFindings"].([]any)
			for _, m := range mods {
				edit(m.(map[string]any))
			}
		}
	}
}

// TestCarriedVEXAttacks scans a vulnerable image with the real trivy and a
// VEX document (its critical CVE not_affected in musl, for the image by
// digest), carries the result as a bundle would, and judges it as the
// signer does (Rederive, Looser, CarriedVEX) after each smallest edit a
// holder of the bundle could make. Only the untouched bundle is accepted;
// each edit is refused with a sentence naming what is wrong.
func TestCarriedVEXAttacks(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	ref := reg.Push(t, "team/app:1.0", trivytest.AlpineVulnerable("amd64"))
	digest := ref.DigestStr()
	musl := "pkg:apk/alpine/musl"
	doc := openVEX(trivytest.CVECritical, ociProduct("app", digest, musl))
	dir := t.TempDir()
	docPath := filepath.Join(dir, "app.openvex.json")
	if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	pin := evidence.SHA256([]byte(doc))
	o := offline(t, Options{Images: []string{reg.Host + "/team/app:1.0"}, VEX: []VEXSource{{Path: docPath, SHA256: pin}}})
	live := runJob(t, New(o, Deps{}), 2*time.Minute)
	if live.Status == checks.StatusError {
		t.Fatalf("error: %s", live.Error)
	}
	critical := "SCAN-CRITICAL-VULN/" + trivytest.CVECritical + "/musl/" + shortDigest(digest)
	if s := mustScans(t, live)[0]; len(s.Suppressed) != 1 || s.Suppressed[0].Finding != critical {
		t.Fatalf("the live scan suppressed %+v, want %s", s.Suppressed, critical)
	}
	b, err := evidence.CollectReports(&evidence.Document{Checks: []checks.Result{live}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Reports[pin]; !ok {
		t.Fatalf("the bundle does not carry the VEX document (sha256 %s)", pin)
	}
	encoded, err := json.Marshal(live)
	if err != nil {
		t.Fatal(err)
	}
	signer := Options{Images: []string{"x"}, VEX: []VEXSource{{Path: docPath, SHA256: pin}}}
	if err := signer.Validate(); err != nil {
		t.Fatal(err)
	}
	fresh := func(t *testing.T) *carried {
		c := &carried{blobs: map[string][]byte{}, signer: signer}
		for k, v := range b.Reports {
			c.blobs[k] = v
		}
		if err := json.Unmarshal(encoded, &c.res); err != nil {
			t.Fatal(err)
		}
		return c
	}
	otherDigest := "sha256:" + strings.Repeat("2", 64)
	// signerPins makes the signer pin (and the bundle carry) body instead.
	signerPins := func(body string) func(*testing.T, *carried) {
		return func(t *testing.T, c *carried) {
			sum := c.put([]byte(body))
			c.signer.VEX = []VEXSource{{URL: "https://vex.example/app.json", SHA256: sum}}
		}
	}
	tests := []struct {
		name string
		edit func(t *testing.T, c *carried)
		want string // "" accepted
	}{
		{"as scanned", func(*testing.T, *carried) {}, ""},
		{"the signer pins the document by URL (never fetched)", func(_ *testing.T, c *carried) {
			c.signer.VEX = []VEXSource{{URL: "https://vex.invalid/app.json", SHA256: pin}}
		}, ""},
		{"the signer's repository file, unpinned, is the document", func(_ *testing.T, c *carried) {
			c.signer.VEX = []VEXSource{{Path: docPath}}
		}, ""},
		{"a statement added to the document (for the high CVE)", func(t *testing.T, c *carried) {
			added := strings.Replace(doc, `"statements":[`, `"statements":[{"vulnerability":{"name":"`+trivytest.CVEHigh+`"},"products":[`+ociProduct("app", digest, "")+`],"status":"not_affected","justification":"inline_mitigations_already_exist"},`, 1)
			sum := c.put([]byte(added))
			delete(c.blobs, pin)
			c.res.Facts[FactVEX].([]any)[0].(map[string]any)["sha256"] = sum
			c.editReport(t, moveToSuppressed(trivytest.CVEHigh, "not_affected", "inline_mitigations_already_exist"))
		}, "this machine's VEX document " + docPath + " (sha256 " + pin + ") is not carried in the bundle"},
		{"the document swapped for one about another digest", func(t *testing.T, c *carried) {
			sum := c.put([]byte(openVEX(trivytest.CVECritical, ociProduct("app", otherDigest, musl))))
			delete(c.blobs, pin)
			c.res.Facts[FactVEX].([]any)[0].(map[string]any)["sha256"] = sum
		}, "is not carried in the bundle"},
		{"the document dropped, the suppression kept", func(_ *testing.T, c *carried) {
			delete(c.blobs, pin)
			delete(c.res.Facts, FactVEX)
		}, "(sha256 " + pin + ") is not carried in the bundle (it carries no VEX document)"},
		{"the signer configures no VEX", func(_ *testing.T, c *carried) { c.signer.VEX = nil },
			"which no VEX document this machine pins makes: this machine's configuration lists no vex: document; the scan applied VEX document " + docPath + " (sha256 " + pin + "), which this machine's configuration does not pin"},
		{"the signer pins a document whose statement is for another digest", signerPins(openVEX(trivytest.CVECritical, ociProduct("app", otherDigest, musl))),
			"has no statement about image " + digest},
		{"the signer pins a document whose statement is for the package alone", signerPins(openVEX(trivytest.CVECritical, `{"@id":"`+musl+`"}`)),
			"has no statement about image " + digest},
		{"the signer pins a document that says affected", signerPins(strings.Replace(doc, `"status":"not_affected"`, `"status":"affected"`, 1)),
			"says affected, which suppresses nothing"},
		{"the signer pins a document that says under_investigation", signerPins(strings.Replace(doc, `"status":"not_affected"`, `"status":"under_investigation"`, 1)),
			"says under_investigation, which suppresses nothing"},
		{"the report's suppression says affected", func(t *testing.T, c *carried) {
			c.editReport(t, editSuppressed(func(m map[string]any) { m["Status"] = "affected" }))
		}, `says not_affected (justification "vulnerable_code_not_in_execute_path"), not what the report records`},
		{"the report's suppression says under_investigation", func(t *testing.T, c *carried) {
			c.editReport(t, editSuppressed(func(m map[string]any) { m["Status"] = "under_investigation" }))
		}, "not what the report records"},
		{"the report's suppression has another justification", func(t *testing.T, c *carried) {
			c.editReport(t, editSuppressed(func(m map[string]any) { m["Statement"] = "component_not_present" }))
		}, "not what the report records"},
		{"the report suppresses a finding the document does not mention", func(t *testing.T, c *carried) {
			c.editReport(t, moveToSuppressed(trivytest.CVEHigh, "not_affected", "vulnerable_code_not_in_execute_path"))
		}, "suppressed " + trivytest.CVEHigh + " in package zlib"},
		{"the report moves the suppression to another package", func(t *testing.T, c *carried) {
			c.editReport(t, editSuppressed(func(m map[string]any) {
				f := m["Finding"].(map[string]any)
				f["PkgIdentifier"].(map[string]any)["PURL"] = "pkg:apk/alpine/zlib@1.3.1-r0?arch=x86_64"
			}))
		}, "has no statement for " + trivytest.CVECritical + " about image " + digest + " and this package"},
		{"the report's suppression names no vulnerability", func(t *testing.T, c *carried) {
			c.editReport(t, editSuppressed(func(m map[string]any) { delete(m["Finding"].(map[string]any), "VulnerabilityID") }))
		}, "names no vulnerability"},
		{"the summary edited to hide the suppression (rewritten)", func(_ *testing.T, c *carried) { c.res.Summary = "nothing suppressed" }, ""},
		{"a SCAN-VEX-OTHER-PRODUCT finding forged into the result", func(_ *testing.T, c *carried) {
			c.res.Findings = append(c.res.Findings, checks.Finding{ID: RuleVEXOtherProduct + "/x", Rule: RuleVEXOtherProduct, Severity: checks.SeverityInfo})
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fresh(t)
			tt.edit(t, c)
			got := judgeCarried(t, c)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("judged: %q\nwant: %q", got, tt.want)
			}
			if tt.want != "" {
				return
			}
			scans, err := Scans(c.res)
			if err != nil {
				t.Fatal(err)
			}
			src := c.signer.VEX[0].name()
			want := []Suppressed{{Finding: critical, Package: "musl", Source: src, Status: "not_affected", Statement: "vulnerable_code_not_in_execute_path"}}
			if diff := cmp.Diff(want, scans[0].Suppressed); diff != "" {
				t.Errorf("suppressed (-want +got):\n%s", diff)
			}
			facts, err := factAs[[]VEXFact](c.res, FactVEX)
			if err != nil || len(facts) != 1 || facts[0].Source != src || facts[0].SHA256 != pin || cmp.Diff(want, facts[0].Suppressed) != "" {
				t.Errorf("facts.vex = %+v (%v)", facts, err)
			}
			if !strings.Contains(c.res.Summary, "1 suppressed: "+critical+" (not_affected: vulnerable_code_not_in_execute_path; by "+src+")") {
				t.Errorf("summary = %q, want this machine's suppression named", c.res.Summary)
			}
			for _, f := range c.res.Findings {
				if isVEXRule(f.Rule) {
					t.Errorf("a VEX finding this machine does not derive survived: %s", f.ID)
				}
			}
		})
	}
}

// judgeCarried judges c as the signer does; "" when accepted.
func judgeCarried(t *testing.T, c *carried) string {
	t.Helper()
	if err := Rederive(&c.res, c.blob); err != nil {
		return "rederive: " + err.Error()
	}
	diffs, err := c.signer.Looser(c.res, c.blob, time.Now())
	if err != nil {
		return "looser: " + err.Error()
	}
	if len(diffs) > 0 {
		return "looser: " + strings.Join(diffs, "; ")
	}
	refusals, err := c.signer.CarriedVEX(&c.res, c.blob)
	if err != nil {
		return "vex: " + err.Error()
	}
	return strings.Join(refusals, "; ")
}
