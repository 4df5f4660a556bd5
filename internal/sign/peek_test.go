package sign

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// PeekDocument reads the document out of an envelope without verifying it
// (check --compare only labels blockers), and refuses what is not one.
func TestPeekDocument(t *testing.T) {
	doc := `{"schema":"readiness.dev/evidence/v2"}`
	envelope := func(payloadType, predicateType, payload string) string {
		if payload == "" {
			st, _ := json.Marshal(map[string]any{"_type": InTotoStatementType, "subject": []any{}, "predicateType": predicateType, "predicate": json.RawMessage(doc)})
			payload = base64.StdEncoding.EncodeToString(st)
		}
		env, _ := json.Marshal(map[string]any{"payloadType": payloadType, "payload": payload, "signatures": []any{map[string]any{"sig": "AAAA"}}})
		return string(env)
	}
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"a plain document", doc, doc, ""},
		{"not json", "hello", "hello", ""},
		{"an envelope", envelope(InTotoPayloadType, DocumentPredicateType, ""), doc, ""},
		{"a Sigstore bundle", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":` + envelope(InTotoPayloadType, DocumentPredicateType, "") + `}`, doc, ""},
		{"a signed bundle, not a document", envelope(InTotoPayloadType, BundlePredicateType, ""), "", "not a " + DocumentPredicateType},
		{"another payload type", envelope("text/plain", DocumentPredicateType, ""), "", `payload type is "text/plain"`},
		{"a payload that is not base64", envelope(InTotoPayloadType, DocumentPredicateType, "%%%"), "", "not base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PeekDocument([]byte(tc.in))
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case string(got) != tc.want:
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzPeekDocument: any bytes in a --compare file are read without a panic,
// and what comes back is either an error or some bytes to decode.
func FuzzPeekDocument(f *testing.F) {
	f.Add([]byte(`{"schema":"readiness.dev/evidence/v2"}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30="}`))
	f.Add([]byte(`{"dsseEnvelope":{"payloadType":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := PeekDocument(data)
		if err == nil && got == nil && data != nil {
			t.Fatalf("no error and no bytes for %q", data)
		}
	})
}
