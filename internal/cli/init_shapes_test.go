package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"

	"github.com/readiness-dev/readiness/internal/testutil/golden"
	"github.com/readiness-dev/readiness/internal/testutil/need"
)

// TestInitThenCheckShapes runs `readiness init` then `readiness check`, in
// process, on a fixture repository of each shape issue 27 was tried on
// (testdata/initshapes/SHAPE; make-keys.sh made its keys), and compares
// the readiness.yaml init writes and what both commands print (timings and
// machine paths normalised) with SHAPE.readiness.yaml and SHAPE.txt beside
// it (go test -update rewrites them).
//
// A suite runs for real where the machine has its runner (go, pytest).
// Where it lacks it (meson, cmake, vitest, which nothing may download here)
// the verdict must be NO-GO and name what is missing: a suite that could
// not run is never a GO. npm runs offline against an empty cache, so npx
// fails instead of fetching vitest.
func TestInitThenCheckShapes(t *testing.T) {
	tests := []struct {
		shape string
		needs []string // tools the shape's suite runs with: skip (fail under CI) without them
		// absent is the runner this golden records as missing (the test
		// skips where it is installed: the suite would run for real);
		// the verdict must name it.
		absent   string
		wantCode int
	}{
		// Tests pass and the key is sound, but goreleaser signs with no scan first.
		{shape: "go-goreleaser-cosign", needs: []string{"go"}, wantCode: 1},
		{shape: "python-unittest-meson", needs: []string{"sh"}, absent: "meson", wantCode: 1},
		{shape: "pytest", needs: []string{"pytest"}, wantCode: 0},
		{shape: "node-vitest", needs: []string{"npx"}, absent: "vitest", wantCode: 1},
		{shape: "cmake", needs: []string{"sh"}, absent: "cmake", wantCode: 1},
		// No SECURITY.md and no test command: GO on the key alone, saying so.
		{shape: "security-txt-only-key", wantCode: 0},
		// No key promised: no security-key gate, the Go tests decide.
		{shape: "security-md-without-key", needs: []string{"go"}, wantCode: 0},
	}
	// run changes the working directory: the fixtures' path is absolute.
	fixtures, err := filepath.Abs(filepath.Join("testdata", "initshapes"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.shape, func(t *testing.T) {
			for _, tool := range tc.needs {
				if _, err := exec.LookPath(tool); err != nil {
					need.Skip(t, "%s is not installed", tool)
				}
			}
			if tc.absent == "vitest" {
				if _, err := exec.LookPath("vitest"); err == nil {
					t.Skip("vitest is installed: this golden is the verdict of a machine without it")
				}
			} else if tc.absent != "" {
				if _, err := exec.LookPath(tc.absent); err == nil {
					t.Skipf("%s is installed: this golden is the verdict of a machine without it", tc.absent)
				}
			}
			dir := filepath.Join(t.TempDir(), "repo")
			copyTree(t, filepath.Join(fixtures, tc.shape), dir)
			if _, err := git.PlainInit(dir, false); err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // the tests gate's logs go with the test's dirs
			t.Setenv("npm_config_offline", "true")
			t.Setenv("npm_config_cache", filepath.Join(tmp, "npm-cache"))
			t.Setenv("npm_config_yes", "false")
			t.Setenv("npm_config_update_notifier", "false")

			in := run(t, dir, nil, "init")
			if in.code != 0 {
				t.Fatalf("init: exit %d: %s", in.code, in.stderr)
			}
			written, err := os.ReadFile(filepath.Join(dir, "readiness.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join(fixtures, tc.shape+".readiness.yaml"), written)

			ck := run(t, dir, nil, "check")
			if ck.code != tc.wantCode {
				t.Errorf("check: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", ck.code, tc.wantCode, ck.stdout, ck.stderr)
			}
			verdict := lastLine(ck.stdout)
			if wantGO := tc.wantCode == 0; strings.HasPrefix(verdict, "GO") != wantGO {
				t.Errorf("verdict %q with exit %d", verdict, ck.code)
			}
			if tc.absent != "" {
				// The command line names the tool too: the output quoted
				// after it must say it is missing.
				_, quoted, _ := strings.Cut(ck.stdout, "wrote no report; output: ")
				if strings.HasPrefix(verdict, "GO") || !strings.Contains(quoted, tc.absent) {
					t.Errorf("without %s the verdict must be NO-GO and quote the output naming it:\n%s", tc.absent, ck.stdout)
				}
			}
			out := "$ readiness init\n" + in.stderr + "$ readiness check\n" + ck.stdout
			golden.Assert(t, filepath.Join(fixtures, tc.shape+".txt"), []byte(normalizeShapeOutput(out, dir, tmp, tc.absent)))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

var (
	// durationRE matches a Go duration as the text report prints it.
	durationRE = regexp.MustCompile(`\b[0-9]+(\.[0-9]+)?(ns|µs|ms|s|m)\b`)
	// failedRunRE matches what a suite's command printed before it died:
	// the shell's or npm's words for a missing tool differ by machine (the
	// test asserts the tool is named).
	failedRunRE = regexp.MustCompile(`exited [0-9]+ (in run .*) and wrote no report; output: .*`)
	// tempSuffixRE matches the random part of a temporary directory.
	tempSuffixRE = regexp.MustCompile(`(\$TMP/[a-z-]+?)-?[0-9]{5,}`)
	multiSpaceRE = regexp.MustCompile(` {2,}`)
)

// normalizeShapeOutput replaces what differs between runs and machines:
// the repository's and the temporary directory's paths, timings (and the
// table's padding, which follows their width) and a failed command's
// output (kept as the fact that it names the missing tool absent).
func normalizeShapeOutput(s, dir, tmp, absent string) string {
	s = strings.ReplaceAll(s, dir, "$REPO")
	s = strings.ReplaceAll(s, tmp, "$TMP")
	s = tempSuffixRE.ReplaceAllString(s, "${1}-N")
	s = failedRunRE.ReplaceAllStringFunc(s, func(m string) string {
		out := "…"
		if absent != "" && strings.Contains(m[strings.Index(m, "output: "):], absent) {
			out = "(this machine's words for: " + absent + " is missing)"
		}
		return failedRunRE.ReplaceAllString(m, "exited N ${1} and wrote no report; output: ") + out
	})
	lines := strings.Split(s, "\n")
	table := false
	for i, l := range lines {
		if strings.HasPrefix(l, "CHECK ") {
			table = true
		} else if l == "" {
			table = false
		}
		l = durationRE.ReplaceAllString(l, "<d>")
		if table {
			l = multiSpaceRE.ReplaceAllString(l, "  ")
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
