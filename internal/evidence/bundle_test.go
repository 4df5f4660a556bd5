package evidence_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

func sampleBundle(t testing.TB) *evidence.Bundle {
	t.Helper()
	report := []byte(`{"SchemaVersion":2,"ArtifactName":"r/app@sha256:aa","Metadata":{"ImageID":"sha256:bb"},"Results":[]}`)
	sum := evidence.SHA256(report)
	doc := &evidence.Document{
		Schema: evidence.Schema, GeneratedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Checks: []checks.Result{{
			Check: "image-scan", Type: "image-scan", Status: checks.StatusPass, Findings: []checks.Finding{},
			Facts: map[string]any{
				evidence.FactScans:   []evidence.ImageScan{{Digest: "sha256:aa", DigestKind: evidence.DigestManifest, ImageID: "sha256:bb", ReportSHA256: sum}},
				evidence.FactScanDB:  evidence.ScanDB{SchemaVersion: 2},
				evidence.FactScanner: evidence.Scanner{Version: "0.74.0"},
			},
		}},
		Waivers: []evidence.WaiverStatus{}, Verdict: evidence.Verdict{Decision: evidence.GO},
	}
	return &evidence.Bundle{Doc: doc, Reports: map[string][]byte{sum: report}}
}

func encode(t testing.TB, b *evidence.Bundle) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBundleRoundTrip(t *testing.T) {
	b := sampleBundle(t)
	got, err := evidence.ReadBundle(bytes.NewReader(encode(t, b)))
	if err != nil {
		t.Fatal(err)
	}
	for sum, data := range b.Reports {
		if back, ok := got.Report(sum); !ok || !bytes.Equal(back, data) {
			t.Errorf("report %s did not survive the round trip", sum)
		}
	}
	if got.Doc.Verdict.Decision != evidence.GO || len(got.Doc.Checks) != 1 {
		t.Errorf("document did not survive: %+v", got.Doc.Verdict)
	}
}

// edit decodes a bundle file into generic JSON, applies f, and encodes it.
func edit(t *testing.T, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadBundleRefuses(t *testing.T) {
	good := encode(t, sampleBundle(t))
	reports := func(m map[string]any) []any { return m["reports"].([]any) }
	tests := []struct {
		name      string
		data      []byte
		integrity bool
		want      string
	}{
		{"a report byte changed", edit(t, good, func(m map[string]any) {
			r := reports(m)[0].(map[string]any)
			raw := []byte(`{"SchemaVersion":2,"ArtifactName":"r/app@sha256:aa","Metadata":{"ImageID":"sha256:bc"},"Results":[]}`)
			r["data"] = raw
		}), true, "was altered"},
		{"a report missing", edit(t, good, func(m map[string]any) { m["reports"] = []any{} }), true, "is missing from the bundle"},
		{"an extra report", edit(t, good, func(m map[string]any) {
			extra := []byte("{}")
			m["reports"] = append(reports(m), map[string]any{"sha256": evidence.SHA256(extra), "data": extra})
		}), true, "no scan in its evidence names it"},
		{"a report listed twice", edit(t, good, func(m map[string]any) { m["reports"] = append(reports(m), reports(m)[0]) }), false, "appears twice"},
		{"a bad address", edit(t, good, func(m map[string]any) { reports(m)[0].(map[string]any)["sha256"] = "SHA" }), false, "not 64 lowercase hex"},
		{"an unknown field", edit(t, good, func(m map[string]any) { m["signed"] = true }), false, "does not match"},
		{"no evidence", edit(t, good, func(m map[string]any) { delete(m, "evidence") }), false, "no evidence document"},
		{"a bare evidence document", func() []byte {
			var buf bytes.Buffer
			_ = sampleBundle(t).Doc.Encode(&buf)
			return buf.Bytes()
		}(), false, "not a bundle"},
		{"another schema", edit(t, good, func(m map[string]any) { m["schema"] = "readiness.dev/bundle/v9" }), false, "not supported"},
		{"not JSON", []byte("PK\x03\x04"), false, "not a bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evidence.ReadBundle(bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if got := errors.Is(err, evidence.ErrBundleIntegrity); got != tt.integrity {
				t.Errorf("integrity error = %v, want %v (%v)", got, tt.integrity, err)
			}
		})
	}
}

// FuzzReadBundle: the reader never panics, and whatever it accepts holds
// every report its scans name, each hashing to its address.
func FuzzReadBundle(f *testing.F) {
	f.Add(encode(f, sampleBundle(f)))
	f.Add([]byte(`{"schema":"readiness.dev/bundle/v1","evidence":null,"reports":[]}`))
	f.Add([]byte(`{"schema":"readiness.dev/evidence/v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := evidence.ReadBundle(bytes.NewReader(data))
		if err != nil {
			return
		}
		for sum, rep := range b.Reports {
			if evidence.SHA256(rep) != sum {
				t.Fatalf("accepted report %s whose content hashes to %s", sum, evidence.SHA256(rep))
			}
		}
		for _, r := range b.Doc.Checks {
			rec, err := evidence.ImageScans(r)
			if err != nil {
				t.Fatalf("accepted a bundle whose scans do not decode: %v", err)
			}
			for _, s := range rec.Scans {
				if _, ok := b.Report(s.ReportSHA256); !ok {
					t.Fatalf("accepted a bundle without the report of %s", s.Digest)
				}
			}
		}
	})
}

// A bundle written by a scanner of the previous release carries a v1
// document; `image sign --evidence` reads it through ReadBundle.
func TestReadBundleV1Evidence(t *testing.T) {
	var f map[string]any
	if err := json.Unmarshal(encode(t, sampleBundle(t)), &f); err != nil {
		t.Fatal(err)
	}
	doc := f["evidence"].(map[string]any)
	doc["schema"] = evidence.SchemaV1
	delete(doc["verdict"].(map[string]any), "checks") // v1 had none
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.ReadBundle(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("a v1 bundle is refused: %v", err)
	}
	if b.Doc.Schema != evidence.Schema || b.Doc.Gate("image-scan").Status != evidence.GatePass || len(b.Reports) != 1 {
		t.Errorf("schema %s, gate %+v, %d reports", b.Doc.Schema, b.Doc.Gate("image-scan"), len(b.Reports))
	}
}

// sbomBundle is sampleBundle whose scan also wrote an SBOM.
func sbomBundle(t testing.TB) (*evidence.Bundle, string) {
	t.Helper()
	b := sampleBundle(t)
	sbom := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`)
	sum := evidence.SHA256(sbom)
	scans := b.Doc.Checks[0].Facts[evidence.FactScans].([]evidence.ImageScan)
	scans[0].SBOM = &evidence.SBOMRecord{Format: evidence.SBOMFormatCycloneDX, SHA256: sum}
	b.Reports[sum] = sbom
	return b, sum
}

// TestBundleCarriesTheSBOM: the SBOM travels by sha256 like a report, and
// a bundle that lost it, or carries another one, is refused: the signer
// attaches exactly the SBOM the scan produced.
func TestBundleCarriesTheSBOM(t *testing.T) {
	b, sum := sbomBundle(t)
	good := encode(t, b)
	got, err := evidence.ReadBundle(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := got.Report(sum); !ok || !bytes.Equal(data, b.Reports[sum]) {
		t.Fatalf("the SBOM did not survive the round trip")
	}
	without := func(m map[string]any) []any {
		var keep []any
		for _, r := range m["reports"].([]any) {
			if r.(map[string]any)["sha256"] != sum {
				keep = append(keep, r)
			}
		}
		return keep
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"the SBOM missing", edit(t, good, func(m map[string]any) { m["reports"] = without(m) }), "SBOM of check image-scan's scan of sha256:aa"},
		{"another SBOM in its place", edit(t, good, func(m map[string]any) {
			other := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`)
			m["reports"] = append(without(m), map[string]any{"sha256": sum, "data": other})
		}), "was altered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evidence.ReadBundle(bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, evidence.ErrBundleIntegrity) {
				t.Fatalf("err = %v, want an integrity error %q", err, tt.want)
			}
		})
	}
}

func TestCollectReportsReadsTheSBOM(t *testing.T) {
	b, sum := sbomBundle(t)
	dir := t.TempDir()
	scans := b.Doc.Checks[0].Facts[evidence.FactScans].([]evidence.ImageScan)
	scans[0].ReportPath = dir + "/report.json"
	scans[0].SBOM.Path = dir + "/sbom.json"
	for path, sha := range map[string]string{scans[0].ReportPath: scans[0].ReportSHA256, scans[0].SBOM.Path: sum} {
		if err := os.WriteFile(path, b.Reports[sha], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := evidence.CollectReports(b.Doc)
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := got.Report(sum); !ok || !bytes.Equal(data, b.Reports[sum]) {
		t.Fatal("CollectReports left the SBOM out")
	}
	// An SBOM edited on disk after the scan is not collected.
	if err := os.WriteFile(scans[0].SBOM.Path, []byte(`{"bomFormat":"CycloneDX"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.CollectReports(b.Doc); !errors.Is(err, evidence.ErrBundleIntegrity) {
		t.Fatalf("err = %v, want an integrity error for an SBOM changed since the scan", err)
	}
}

// TestBundleCarriesVEXDocuments: a VEX document the scan applied is
// collected from where the scan saved it (and not if it changed since),
// travels by sha256, and is refused when altered; an unnamed one is
// refused like any stray report. One named but not carried is left to
// the signer, which refuses a suppression none of its own documents makes.
func TestBundleCarriesVEXDocuments(t *testing.T) {
	b := sampleBundle(t)
	vex := []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}`)
	sum := evidence.SHA256(vex)
	dir := t.TempDir()
	scans := b.Doc.Checks[0].Facts[evidence.FactScans].([]evidence.ImageScan)
	scans[0].ReportPath = dir + "/report.json"
	rec := []evidence.VEXRecord{{Source: "vex.json", SHA256: sum, Path: dir + "/vex.json"}}
	b.Doc.Checks[0].Facts[evidence.FactVEX] = rec
	if err := os.WriteFile(scans[0].ReportPath, b.Reports[scans[0].ReportSHA256], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec[0].Path, vex, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := evidence.CollectReports(b.Doc)
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := got.Report(sum); !ok || !bytes.Equal(data, vex) {
		t.Fatal("CollectReports left the VEX document out")
	}
	good := encode(t, got)
	back, err := evidence.ReadBundle(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := back.Report(sum); !ok || !bytes.Equal(data, vex) {
		t.Fatal("the VEX document did not survive the round trip")
	}
	without := func(m map[string]any) []any {
		var keep []any
		for _, r := range m["reports"].([]any) {
			if r.(map[string]any)["sha256"] != sum {
				keep = append(keep, r)
			}
		}
		return keep
	}
	if _, err := evidence.ReadBundle(bytes.NewReader(edit(t, good, func(m map[string]any) { m["reports"] = without(m) }))); err != nil {
		t.Errorf("a bundle naming a VEX document it does not carry: %v, want it read (the signer judges)", err)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"another document in its place", edit(t, good, func(m map[string]any) {
			m["reports"] = append(without(m), map[string]any{"sha256": sum, "data": []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{}]}`)})
		}), "was altered"},
		{"the document no longer named", edit(t, good, func(m map[string]any) {
			delete(m["evidence"].(map[string]any)["checks"].([]any)[0].(map[string]any)["facts"].(map[string]any), "vex")
		}), "no scan in its evidence names it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evidence.ReadBundle(bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, evidence.ErrBundleIntegrity) {
				t.Fatalf("err = %v, want an integrity error %q", err, tt.want)
			}
		})
	}
	// A document edited on disk after the scan is not collected.
	if err := os.WriteFile(rec[0].Path, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.CollectReports(b.Doc); !errors.Is(err, evidence.ErrBundleIntegrity) {
		t.Fatalf("err = %v, want an integrity error for a VEX document changed since the scan", err)
	}
}
