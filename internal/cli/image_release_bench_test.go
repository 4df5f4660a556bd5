package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// BenchmarkImageRelease times `readiness image release` end to end, in
// process, against the in-process registry with the real trivy and the
// offline test DB, split into its phases (from --result). Every iteration
// releases a new digest, so every iteration really signs and attests.
//
//	go test -run XXX -bench BenchmarkImageRelease -benchtime 5x ./internal/cli/
func BenchmarkImageRelease(b *testing.B) {
	e := newRelEnv(b)
	refs := make([]string, b.N)
	for i := range refs {
		img := trivytest.Clean("amd64")
		cf, err := img.ConfigFile()
		if err != nil {
			b.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.Labels = map[string]string{"iteration": fmt.Sprint(i)}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			b.Fatal(err)
		}
		refs[i] = e.reg.Push(b, fmt.Sprintf("api:%d", i), img).String()
	}
	result := filepath.Join(b.TempDir(), "result.json")
	var sum sign.Phases
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		code, stdout, stderr := e.run(b, nil, nil, "image", "release", "--key", e.keys.Private, "--tlog-upload=false", "--result", result, refs[i])
		if code != 0 {
			b.Fatalf("release exit %d\n%s\n%s", code, stdout, stderr)
		}
		b.StopTimer()
		var res sign.ReleaseResult
		data, err := os.ReadFile(result)
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(data, &res); err != nil {
			b.Fatal(err)
		}
		sum.Key += res.Phases.Key
		sum.Resolve += res.Phases.Resolve
		sum.Gates += res.Phases.Gates
		sum.Sign += res.Phases.Sign
		sum.Attest += res.Phases.Attest
		sum.Verify += res.Phases.Verify
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(ms(sum.Key), "key-ms/op")
	b.ReportMetric(ms(sum.Resolve), "resolve-ms/op")
	b.ReportMetric(ms(sum.Gates), "gates-ms/op")
	b.ReportMetric(ms(sum.Sign), "sign-ms/op")
	b.ReportMetric(ms(sum.Attest), "attest-ms/op")
	b.ReportMetric(ms(sum.Verify), "verify-ms/op")
}
