package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// fakeTrivy writes a "trivy" that runs script whatever it is asked. It
// stands in for a trivy that hangs or is slow, which the real one will not
// do on demand.
func fakeTrivy(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trivy")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The advice of a scan that ran out of time names what set its deadline:
// `image scan --timeout` told users to edit readiness.yaml, and a
// readiness.yaml's shorter run timeout cut a scan the flag had allowed.
func TestImageScanTimeoutAdvice_FakeSlowTrivy(t *testing.T) {
	fx := trivytest.Load(t)
	tests := []struct {
		name     string
		config   string
		trivy    string
		args     []string
		want     []string
		wantNone []string
	}{
		{
			name:     "flag sets the deadline",
			trivy:    "sleep 30",
			args:     []string{"--timeout", "300ms"},
			want:     []string{"timed out (300ms); raise --timeout"},
			wantNone: []string{"raise its timeout"}, // the rule's generic remedy still mentions readiness.yaml
		},
		{
			name:   "config sets the deadline",
			config: "checks:\n  - name: scan\n    type: image-scan\n    timeout: 300ms\n",
			trivy:  "sleep 30",
			want:   []string{"timed out after 300ms", "raise its timeout at ", "readiness.yaml:3"},
		},
		{
			// The fake fails after 1s: the failure, not the config's 300ms
			// run timeout, is what must be reported.
			name:     "flag outlasts the config's run timeout",
			config:   "timeout: 300ms\nchecks:\n  - {name: scan, type: image-scan}\n",
			trivy:    "sleep 1; echo 'fake trivy: broken on purpose' >&2; exit 3",
			args:     []string{"--timeout", "20s"},
			want:     []string{"broken on purpose"},
			wantNone: []string{"timed out", "stopped before it finished"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "readiness.yaml"), []byte("version: 1\n"+tt.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"image", "scan", "--input", fx.AlpineTar, "--trivy", fakeTrivy(t, tt.trivy), "--report-dir", t.TempDir()}, tt.args...)
			code, stdout, stderr := imgRun(t, dir, args...)
			if code != 1 {
				t.Errorf("exit %d, want 1 (NO-GO)\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, stdout)
				}
			}
		})
	}
}
