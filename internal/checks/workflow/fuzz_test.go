package workflow

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func fixtureWorkflows(f *testing.F) {
	paths, _ := filepath.Glob("testdata/cases/*/.github/workflows/*")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n          trivy image --exit-code 1 x || true\n          cosign sign x\n"))
	f.Add([]byte("on: push\njobs:\n  a:\n    uses: ./.github/workflows/fuzz.yml\n"))
	f.Add([]byte("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: ./act\n        with: {image: '${{ inputs.image }}'}\n"))
	f.Add([]byte("&a [*a, *a, *a]"))
	f.Add([]byte("on: push\njobs: {a: {needs: [b], runs-on: x, steps: [{run: x}]}, b: {needs: a, runs-on: x, steps: [{run: y}]}}"))
}

// FuzzAnalyze runs the whole analysis on one workflow file in an
// in-memory repository (which also holds a composite action that calls
// itself and a script): never a panic, and every finding well formed.
func FuzzAnalyze(f *testing.F) {
	fixtureWorkflows(f)
	known := map[string]bool{}
	for _, r := range Rules() {
		known[r.ID] = true
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{
			".github/workflows/fuzz.yml": {Data: src},
			"act/action.yml":             {Data: []byte("runs:\n  using: composite\n  steps:\n    - uses: ./act\n    - run: cosign sign ${{ inputs.image }}\n      shell: bash\n")},
			"scripts/x.sh":               {Data: []byte("#!/bin/sh\n./scripts/x.sh \"$1\"\ntrivy image \"$1\"\n")},
		}
		rep, err := AnalyzeWith(context.Background(), Config{Root: ".", Actionlint: true, MaxFileBytes: 1 << 16, fsys: fsys})
		if err != nil {
			t.Fatalf("AnalyzeWith: %v", err)
		}
		for _, fd := range rep.Findings {
			if !known[fd.Rule] || !fd.Severity.Valid() || fd.ID == "" || fd.Message == "" || fd.Location == nil || fd.Location.Path == "" {
				t.Fatalf("malformed finding %+v", fd)
			}
		}
		for _, s := range rep.Signings {
			if s.Decision == "" || s.Line <= 0 {
				t.Fatalf("malformed signing %+v", s)
			}
		}
	})
}
