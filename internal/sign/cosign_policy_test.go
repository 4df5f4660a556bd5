package sign_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cosignrego "github.com/sigstore/cosign/v2/pkg/cosign/rego"

	"github.com/readiness-dev/readiness/internal/sign"
)

// regoBlocks returns the ```rego blocks of a markdown file.
func regoBlocks(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	parts := strings.Split(string(data), "```rego\n")
	for _, p := range parts[1:] {
		body, _, ok := strings.Cut(p, "```")
		if ok {
			out = append(out, body)
		}
	}
	return out
}

// The cosign verify-attestation policy docs/attestation.md shows is
// evaluated with cosign's own evaluator (the code behind
// `cosign verify-attestation --policy`: data.signature.allow over the
// statement), so the documented example is known to work.
func TestDocumentedCosignPolicyWorksWithCosign(t *testing.T) {
	blocks := regoBlocks(t, filepath.Join("..", "..", "docs", "attestation.md"))
	if len(blocks) != 1 {
		t.Fatalf("docs/attestation.md has %d rego blocks, want the one cosign policy", len(blocks))
	}
	policy := filepath.Join(t.TempDir(), "policy.rego")
	if err := os.WriteFile(policy, []byte(blocks[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	statement := func(verdict string, generated time.Time) []byte {
		return []byte(fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":%q,"subject":[{"name":"r/app","digest":{"sha256":"aa"}}],"predicate":{"verdict":%q,"generated_at":%q}}`,
			sign.EvidencePredicateType, verdict, generated.UTC().Format(time.RFC3339)))
	}
	if errs := cosignrego.ValidateJSON(statement("GO", time.Now().Add(-time.Hour)), []string{policy}); len(errs) != 0 {
		t.Errorf("a fresh GO is refused by the documented policy: %v", errs)
	}
	for name, st := range map[string][]byte{
		"NO-GO":        statement("NO-GO", time.Now()),
		"a stale GO":   statement("GO", time.Now().Add(-8*24*time.Hour)),
		"another type": []byte(`{"predicateType":"https://example.com/x","predicate":{"verdict":"GO","generated_at":"` + time.Now().UTC().Format(time.RFC3339) + `"}}`),
	} {
		if errs := cosignrego.ValidateJSON(st, []string{policy}); len(errs) == 0 {
			t.Errorf("%s is accepted by the documented policy", name)
		}
	}
}
