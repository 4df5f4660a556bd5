package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/readiness-dev/readiness/internal/checks"
)

// envelopeFixture is a signer and the trust that accepts it, in memory.
func envelopeFixture(tb testing.TB) (*Signer, *EvidenceTrust) {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Signer{key: &keyMaterial{sv: sv, identity: Identity{Mode: ModeKey, Fingerprint: "sha256:test"}}}
	return s, &EvidenceTrust{Key: "test.pub", verifier: sv}
}

const fuzzBody = `{"schema":"readiness.dev/evidence-bundle/v1","evidence":{"subjects":[]},"reports":[]}`

// FuzzOpenEnvelope: an envelope comes from another machine. Whatever it
// holds, Open must not panic, and what it accepts is exactly what the key
// signed: nobody without the key can make it return another body.
func FuzzOpenEnvelope(f *testing.F) {
	s, trust := envelopeFixture(f)
	ctx := context.Background()
	env, err := s.Seal(ctx, BundlePredicateType, []byte(fuzzBody), []checks.Subject{{Name: "r/a", Digest: "sha256:" + strings.Repeat("ab", 32)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env)
	f.Add(bytes.Replace(env, []byte(InTotoPayloadType), []byte("text/plain"), 1))
	f.Add([]byte(fuzzBody))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AAAA"}]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`))
	f.Add(append(bytes.Clone(env), []byte(`{}`)...))
	// A document that says it is a (keyless) Sigstore bundle must not get
	// past a key: it is refused for what it is.
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opened, err := trust.Open(ctx, data, BundlePredicateType)
		if err != nil {
			return
		}
		var got, want any
		if json.Unmarshal(opened.Body, &got) != nil {
			t.Fatalf("accepted a body that is not JSON: %q", opened.Body)
		}
		_ = json.Unmarshal([]byte(fuzzBody), &want)
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if !bytes.Equal(gb, wb) {
			t.Fatalf("accepted a body the key never signed: %s", opened.Body)
		}
	})
}

func TestOpenEnvelopeRefuses(t *testing.T) {
	s, trust := envelopeFixture(t)
	other, _ := envelopeFixture(t)
	ctx := context.Background()
	sub := []checks.Subject{{Name: "r/a", Digest: "sha256:" + strings.Repeat("ab", 32)}}
	env, err := s.Seal(ctx, BundlePredicateType, []byte(fuzzBody), sub)
	if err != nil {
		t.Fatal(err)
	}
	byOther, err := other.Seal(ctx, BundlePredicateType, []byte(fuzzBody), sub)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := s.Seal(ctx, DocumentPredicateType, []byte(fuzzBody), sub)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(env, &m)
	m["payloadType"] = "application/json"
	otherType, _ := json.Marshal(m)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"unsigned bundle", []byte(fuzzBody), "not signed"},
		{"another key", byOther, "does not verify"},
		{"another predicate type", doc, "not a " + BundlePredicateType},
		{"another payload type", otherType, "payload type"},
		{"trailing data", append(bytes.Clone(env), '{', '}'), "data after the envelope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trust.Open(ctx, tc.data, BundlePredicateType)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	opened, err := trust.Open(ctx, env, BundlePredicateType)
	if err != nil {
		t.Fatal(err)
	}
	if string(opened.Body) != fuzzBody || len(opened.Subjects) != 1 || opened.Subjects[0] != sub[0] {
		t.Errorf("opened %s about %v", opened.Body, opened.Subjects)
	}
}
