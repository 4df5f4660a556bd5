package workflow

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// benchCases are the fixtures the benchmark is made of, fixed so that
// new fixtures do not change what the figures measure.
var benchCases = []string{"actionlint", "docker-publish-starter", "goreleaser-no-scan", "invalid", "no-scan",
	"not-blocking", "pass-composite", "pass-needs", "pass-reusable", "pass-same-job", "push-before-scan",
	"ref-mismatch", "results-not-uploaded", "scan-after-sign", "scan-not-needed", "scan-other-workflow",
	"script-no-errexit", "self-gated", "severity-gap", "signing-not-visible", "unresolved", "workflow-run"}

// benchRepo assembles a repository of 30 workflow files from the fixtures
// (with the composite action, scripts and goreleaser config they use), as
// a realistic mix of release, CI and reusable workflows.
func benchRepo(tb testing.TB) string {
	tb.Helper()
	root := tb.TempDir()
	wfDir := filepath.Join(root, ".github", "workflows")
	var cases []string
	for _, c := range benchCases {
		cases = append(cases, filepath.Join("testdata/cases", c))
	}
	sort.Strings(cases)
	// Every valid fixture workflow, topped up to 30 from not-blocking's eleven.
	others := 0
	for _, c := range cases {
		if name := filepath.Base(c); name != "invalid" && name != "not-blocking" {
			files, _ := filepath.Glob(filepath.Join(c, ".github", "workflows", "*.yml"))
			others += len(files)
		}
	}
	n := 0
	for _, c := range cases {
		name := filepath.Base(c)
		if name == "invalid" {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(c, ".github", "workflows", "*.yml"))
		sort.Strings(files)
		if name == "not-blocking" {
			files = files[:min(max(30-others, 0), len(files))]
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			out := name + "-" + filepath.Base(f)
			s := strings.ReplaceAll(string(src), "./.github/workflows/scan-image.yml", "./.github/workflows/pass-reusable-scan-image.yml")
			write(tb, filepath.Join(wfDir, out), s)
			n++
		}
		// Supporting files: composite actions, scripts, goreleaser config.
		filepath.WalkDir(c, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(p, "/workflows/") || strings.HasSuffix(p, ".golden") {
				return nil
			}
			rel, _ := filepath.Rel(c, p)
			if _, err := os.Stat(filepath.Join(root, rel)); err == nil {
				return nil
			}
			src, _ := os.ReadFile(p)
			write(tb, filepath.Join(root, rel), string(src))
			return nil
		})
	}
	if n != 30 {
		tb.Fatalf("bench repository has %d workflows, want 30", n)
	}
	return root
}

func write(tb testing.TB, p, s string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestBenchRepo(t *testing.T) {
	rep, err := Analyze(context.Background(), benchRepo(t), DefaultDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Workflows) != 30 || len(rep.Signings) < 30 {
		t.Fatalf("%d workflows, %d signing steps", len(rep.Workflows), len(rep.Signings))
	}
}

// BenchmarkAnalyze30 analyses a repository of 30 workflows from disk, as
// the gate does: read, parse, follow, judge, and run actionlint's rules.
func BenchmarkAnalyze30(b *testing.B) {
	root := benchRepo(b)
	for _, lint := range []bool{true, false} {
		name := "actionlint"
		if !lint {
			name = "no-actionlint"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := AnalyzeWith(context.Background(), Config{Root: root, Actionlint: lint}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
