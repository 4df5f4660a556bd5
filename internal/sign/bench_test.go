package sign_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/sigstoretest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// uniqueImage is the clean test image with a label that gives it a new
// digest, so every iteration signs something never signed before.
func uniqueImage(b *testing.B, i int) v1.Image {
	b.Helper()
	img := trivytest.Clean("amd64")
	cf, err := img.ConfigFile()
	if err != nil {
		b.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{"iteration": fmt.Sprint(i)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		b.Fatal(err)
	}
	return img
}

// reportPhases adds the mean of each release phase to the benchmark.
func reportPhases(b *testing.B, total sign.Phases) {
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(ms(total.Resolve), "resolve-ms/op")
	b.ReportMetric(ms(total.Gates), "gates-ms/op")
	b.ReportMetric(ms(total.Sign), "sign-ms/op")
	b.ReportMetric(ms(total.Attest), "attest-ms/op")
	b.ReportMetric(ms(total.Verify), "verify-ms/op")
}

func addPhases(sum *sign.Phases, p sign.Phases) {
	sum.Resolve += p.Resolve
	sum.Gates += p.Gates
	sum.Sign += p.Sign
	sum.Attest += p.Attest
	sum.Verify += p.Verify
}

// BenchmarkRelease_CannedVerdict times the release flow against the in-process registry
// with a key pair and the transparency log off; the gates are a canned GO
// (the CLI's BenchmarkImageRelease runs the real trivy).
func BenchmarkRelease_CannedVerdict(b *testing.B) {
	reg := signtest.StartRegistry(b)
	keys := signtest.KeyPair(b, password)
	s, err := sign.New(context.Background(), sign.Options{Key: sign.KeyOptions{KeyRef: keys.Private, PassFunc: keys.PassFunc()}})
	if err != nil {
		b.Fatal(err)
	}
	rel := &sign.Release{Signer: s, Gates: cannedGates(b, evidence.GO, time.Now()), Now: time.Now}
	refs := make([]string, b.N)
	for i := range refs {
		refs[i] = reg.Push(b, fmt.Sprintf("app:%d", i), uniqueImage(b, i)).String()
	}
	var sum sign.Phases
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := rel.Run(context.Background(), refs[i])
		if err != nil {
			b.Fatal(err)
		}
		addPhases(&sum, res.Phases)
	}
	b.StopTimer()
	reportPhases(b, sum)
}

// BenchmarkKeylessRelease_CannedVerdict is BenchmarkRelease_CannedVerdict signing keylessly against the
// private Sigstore on loopback (sigstoretest): each iteration is a new
// signer, so it pays for the ephemeral key and a Fulcio certificate (in
// the sign phase) as a real keyless release does.
func BenchmarkKeylessRelease_CannedVerdict(b *testing.B) {
	reg := signtest.StartRegistry(b)
	sg := sigstoretest.Start(b)
	token := sg.Token(b, nil)
	gates := cannedGates(b, evidence.GO, time.Now())
	refs := make([]string, b.N)
	for i := range refs {
		refs[i] = reg.Push(b, fmt.Sprintf("app:%d", i), uniqueImage(b, i)).String()
	}
	var sum sign.Phases
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := sign.New(context.Background(), sign.Options{
			Key:         sign.KeyOptions{Keyless: sign.KeylessOptions{FulcioURL: sg.FulcioURL, IDToken: token, OIDCIssuer: sg.Issuer}},
			TrustedRoot: sg.TrustedRoot,
		})
		if err != nil {
			b.Fatal(err)
		}
		res, err := (&sign.Release{Signer: s, Gates: gates, Now: time.Now}).Run(context.Background(), refs[i])
		if err != nil {
			b.Fatal(err)
		}
		addPhases(&sum, res.Phases)
	}
	b.StopTimer()
	reportPhases(b, sum)
}
