package securitykey

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
)

// BenchmarkVerify measures one run of the gate on a typical key (Ed25519 +
// Cv25519, made by gpg) and its SECURITY.md: reading both files, parsing,
// verifying every self-signature, encrypting the test message, and
// matching the claims. The target is well under 50 ms of CPU.
//
//	go test ./internal/checks/securitykey -run '^$' -bench Verify -benchtime 200x -cpu 1
func BenchmarkVerify(b *testing.B) {
	for _, name := range []string{"good", "rsa3072"} {
		b.Run(name, func(b *testing.B) {
			dir := filepath.Join("testdata", "cases", name)
			env := checks.Env{Dir: dir, Root: dir, Now: func() time.Time { return judgedAt }}
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				res, err := New(Options{}, env).Run(context.Background())
				if err != nil || res.Status != checks.StatusPass {
					b.Fatalf("status %s, err %v", res.Status, err)
				}
			}
			if cpu0 >= 0 {
				// Process CPU (user+system, GC included) per verification.
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
