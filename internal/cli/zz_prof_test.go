package cli

import (
	"os"
	"testing"
)

func TestZZProfScan(t *testing.T) {
	img := os.Getenv("PROF_IMG")
	if img == "" {
		t.Skip()
	}
	for i := 0; i < 20; i++ {
		io, _, _ := Test()
		io.Getenv = os.Getenv
		Main([]string{"image", "scan", "--skip-db-update", "--cache-dir", "/tmp/lean/bench/cache", "--report-dir", "/tmp/lean/bench/reports", "--input", img}, io)
	}
}
