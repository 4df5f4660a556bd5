package sign_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
)

// Attestations already in registries carry evidence of the previous schema
// (readiness.dev/evidence/v1): `image verify` reads them through
// DecodeEvidencePredicate, and must still accept them.
func TestDecodeEvidencePredicateV1(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "evidence", "testdata", "v1-partial.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"schema": "`+evidence.SchemaV1+`"`)) {
		t.Fatal("the fixture is no longer a v1 document")
	}
	var head struct {
		GeneratedAt json.RawMessage `json:"generated_at"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		t.Fatal(err)
	}
	pred, err := json.Marshal(map[string]any{
		"verdict": "GO", "generated_at": head.GeneratedAt,
		"image":  map[string]any{"input": "registry.example/app", "repository": "registry.example/app", "media_type": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + string(bytes.Repeat([]byte("cd"), 32))},
		"signer": map[string]any{"mode": "key"}, "tool": map[string]any{"name": "readiness", "version": "v0.9.0", "go_version": "go1.26"},
		"evidence": json.RawMessage(raw),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, doc, err := sign.DecodeEvidencePredicate(pred)
	if err != nil {
		t.Fatalf("a v1 attestation is refused: %v", err)
	}
	if p.Verdict != evidence.GO || doc.Schema != evidence.Schema || doc.Gate("security-key").Status != evidence.GatePass {
		t.Errorf("verdict %s, schema %s, gate %+v", p.Verdict, doc.Schema, doc.Gate("security-key"))
	}
}
