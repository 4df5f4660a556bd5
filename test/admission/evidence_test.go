// Package admission tests the policies `readiness admission policy` writes
// against the real evaluators: Sigstore policy-controller's own policy
// package (what its tester runs) and Kyverno's condition evaluation, on
// images in an in-process registry that readiness's own internal/sign
// signs and attests. It is a separate module so that the evaluators'
// weight never reaches the release binary.
//
// Its import path lies under github.com/readiness-dev/readiness, so Go's
// internal rule (judged by import path in module mode) lets it import the
// main module's internal packages through the replace directive.
package admission

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/readiness-dev/readiness/internal/admission"
	"github.com/readiness-dev/readiness/internal/buildinfo"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

const maxAge = 720 * time.Hour

// fast keeps registry retries short; the registry is in-process.
var fast = sign.Retry{Attempts: 2, Initial: time.Millisecond, Max: time.Millisecond}

// world is a registry, the team's key pair and another key pair.
type world struct {
	reg   *signtest.Registry
	team  signtest.Keys
	other signtest.Keys
	ro    sign.RegistryOptions
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return &world{
		reg:   signtest.StartRegistry(t),
		team:  signtest.KeyPair(t, "team"),
		other: signtest.KeyPair(t, "other"),
		ro:    sign.RegistryOptions{Retry: fast},
	}
}

// evidenceCase says how an image is pushed, signed and attested.
type evidenceCase struct {
	name string
	// unsigned pushes the image with neither signature nor attestation.
	unsigned bool
	// signKey signs and attests; the team's key when zero.
	signKey *signtest.Keys
	verdict string
	age     time.Duration
	// interrupted marks the evidence as from an interrupted run.
	interrupted bool
	// copyFrom, when set, replaces the image's attestations with those of
	// another image that was attested GO (the other image's name).
	copyFrom string
	admit    bool
}

func evidenceCases(w *world) []evidenceCase {
	return []evidenceCase{
		{name: "go", verdict: evidence.GO, age: time.Hour, admit: true},
		{name: "unsigned", unsigned: true},
		{name: "other-key", signKey: &w.other, verdict: evidence.GO, age: time.Hour},
		{name: "too-old", verdict: evidence.GO, age: maxAge + time.Hour},
		{name: "future", verdict: evidence.GO, age: -time.Hour},
		{name: "another-digest", verdict: evidence.GO, age: time.Hour, copyFrom: "go"},
		{name: "nogo", verdict: evidence.NOGO, age: time.Hour},
		{name: "interrupted", verdict: evidence.GO, age: time.Hour, interrupted: true},
	}
}

// push builds each case's image in repo acme/<name>, distinct content
// per case, and signs and attests it as the case says. It returns the
// digest reference of each case by name.
func (w *world) push(t *testing.T, cases []evidenceCase) map[string]*sign.Target {
	t.Helper()
	ctx := t.Context()
	out := map[string]*sign.Target{}
	for _, c := range cases {
		d := w.reg.Push(t, "acme/"+c.name+":1", trivytest.Image("amd64", map[string]string{"case": c.name}))
		tg, err := sign.Resolve(ctx, d.String(), w.ro)
		if err != nil {
			t.Fatalf("resolve %s: %v", d, err)
		}
		out[c.name] = tg
		if c.unsigned {
			continue
		}
		keys := w.team
		if c.signKey != nil {
			keys = *c.signKey
		}
		s, err := sign.New(ctx, sign.Options{Key: sign.KeyOptions{KeyRef: keys.Private, PassFunc: keys.PassFunc()}, Registry: w.ro})
		if err != nil {
			t.Fatalf("load signer: %v", err)
		}
		if _, err := s.Sign(ctx, tg); err != nil {
			t.Fatalf("sign %s: %v", c.name, err)
		}
		if c.copyFrom != "" {
			copyAttestations(t, out[c.copyFrom], tg)
			continue
		}
		p := predicate(t, tg, s.Identity(), c.verdict, time.Now().Add(-c.age), c.interrupted)
		if _, err := s.Attest(ctx, tg, []sign.Statement{{PredicateType: sign.EvidencePredicateType, Predicate: p}}); err != nil {
			t.Fatalf("attest %s: %v", c.name, err)
		}
	}
	return out
}

// predicate is the evidence predicate readiness writes, around a small
// document about tg.
func predicate(t *testing.T, tg *sign.Target, signer sign.Identity, verdict string, at time.Time, interrupted bool) *sign.EvidencePredicate {
	t.Helper()
	doc := &evidence.Document{
		Schema: evidence.Schema, Tool: buildinfo.Get(), GeneratedAt: at,
		Settings:    evidence.Settings{BlockOn: []string{"critical", "high"}},
		Checks:      []checks.Result{},
		Subjects:    []checks.Subject{{Name: tg.Repository, Digest: tg.Digest}},
		Waivers:     []evidence.WaiverStatus{},
		Interrupted: interrupted,
		Verdict:     evidence.Verdict{Decision: verdict, Summary: verdict, Deny: []evidence.Message{}, Warn: []evidence.Message{}},
	}
	p, err := sign.NewEvidencePredicate(doc, tg, signer)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// copyAttestations puts from's attestation manifest (signed statements
// about from's digest) at to's attestation tag, as someone with push
// rights to the registry but not the key could.
func copyAttestations(t *testing.T, from, to *sign.Target) {
	t.Helper()
	src, err := name.NewTag(fmt.Sprintf("%s:sha256-%s.att", from.Repository, from.Hex()))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewTag(fmt.Sprintf("%s:sha256-%s.att", to.Repository, to.Hex()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src)
	if err != nil {
		t.Fatalf("read %s: %v", src, err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatalf("write %s: %v", dst, err)
	}
}

// verifies reports whether readiness image verify accepts tg with the
// same demands as the policy: the team's key, no log, maxAge.
func (w *world) verifies(ctx context.Context, t *testing.T, tg *sign.Target) (bool, []string) {
	t.Helper()
	v, err := sign.Verify(ctx, tg, sign.VerifyOptions{Key: w.team.Public, IgnoreTlog: true, MaxAge: maxAge, Registry: w.ro})
	if err != nil {
		return false, []string{err.Error()}
	}
	return v.OK(), v.Failures
}

// policy writes the admission policy for the team's key over the
// registry's acme/ images.
func (w *world) policy(t *testing.T, format string) []byte {
	t.Helper()
	pem, err := os.ReadFile(w.team.Public)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := admission.Generate(admission.Options{
		Format: format, Name: admission.DefaultName, KeyPEM: pem, IgnoreTlog: true,
		RekorURL: admission.DefaultRekorURL, FulcioURL: admission.DefaultFulcioURL,
		MaxAge: maxAge, Images: []string{w.reg.Host + "/acme/*"},
	})
	if err != nil {
		t.Fatalf("generate %s policy: %v", format, err)
	}
	if dir := os.Getenv("ADMISSION_POLICY_DIR"); dir != "" {
		// For a person who wants to read what was tested.
		_ = os.WriteFile(filepath.Join(dir, format+".yaml"), doc, 0o644)
	}
	return doc
}
