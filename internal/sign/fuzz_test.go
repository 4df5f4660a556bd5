package sign

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/types"

	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// validPredicate is a well-formed evidence predicate to seed the fuzzers.
func validPredicate(t testing.TB) []byte {
	gen := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	doc := &evidence.Document{
		Schema: evidence.Schema, Tool: buildinfo.Info{Name: "readiness", Version: "v1.0.0", GoVersion: "go1.26"}, GeneratedAt: gen,
		Settings: evidence.Settings{BlockOn: []string{"critical"}}, Waivers: []evidence.WaiverStatus{},
		Verdict: evidence.Verdict{Decision: evidence.GO, Summary: "GO", Deny: []evidence.Message{}, Warn: []evidence.Message{}},
	}
	p, err := NewEvidencePredicate(doc, &Target{Repository: "r/a", Digest: "sha256:00"}, Identity{Mode: ModeKey, Fingerprint: "sha256:ff"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzDecodeEvidencePredicate: the evidence predicate comes from a
// registry; whatever it holds must decode or fail, never panic, and what
// decodes must agree with its document.
func FuzzDecodeEvidencePredicate(f *testing.F) {
	f.Add(validPredicate(f))
	f.Add([]byte(`{"verdict":"GO","evidence":{}}`))
	f.Add([]byte(`{"evidence":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, doc, err := DecodeEvidencePredicate(data)
		if err != nil {
			return
		}
		if p.Verdict != doc.Verdict.Decision || !p.GeneratedAt.Equal(doc.GeneratedAt) || doc.Schema != evidence.Schema {
			t.Errorf("decoded a predicate that disagrees with its document: %q vs %q", p.Verdict, doc.Verdict.Decision)
		}
	})
}

// FuzzDecodeStatement: attestation layers come from a registry too.
func FuzzDecodeStatement(f *testing.F) {
	stmt := `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"` + EvidencePredicateType + `","subject":[{"name":"r/a","digest":{"sha256":"00"}}],"predicate":` + string(validPredicate(f)) + `}`
	f.Add([]byte(`{"payloadType":"` + types.IntotoPayloadType + `","payload":"` + base64.StdEncoding.EncodeToString([]byte(stmt)) + `","signatures":[]}`))
	f.Add([]byte(`{"payloadType":"text/plain","payload":"aGk="}`))
	f.Add([]byte(`{"payload":"!!!"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		st, err := decodeEnvelope(payload)
		if err != nil {
			return
		}
		if st.PredicateType == EvidencePredicateType {
			DecodeEvidencePredicate(st.Predicate) //nolint:errcheck // must not panic
		}
	})
}
