package admission

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/policy-controller/pkg/policy"
	"go.uber.org/zap"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/logging"

	"github.com/readiness-dev/readiness/internal/admission"
)

// TestPolicyControllerAdmitsOnlyGO compiles the generated
// ClusterImagePolicy with policy-controller's policy package (what its
// tester command runs) and verifies each image with it: only the signed,
// fresh GO digest is admitted. readiness image verify (sign.Verify) must
// reach the same answer for every image: the policy never admits what
// verify refuses.
func TestPolicyControllerAdmitsOnlyGO(t *testing.T) {
	w := newWorld(t)
	cases := evidenceCases(w)
	targets := w.push(t, cases)
	doc := w.policy(t, admission.FormatPolicyController)

	ctx := logging.WithLogger(t.Context(), zap.NewNop().Sugar())
	pols := []policy.Source{{Data: string(doc)}}
	v := policy.Verification{NoMatchPolicy: "deny", Policies: &pols}
	if fe := v.Validate(ctx); fe != nil {
		if e := fe.Filter(apis.ErrorLevel); e != nil {
			t.Fatalf("policy-controller refuses the generated policy: %v", e)
		}
		t.Logf("policy-controller warns: %v", fe)
	}
	var warnings []string
	vfy, err := policy.Compile(ctx, v, func(f string, a ...any) { warnings = append(warnings, f) })
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if len(warnings) > 0 {
		t.Fatalf("compile warnings: %v", warnings)
	}
	// policy-controller checks its authorities concurrently and reports
	// the first that fails: an image with neither a signature nor an
	// attestation by the signer may be refused by either.
	why := map[string][]string{
		"unsigned":       {"no signatures found", "no matching attestations"},
		"other-key":      {"no matching signatures", "no matching attestations"},
		"too-old":        {"older than 720h0m0s"},
		"future":         {"dated in the future"},
		"another-digest": {"no matching attestations"},
		"nogo":           {"the attested verdict is not GO"},
		"interrupted":    {"interrupted run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := targets[c.name]
			ref, err := name.ParseReference(tg.String())
			if err != nil {
				t.Fatal(err)
			}
			err = vfy.Verify(ctx, ref, authn.DefaultKeychain)
			if admitted := err == nil; admitted != c.admit {
				t.Fatalf("policy-controller admitted=%v (err %v), want %v", admitted, err, c.admit)
			}
			if err != nil {
				t.Logf("refused: %v", err)
				if !slices.ContainsFunc(why[c.name], func(w string) bool { return strings.Contains(err.Error(), w) }) {
					t.Errorf("refused for another reason than %q: %v", why[c.name], err)
				}
			}
			ok, failures := w.verifies(ctx, t, tg)
			if ok != c.admit {
				t.Errorf("readiness image verify ok=%v (%v), but the policy's answer is admit=%v", ok, failures, c.admit)
			}
		})
	}
}
