package admission

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	cosignrego "github.com/sigstore/cosign/v2/pkg/cosign/rego"
	"go.yaml.in/yaml/v3"
)

// regoPolicies pulls the attestation policy and the CIP-level policy out
// of a generated ClusterImagePolicy, as policy-controller reads them.
func regoPolicies(t *testing.T, o Options) (attestation, both string) {
	t.Helper()
	doc, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	var c cip
	if err := yaml.Unmarshal(doc, &c); err != nil {
		t.Fatal(err)
	}
	return c.Spec.Authorities[1].Attestations[0].Policy.Data, c.Spec.Policy.Data
}

// statement is an in-toto statement as cosign hands it to the policy: a
// GO evidence predicate about digest, signed by fp, generated at.
func statement(digest, fp string, at time.Time) map[string]any {
	ts := at.UTC().Format(time.RFC3339Nano)
	return map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": EvidencePredicateType,
		"subject":       []any{map[string]any{"name": "ghcr.io/acme/api", "digest": map[string]any{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
		"predicate": map[string]any{
			"verdict": "GO", "generated_at": ts,
			"image":  map[string]any{"repository": "ghcr.io/acme/api", "digest": digest},
			"signer": map[string]any{"mode": "key", "fingerprint": fp},
			"evidence": map[string]any{
				"schema": "readiness.dev/evidence/v2", "generated_at": ts,
				"subjects": []any{map[string]any{"name": "ghcr.io/acme/api", "digest": digest}},
				"verdict":  map[string]any{"decision": "GO"},
			},
		},
	}
}

func path(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

// TestEvidenceRegoWithCosignsEvaluator evaluates the attestation policy
// with cosign's rego.ValidateJSONWithModuleInput, which policy-controller
// calls (through cosign's policy.EvaluatePolicyAgainstJSON) for a rego
// policy, on statements
// a signer could present: only the sound GO passes, and each refusal says
// why. The end-to-end test with signed images is in test/admission.
func TestEvidenceRegoWithCosignsEvaluator(t *testing.T) {
	o := keyOpts(t, FormatPolicyController)
	att, _ := regoPolicies(t, o)
	fp, err := keyFingerprint(o.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const other = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	now := time.Now()
	tests := []struct {
		name string
		age  time.Duration // of the evidence; an hour when zero
		mod  func(st map[string]any)
		want string // "" admits
	}{
		{name: "sound GO", mod: func(map[string]any) {}},
		{name: "interrupted false is sound", mod: func(st map[string]any) { path(st, "predicate", "evidence")["interrupted"] = false }},
		{name: "nearly max age", age: o.MaxAge - time.Minute},
		{name: "other predicate type", mod: func(st map[string]any) { st["predicateType"] = "https://cosign.sigstore.dev/attestation/vuln/v1" }, want: "not readiness evidence"},
		{name: "NO-GO", mod: func(st map[string]any) { path(st, "predicate")["verdict"] = "NO-GO" }, want: "verdict is not GO"},
		{name: "GO summary over a NO-GO document", mod: func(st map[string]any) { path(st, "predicate", "evidence", "verdict")["decision"] = "NO-GO" }, want: "verdict is not GO"},
		{name: "lower-case go", mod: func(st map[string]any) { path(st, "predicate")["verdict"] = "go" }, want: "verdict is not GO"},
		{name: "interrupted", mod: func(st map[string]any) { path(st, "predicate", "evidence")["interrupted"] = true }, want: "interrupted run"},
		{name: "interrupted as text", mod: func(st map[string]any) { path(st, "predicate", "evidence")["interrupted"] = "yes" }, want: "interrupted run"},
		{name: "no evidence document", mod: func(st map[string]any) { delete(path(st, "predicate"), "evidence") }, want: "interrupted run"},
		{name: "predicate about another digest", mod: func(st map[string]any) { path(st, "predicate", "image")["digest"] = other }, want: "another digest"},
		{name: "a second subject", mod: func(st map[string]any) {
			st["subject"] = append(st["subject"].([]any), map[string]any{"name": "x", "digest": map[string]any{"sha256": strings.TrimPrefix(other, "sha256:")}})
		}, want: "another digest"},
		{name: "no subject", mod: func(st map[string]any) { st["subject"] = []any{} }, want: "another digest"},
		{name: "evidence scanned another digest", mod: func(st map[string]any) {
			path(st, "predicate", "evidence")["subjects"] = []any{map[string]any{"digest": other}}
		}, want: "another digest"},
		{name: "too old", age: o.MaxAge + time.Minute, want: "older than 720h0m0s"},
		{name: "in the future", age: -time.Hour, want: "dated in the future"},
		{name: "within the clock skew", age: -time.Minute},
		{name: "times disagree", mod: func(st map[string]any) {
			path(st, "predicate", "evidence")["generated_at"] = now.Add(-time.Hour).UTC().Format(time.RFC3339)
		}, want: "older than"},
		{name: "time unreadable", mod: func(st map[string]any) { path(st, "predicate")["generated_at"] = "yesterday" }, want: "older than"},
		{name: "other signer", mod: func(st map[string]any) { path(st, "predicate", "signer")["fingerprint"] = "sha256:00" }, want: "another signer"},
		{name: "not an object", mod: func(st map[string]any) { st["predicate"] = "GO" }, want: "verdict is not GO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			age := tc.age
			if age == 0 {
				age = time.Hour
			}
			st := statement(digest, fp, now.Add(-age))
			if tc.mod != nil {
				tc.mod(st)
			}
			raw, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			warn, err := cosignrego.ValidateJSONWithModuleInput(raw, att)
			// policy-controller refuses on either (ValidatePolicyAttestationsForAuthority).
			refused := err != nil || warn != nil
			if tc.want == "" {
				if refused {
					t.Fatalf("refused a sound GO: warn %v, err %v", warn, err)
				}
				return
			}
			if !refused || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v (warn %v), want a refusal saying %q", err, warn, tc.want)
			}
		})
	}
}

// TestCIPLevelRegoDemandsBoth: policy-controller admits when any one
// authority matches; the CIP-level policy must demand the signature and
// the evidence attestation together.
func TestCIPLevelRegoDemandsBoth(t *testing.T) {
	_, both := regoPolicies(t, keyOpts(t, FormatPolicyController))
	sig := map[string]any{"signatures": []any{map[string]any{"id": "s"}}}
	att := map[string]any{"attestations": map[string]any{pcEvidenceName: []any{map[string]any{"id": "a"}}}}
	tests := []struct {
		name    string
		matches map[string]any
		admit   bool
	}{
		{"both", map[string]any{pcSignatureAuthority: sig, pcEvidenceAuthority: att}, true},
		{"signature only", map[string]any{pcSignatureAuthority: sig}, false},
		{"evidence only", map[string]any{pcEvidenceAuthority: att}, false},
		{"swapped", map[string]any{pcSignatureAuthority: att, pcEvidenceAuthority: sig}, false},
		{"none", map[string]any{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(map[string]any{"authorityMatches": tc.matches})
			if err != nil {
				t.Fatal(err)
			}
			warn, err := cosignrego.ValidateJSONWithModuleInput(raw, both)
			if admitted := err == nil && warn == nil; admitted != tc.admit {
				t.Fatalf("admitted=%v (warn %v, err %v), want %v", admitted, warn, err, tc.admit)
			}
		})
	}
}
