package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stream builds a `go test -json` stream from compact lines.
func stream(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

const (
	pkgPass  = `{"Action":"pass","Package":"p","Elapsed":1.5}`
	runA     = `{"Action":"run","Package":"p","Test":"TestA"}`
	passA    = `{"Action":"pass","Package":"p","Test":"TestA"}`
	runHalf  = `{"Action":"run","Package":"p","Test":"TestA/postgres"}`
	halfWhy  = `{"Action":"output","Package":"p","Test":"TestA/postgres","Output":"    a_test.go:9: SKIPPING: READINESS_TEST_POSTGRES_DSN is not set\n"}`
	halfSkip = `{"Action":"skip","Package":"p","Test":"TestA/postgres"}`
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	allow := filepath.Join(dir, "allow")
	if err := os.WriteFile(allow, []byte("# comment\np TestA/postgres  the reason it may skip\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		in       string
		wantCode int
		want     []string
		notWant  []string
	}{
		{
			name: "all pass", in: stream(runA, passA, pkgPass),
			want: []string{"ok  \tp\t1.5s", "==> 0 skipped tests"},
		},
		{
			name: "a skipped half is listed with its reason, locally not fatal",
			in:   stream(runA, runHalf, halfWhy, halfSkip, passA, pkgPass),
			want: []string{"==> 1 skipped test", "p TestA/postgres: a_test.go:9: SKIPPING: READINESS_TEST_POSTGRES_DSN is not set"},
		},
		{
			name: "strict: a skip outside the allowlist fails", args: []string{"-strict"},
			in:       stream(runA, runHalf, halfWhy, halfSkip, passA, pkgPass),
			wantCode: 1,
			want:     []string{"[NOT ALLOWED under CI=true]", "FAIL: 1 test skipped under CI=true"},
		},
		{
			name: "strict: an allowlisted skip passes and says why", args: []string{"-strict", "-allow", allow},
			in:   stream(runA, runHalf, halfWhy, halfSkip, passA, pkgPass),
			want: []string{"[allowed: the reason it may skip]"}, notWant: []string{"NOT ALLOWED"},
		},
		{
			name: "a failed test shows its output", in: stream(runA,
				`{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:3: boom\n"}`,
				`{"Action":"fail","Package":"p","Test":"TestA"}`,
				`{"Action":"fail","Package":"p","Elapsed":2}`),
			wantCode: 1,
			want:     []string{"a_test.go:3: boom", "FAIL\tp\t2.0s", "FAIL: 1 failed test, 1 failed package", "  p TestA"},
		},
		{
			name: "a build failure shows the compiler", in: stream(
				`{"ImportPath":"p [p.test]","Action":"build-output","Output":"./a.go:1:1: syntax error\n"}`,
				`{"ImportPath":"p [p.test]","Action":"build-fail"}`,
				`{"Action":"fail","Package":"p","Elapsed":0,"FailedBuild":"p [p.test]"}`),
			wantCode: 1,
			want:     []string{"./a.go:1:1: syntax error", "FAIL\tp\t0.0s [build failed]"},
		},
		{
			name: "no result at all is a failure", in: "go: no Go files\n",
			wantCode: 1, want: []string{"go: no Go files", "go test did not run"},
		},
		{
			name: "a package without tests is no skip", in: stream(`{"Action":"skip","Package":"q"}`, pkgPass),
			want: []string{"==> 0 skipped tests"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.in), &out, &errOut)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.wantCode, out.String(), errOut.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestAllowlistNeedsReasons(t *testing.T) {
	_, err := parseAllowlist("allow", "p TestA\n")
	if err == nil || !strings.Contains(err.Error(), "allow:1:") {
		t.Fatalf("want an error at allow:1, got %v", err)
	}
}
