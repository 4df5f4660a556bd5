// Package kyverno tests the Kyverno ClusterPolicy that `readiness admission
// policy --format kyverno` writes with Kyverno's own code: the policy is
// read into Kyverno's API types (strictly), its attestors drive Kyverno's
// cosign verifier against images in an in-process registry that
// readiness's internal/sign signed and attested, and its attestation
// conditions are evaluated by Kyverno's variable substitution and
// condition operators on the statements that verifier returns, as
// Kyverno's engine does (pkg/engine/internal/imageverifier.go
// verifyAttestation and utils.go EvaluateConditions, which are internal
// and so repeated here in a few lines). What this does not run is the
// admission webhook around them.
//
// It is its own module, apart from test/admission, because Kyverno needs
// Kubernetes libraries newer than policy-controller builds with.
package kyverno

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	"github.com/kyverno/kyverno/ext/wildcard"
	"github.com/kyverno/kyverno/pkg/config"
	enginecontext "github.com/kyverno/kyverno/pkg/engine/context"
	"github.com/kyverno/kyverno/pkg/engine/jmespath"
	"github.com/kyverno/kyverno/pkg/engine/variables"
	"github.com/kyverno/kyverno/pkg/image/verifiers"
	kyvernocosign "github.com/kyverno/kyverno/pkg/image/verifiers/cpol/cosign"
	"sigs.k8s.io/yaml"

	"github.com/readiness-dev/readiness/internal/admission"
	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

const maxAge = 720 * time.Hour

var fast = sign.Retry{Attempts: 2, Initial: time.Millisecond, Max: time.Millisecond}

// loopback is Kyverno's registry client for the in-process registry:
// go-containerregistry speaks plain HTTP to 127.0.0.1 by itself.
type loopback struct{}

func (loopback) Options(ctx context.Context) ([]remote.Option, []name.Option, error) {
	return []remote.Option{remote.WithContext(ctx)}, nil, nil
}
func (loopback) NameOptions() []name.Option { return nil }

type evidenceCase struct {
	name        string
	unsigned    bool
	otherKey    bool
	verdict     string
	age         time.Duration
	interrupted bool
	copyFrom    string
	admit       bool
	why         string
}

// TestKyvernoAdmitsOnlyGO: only the signed, fresh GO digest passes the
// generated ClusterPolicy's attestors and conditions, and readiness image
// verify agrees on every image.
func TestKyvernoAdmitsOnlyGO(t *testing.T) {
	ctx := t.Context()
	reg := signtest.StartRegistry(t)
	team, other := signtest.KeyPair(t, "team"), signtest.KeyPair(t, "other")
	ro := sign.RegistryOptions{Retry: fast}
	pem, err := os.ReadFile(team.Public)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := admission.Generate(admission.Options{
		Format: admission.FormatKyverno, Name: admission.DefaultName, KeyPEM: pem, IgnoreTlog: true,
		RekorURL: admission.DefaultRekorURL, FulcioURL: admission.DefaultFulcioURL,
		MaxAge: maxAge, Images: []string{reg.Host + "/acme/*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var cp kyvernov1.ClusterPolicy
	if err := yaml.UnmarshalStrict(doc, &cp); err != nil {
		t.Fatalf("Kyverno's types refuse the generated policy: %v", err)
	}
	iv := cp.Spec.Rules[0].VerifyImages[0]

	cases := []evidenceCase{
		{name: "go", verdict: evidence.GO, age: time.Hour, admit: true},
		{name: "unsigned", unsigned: true, why: "no signatures found"},
		{name: "other-key", otherKey: true, verdict: evidence.GO, age: time.Hour, why: "no matching signatures"},
		{name: "too-old", verdict: evidence.GO, age: maxAge + time.Hour, why: "older than 720h0m0s"},
		{name: "future", verdict: evidence.GO, age: -time.Hour, why: "dated in the future"},
		{name: "another-digest", verdict: evidence.GO, age: time.Hour, copyFrom: "go", why: "no matching attestations"},
		{name: "nogo", verdict: evidence.NOGO, age: time.Hour, why: "verdict is not GO"},
		{name: "interrupted", verdict: evidence.GO, age: time.Hour, interrupted: true, why: "interrupted run"},
	}
	targets := map[string]*sign.Target{}
	for _, c := range cases {
		keys := team
		if c.otherKey {
			keys = other
		}
		targets[c.name] = pushCase(ctx, t, reg, ro, keys, c, targets)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := targets[c.name]
			err := kyvernoVerify(ctx, iv, tg.String())
			if admitted := err == nil; admitted != c.admit {
				t.Fatalf("Kyverno admitted=%v (err %v), want %v", admitted, err, c.admit)
			}
			if err != nil {
				t.Logf("refused: %v", err)
				if !strings.Contains(err.Error(), c.why) {
					t.Errorf("refused for another reason than %q: %v", c.why, err)
				}
			}
			v, err := sign.Verify(ctx, tg, sign.VerifyOptions{Key: team.Public, IgnoreTlog: true, MaxAge: maxAge, Registry: ro})
			if ok := err == nil && v.OK(); ok != c.admit {
				t.Errorf("readiness image verify ok=%v (%v %v), but the policy's answer is admit=%v", ok, err, v, c.admit)
			}
		})
	}
}

// kyvernoVerify is what Kyverno's engine does for one image and one
// verifyImages entry: match the references, verify the signature with the
// attestors, fetch and verify the attestations of the type, and hold every
// statement of that type to the conditions.
func kyvernoVerify(ctx context.Context, iv kyvernov1.ImageVerification, image string) error {
	if _, _, ok := wildcard.MatchPatterns(iv.ImageReferences, image); !ok {
		return fmt.Errorf("%s matches none of %v", image, iv.ImageReferences)
	}
	if _, err := kyvernocosign.NewVerifier().VerifySignature(ctx, keyOptions(iv.Attestors[0].Entries[0], image)); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	for _, a := range iv.Attestations {
		opts := keyOptions(a.Attestors[0].Entries[0], image)
		opts.FetchAttestations, opts.Type = true, a.Type
		resp, err := kyvernocosign.NewVerifier().FetchAttestations(ctx, opts)
		if err != nil {
			return fmt.Errorf("attestations: %w", err)
		}
		var n int
		for _, s := range resp.Statements {
			if s["type"] != a.Type {
				continue
			}
			n++
			ok, msg, err := evaluateConditions(a.Conditions, s)
			if err != nil {
				return fmt.Errorf("conditions: %w", err)
			}
			if !ok {
				return fmt.Errorf("attestation checks failed: %s", msg)
			}
		}
		if n == 0 {
			return fmt.Errorf("attestations not found for predicate type %s", a.Type)
		}
	}
	return nil
}

// keyOptions is the keys branch of Kyverno's buildCosignVerifier.
func keyOptions(at kyvernov1.Attestor, image string) verifiers.Options {
	o := verifiers.Options{ImageRef: image, Client: loopback{}, Key: at.Keys.PublicKeys, SignatureAlgorithm: at.Keys.SignatureAlgorithm,
		RekorURL: "https://rekor.sigstore.dev"}
	if r := at.Keys.Rekor; r != nil {
		o.RekorURL, o.RekorPubKey, o.IgnoreTlog = r.URL, r.RekorPubKey, r.IgnoreTlog
	}
	if c := at.Keys.CTLog; c != nil {
		o.IgnoreSCT, o.CTLogsPubKey, o.TSACertChain = c.IgnoreSCT, c.CTLogPubKey, c.TSACertChain
	}
	return o
}

// evaluateConditions is Kyverno's EvaluateConditions
// (pkg/engine/internal/utils.go): the predicate joins the JSON context,
// variables are substituted, the any/all conditions evaluated.
func evaluateConditions(conditions []kyvernov1.AnyAllConditions, s map[string]any) (bool, string, error) {
	predicate, ok := s["predicate"].(map[string]any)
	if !ok {
		return false, "", fmt.Errorf("failed to extract predicate from statement: %v", s)
	}
	jctx := enginecontext.NewContext(jmespath.New(config.NewDefaultConfiguration(false)))
	if err := enginecontext.AddJSONObject(jctx, predicate); err != nil {
		return false, "", err
	}
	c, err := variables.SubstituteAllInConditions(logr.Discard(), jctx, conditions)
	if err != nil {
		return false, "", fmt.Errorf("failed to substitute variables in attestation conditions: %w", err)
	}
	return variables.EvaluateAnyAllConditionsWithContext(logr.Discard(), jctx, c, "attestation.conditions")
}

// pushCase pushes, signs and attests one case's image.
func pushCase(ctx context.Context, t *testing.T, reg *signtest.Registry, ro sign.RegistryOptions, keys signtest.Keys, c evidenceCase, done map[string]*sign.Target) *sign.Target {
	t.Helper()
	d := reg.Push(t, "acme/"+c.name+":1", trivytest.Image("amd64", map[string]string{"case": c.name}))
	tg, err := sign.Resolve(ctx, d.String(), ro)
	if err != nil {
		t.Fatal(err)
	}
	if c.unsigned {
		return tg
	}
	s, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: keys.Private, PassFunc: keys.PassFunc()}, Registry: ro})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(ctx, tg); err != nil {
		t.Fatal(err)
	}
	if c.copyFrom != "" {
		from := done[c.copyFrom]
		src, _ := name.NewTag(fmt.Sprintf("%s:sha256-%s.att", from.Repository, from.Hex()))
		dst, _ := name.NewTag(fmt.Sprintf("%s:sha256-%s.att", tg.Repository, tg.Hex()))
		img, err := remote.Image(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(dst, img); err != nil {
			t.Fatal(err)
		}
		return tg
	}
	at := time.Now().Add(-c.age)
	doc := &evidence.Document{
		Schema: evidence.Schema, Tool: buildinfo.Get(), GeneratedAt: at,
		Settings: evidence.Settings{BlockOn: []string{"critical", "high"}}, Checks: []checks.Result{},
		Subjects: []checks.Subject{{Name: tg.Repository, Digest: tg.Digest}}, Waivers: []evidence.WaiverStatus{},
		Interrupted: c.interrupted,
		Verdict:     evidence.Verdict{Decision: c.verdict, Summary: c.verdict, Deny: []evidence.Message{}, Warn: []evidence.Message{}},
	}
	p, err := sign.NewEvidencePredicate(doc, tg, s.Identity())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attest(ctx, tg, []sign.Statement{{PredicateType: sign.EvidencePredicateType, Predicate: p}}); err != nil {
		t.Fatal(err)
	}
	return tg
}
