package imagescan

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// openVEX is a document with one not_affected statement per product.
func openVEX(vuln string, products ...string) string {
	var ps []string
	for _, p := range products {
		ps = append(ps, p)
	}
	return `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://acme.example/vex-1","author":"acme","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[` +
		`{"vulnerability":{"name":"` + vuln + `"},"products":[` + strings.Join(ps, ",") + `],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`
}

func ociProduct(name, digest, sub string) string {
	p := `{"@id":"pkg:oci/` + name + `@` + strings.Replace(digest, ":", "%3A", 1) + `"`
	if sub != "" {
		p += `,"subcomponents":[{"@id":"` + sub + `"}]`
	}
	return p + "}"
}

func TestVEXOptionsValidated(t *testing.T) {
	sum := strings.Repeat("a", 64)
	for _, tt := range []struct {
		v    VEXSource
		want string
	}{
		{VEXSource{Path: "vex.json"}, ""},
		{VEXSource{Path: "vex.json", SHA256: sum}, ""},
		{VEXSource{URL: "https://acme.example/vex.json", SHA256: sum}, ""},
		{VEXSource{URL: "https://acme.example/vex.json"}, "needs its sha256"},
		{VEXSource{URL: "file:///etc/vex.json", SHA256: sum}, "not an http(s) URL"},
		{VEXSource{Path: "a", URL: "https://acme.example/v", SHA256: sum}, "one of them"},
		{VEXSource{}, "one of them"},
		{VEXSource{Path: "vex.json", SHA256: "ABC"}, "64 lowercase hex"},
	} {
		o := Options{Inputs: []string{"a.tar"}, VEX: []VEXSource{tt.v}}
		err := o.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %q", tt.v, err, tt.want)
		}
	}
}

// TestVEXSuppressesOnlyForThisImage runs the real trivy on a vulnerable
// registry image with VEX documents: a statement for the image by digest
// suppresses its finding and is recorded; the smallest edits that would
// make a statement suppress without being about this image (a package
// alone, another digest, a pinned URL serving other bytes) suppress
// nothing and are reported.
func TestVEXSuppressesOnlyForThisImage(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	ref := reg.Push(t, "team/app:1.0", trivytest.AlpineVulnerable("amd64"))
	digest := ref.DigestStr()
	other := "sha256:" + strings.Repeat("1", 64)
	musl := "pkg:apk/alpine/musl"
	critical := "SCAN-CRITICAL-VULN/" + trivytest.CVECritical + "/musl/" + shortDigest(digest)
	high := "SCAN-HIGH-VULN/" + trivytest.CVEHigh + "/zlib/" + shortDigest(digest)

	forImage := openVEX(trivytest.CVECritical, ociProduct("app", digest, musl))
	served := map[string]string{"/good.json": forImage, "/changed.json": forImage}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := served[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	write := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "vex.openvex.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sum := evidence.SHA256([]byte(forImage))
	tests := []struct {
		name       string
		vex        func(t *testing.T) VEXSource
		findings   []string
		suppressed bool
	}{
		{"a statement for the image by digest", func(t *testing.T) VEXSource { return VEXSource{Path: write(t, forImage)} }, []string{high}, true},
		{"the same, from a URL pinned by sha256", func(*testing.T) VEXSource { return VEXSource{URL: srv.URL + "/good.json", SHA256: sum} }, []string{high}, true},
		{"a URL serving other bytes than the pin", func(*testing.T) VEXSource {
			return VEXSource{URL: srv.URL + "/changed.json", SHA256: strings.Repeat("0", 64)}
		}, []string{critical, high, RuleVEXDigest + "/" + srv.URL + "/changed.json"}, false},
		{"a repository file edited under its pin", func(t *testing.T) VEXSource {
			return VEXSource{Path: write(t, forImage+" "), SHA256: sum}
		}, nil, false},
		{"a statement for the package alone", func(t *testing.T) VEXSource {
			return VEXSource{Path: write(t, openVEX(trivytest.CVECritical, `{"@id":"pkg:apk/alpine/musl"}`))}
		}, nil, false},
		{"a statement for another digest of the image", func(t *testing.T) VEXSource {
			return VEXSource{Path: write(t, openVEX(trivytest.CVECritical, ociProduct("app", other, musl)))}
		}, nil, false},
		{"a statement for this image and another product: only this image's part counts", func(t *testing.T) VEXSource {
			return VEXSource{Path: write(t, openVEX(trivytest.CVECritical, ociProduct("app", digest, musl), `{"@id":"pkg:apk/alpine/musl"}`))}
		}, []string{high, RuleVEXOtherProduct + "/" + "SRC"}, true},
		{"a later affected statement naming this image among others overrides not_affected", func(t *testing.T) VEXSource {
			later := strings.Replace(openVEX(trivytest.CVECritical, ociProduct("app", digest, musl), `{"@id":"pkg:oci/other@sha256%3A`+strings.Repeat("2", 64)+`"}`),
				`"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"`, `"status":"affected","action_statement":"upgrade","timestamp":"2026-02-01T00:00:00Z"`, 1)
			stmts := func(doc string) string {
				return doc[strings.Index(doc, `"statements":[`)+len(`"statements":[`) : len(doc)-2]
			}
			return VEXSource{Path: write(t, strings.Replace(forImage, stmts(forImage), stmts(forImage)+","+stmts(later), 1))}
		}, nil, false},
		{"a tarball of the image has no digest to be the product", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Images: []string{reg.Host + "/team/app:1.0"}}
			var src VEXSource
			if tt.vex == nil {
				// The same image as a docker tarball: a statement for its
				// registry digest is not about it.
				fx := trivytest.Load(t)
				o = Options{Inputs: []string{fx.AlpineTar}}
				src = VEXSource{Path: write(t, forImage)}
			} else {
				src = tt.vex(t)
			}
			o.VEX = []VEXSource{src}
			o = offline(t, o)
			for i := range tt.findings {
				tt.findings[i] = strings.Replace(tt.findings[i], "SRC", src.name(), 1)
			}
			res := runJob(t, New(o, Deps{}), 2*time.Minute)
			if res.Status == checks.StatusError {
				t.Fatalf("error: %s", res.Error)
			}
			ids := findingIDs(res)
			has := func(prefix string) bool {
				return slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, prefix) })
			}
			if !has(strings.TrimSuffix(high, shortDigest(digest))) {
				t.Errorf("findings %v lack the high one, which no statement covers", ids)
			}
			if got := has(strings.TrimSuffix(critical, shortDigest(digest))); got == tt.suppressed {
				t.Errorf("critical finding present = %v, want %v (findings %v)", got, !tt.suppressed, ids)
			}
			if tt.findings != nil && !slices.Equal(ids, tt.findings) {
				t.Errorf("findings = %v, want %v", ids, tt.findings)
			}
			facts, _ := res.Facts[FactVEX].([]VEXFact)
			if len(facts) != 1 || facts[0].Source != src.name() || !validHex64(facts[0].SHA256) {
				t.Fatalf("vex fact = %+v", res.Facts[FactVEX])
			}
			s := mustScans(t, res)[0]
			if tt.suppressed {
				want := Suppressed{Finding: critical, Package: "musl", Source: src.name(), Status: "not_affected", Statement: "vulnerable_code_not_in_execute_path"}
				if len(s.Suppressed) != 1 || s.Suppressed[0] != want {
					t.Errorf("suppressed = %+v, want %+v", s.Suppressed, want)
				}
				if !strings.Contains(res.Summary, "1 suppressed: "+critical+" (not_affected: vulnerable_code_not_in_execute_path; by "+src.name()+")") {
					t.Errorf("the summary every report shows does not name the suppressed finding: %s", res.Summary)
				}
				if !facts[0].Used || len(facts[0].Suppressed) != 1 || facts[0].Suppressed[0] != want {
					t.Errorf("vex fact = %+v", facts[0])
				}
				return
			}
			if len(s.Suppressed) != 0 {
				t.Errorf("suppressed = %+v, want nothing", s.Suppressed)
			}
			reported := slices.ContainsFunc(res.Findings, func(f checks.Finding) bool {
				return f.Rule == RuleVEXDigest || f.Rule == RuleVEXOtherProduct
			})
			if !reported || facts[0].Used && len(facts[0].Ignored) == 0 {
				t.Errorf("the unused statement is not reported: findings %v, fact %+v", ids, facts[0])
			}
		})
	}
}

// cdxVEX is a CycloneDX VEX document: its metadata component is the image
// app (bom-ref "app-image"), and each vulnerability entry is given as
// [id, state, justification, refs...].
func cdxVEX(digest string, vulns ...[]string) string {
	var vs []string
	for _, v := range vulns {
		var affects []string
		for _, r := range v[3:] {
			affects = append(affects, `{"ref":"`+r+`"}`)
		}
		vs = append(vs, `{"id":"`+v[0]+`","analysis":{"state":"`+v[1]+`","justification":"`+v[2]+`"},"affects":[`+strings.Join(affects, ",")+`]}`)
	}
	return `{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79","version":1,` +
		`"metadata":{"component":{"bom-ref":"app-image","type":"container","name":"app","purl":"pkg:oci/app@` + strings.Replace(digest, ":", "%3A", 1) + `"}},` +
		`"vulnerabilities":[` + strings.Join(vs, ",") + `]}`
}

// TestCycloneDXVEX runs the real trivy with CycloneDX VEX documents: an
// affects ref that resolves to the scanned image by digest (a BOM-Link to
// its purl, or a bom-ref the document defines with that purl) suppresses
// the finding as trivy reads the analysis (not_affected, resolved → fixed;
// the last entry for an ID wins); a ref to a package alone or another
// digest, or a state that is not an answer of "not affected", suppresses
// nothing. A suppression it made is accepted by the signer judging the
// carried result with the same document.
func TestCycloneDXVEX(t *testing.T) {
	reg := trivytest.StartRegistry(t)
	ref := reg.Push(t, "team/app:1.0", trivytest.AlpineVulnerable("amd64"))
	digest := ref.DigestStr()
	link := "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#" + url.PathEscape("pkg:oci/app@"+strings.Replace(digest, ":", "%3A", 1))
	other := "pkg:oci/app@sha256%3A" + strings.Repeat("1", 64)
	critical := "SCAN-CRITICAL-VULN/" + trivytest.CVECritical + "/musl/" + shortDigest(digest)
	cve := trivytest.CVECritical
	tests := []struct {
		name   string
		doc    string
		status string // "" suppresses nothing
		other  bool   // reported as SCAN-VEX-OTHER-PRODUCT
	}{
		{"a BOM-Link to the image's purl", cdxVEX(digest, []string{cve, "not_affected", "code_not_reachable", link}), "not_affected", false},
		{"a bom-ref the document defines as the image", cdxVEX(digest, []string{cve, "false_positive", "", "app-image"}), "not_affected", false},
		{"resolved reads as fixed", cdxVEX(digest, []string{cve, "resolved", "", "app-image"}), "fixed", false},
		{"the package alone", cdxVEX(digest, []string{cve, "not_affected", "code_not_reachable", "pkg:apk/alpine/musl"}), "", true},
		{"another digest of the image", cdxVEX(digest, []string{cve, "not_affected", "code_not_reachable", other}), "", true},
		{"exploitable", cdxVEX(digest, []string{cve, "exploitable", "", "app-image"}), "", false},
		{"in_triage", cdxVEX(digest, []string{cve, "in_triage", "", "app-image"}), "", false},
		{"the last entry for the CVE wins", cdxVEX(digest, []string{cve, "not_affected", "code_not_reachable", "app-image"}, []string{cve, "in_triage", "", "app-image"}), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "app.cdx.json")
			if err := os.WriteFile(p, []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			src := VEXSource{Path: p, SHA256: evidence.SHA256([]byte(tt.doc))}
			o := offline(t, Options{Images: []string{reg.Host + "/team/app:1.0"}, VEX: []VEXSource{src}})
			res := runJob(t, New(o, Deps{}), 2*time.Minute)
			if res.Status == checks.StatusError {
				t.Fatalf("error: %s", res.Error)
			}
			facts, _ := res.Facts[FactVEX].([]VEXFact)
			if len(facts) != 1 || facts[0].Format != VEXFormatCycloneDX || !facts[0].Used {
				t.Fatalf("vex fact = %+v", res.Facts[FactVEX])
			}
			ids := findingIDs(res)
			if got := slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, RuleVEXOtherProduct) }); got != tt.other {
				t.Errorf("SCAN-VEX-OTHER-PRODUCT reported = %v, want %v (findings %v)", got, tt.other, ids)
			}
			s := mustScans(t, res)[0]
			if tt.status == "" {
				if len(s.Suppressed) != 0 || !slices.Contains(ids, critical) {
					t.Errorf("suppressed %+v, findings %v; want nothing suppressed", s.Suppressed, ids)
				}
				return
			}
			var just string
			if strings.Contains(tt.doc, "code_not_reachable") {
				just = "code_not_reachable"
			}
			want := []Suppressed{{Finding: critical, Package: "musl", Source: p, Status: tt.status, Statement: just}}
			if diff := cmp.Diff(want, s.Suppressed); diff != "" {
				t.Errorf("suppressed (-want +got):\n%s", diff)
			}
			// The signer, with the same document carried, makes the same
			// suppression.
			b, err := evidence.CollectReports(&evidence.Document{Checks: []checks.Result{res}})
			if err != nil {
				t.Fatal(err)
			}
			c := &carried{blobs: b.Reports, signer: Options{Images: []string{"x"}, VEX: []VEXSource{src}}}
			if err := c.signer.Validate(); err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &c.res); err != nil {
				t.Fatal(err)
			}
			if got := judgeCarried(t, c); got != "" {
				t.Errorf("the signer refused the suppression the document makes: %s", got)
			}
		})
	}
}

// FuzzParseVEX: a VEX document is outside input; reading it, cutting it
// to an image and reading the cut as trivy's library does never panics,
// and only a statement about the image by digest survives the cut.
func FuzzParseVEX(f *testing.F) {
	digest := "sha256:" + strings.Repeat("a", 64)
	f.Add([]byte(openVEX("CVE-1", ociProduct("app", digest, "pkg:apk/alpine/musl"))))
	f.Add([]byte(cdxVEX(digest, []string{"CVE-1", "not_affected", "code_not_reachable", "app-image"})))
	f.Add([]byte(`{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","affects":[{"ref":"urn:cdx:x/1#%zz"}]}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[1,{"products":"x"}]}`))
	t := target{Digest: digest, DigestKind: DigestManifest}
	f.Fuzz(func(tt *testing.T, data []byte) {
		d, _ := parseVEX(VEXSource{Path: "vex.json"}, data)
		docs := []vexDoc{d}
		cut := filterFor(&docs[0], t)
		if cut != nil {
			for _, s := range cut["statements"].([]any) {
				for _, p := range s.(map[string]any)["products"].([]any) {
					id, _ := p.(map[string]any)["@id"].(string)
					if !ociPURLOf(id, digest) {
						tt.Fatalf("the cut kept product %q, not the image", id)
					}
				}
			}
		}
		_, _ = filteredVEX(docs, t)
	})
}
