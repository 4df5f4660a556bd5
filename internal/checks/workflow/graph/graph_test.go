package graph

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// mapLoader reads workflows from memory and knows no remote ones.
type mapLoader map[string]string

func (m mapLoader) Workflow(p string) *model.Workflow {
	src, ok := m[p]
	if !ok {
		return &model.Workflow{Path: p, Invalid: "does not exist"}
	}
	return model.ParseWorkflow(p, []byte(src))
}

func (mapLoader) Remote(*model.Workflow, string) (RemoteCall, bool) { return RemoteCall{}, false }

// TestBuild checks the job instances, their needs closure across a local
// reusable call, and the notes for calls that cannot be followed.
func TestBuild(t *testing.T) {
	files := mapLoader{
		"w/release.yml": `on: push
jobs:
  build: {runs-on: x, steps: [{run: make}]}
  scan: {needs: build, uses: ./w/scan.yml}
  sign: {needs: scan, runs-on: x, steps: [{run: cosign sign x}]}
  loop: {uses: ./w/release.yml}
  gone: {uses: ./w/missing.yml}
  remote: {uses: acme/ci/.github/workflows/x.yml@v1}
`,
		"w/scan.yml": `on: workflow_call
jobs:
  trivy: {runs-on: x, steps: [{run: trivy image x}]}
`,
	}
	var notes []string
	g := Build(files.Workflow("w/release.yml"), files, func(n Note) { notes = append(notes, n.Rule+"/"+n.Subject) })

	var keys []string
	for _, j := range g.Jobs {
		keys = append(keys, j.Key)
	}
	if diff := cmp.Diff([]string{"build", "scan", "scan/trivy", "sign", "loop", "gone", "remote"}, keys); diff != "" {
		t.Errorf("job instances (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"scan/trivy"}, g.ByKey["sign"].Needs); diff != "" {
		t.Errorf("sign needs (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		x, y string
		want bool
	}{
		{"build", "sign", true}, {"scan/trivy", "sign", true}, {"build", "scan/trivy", true},
		{"sign", "build", false}, {"loop", "sign", false},
	} {
		if got := g.Before(g.ByKey[tt.x], g.ByKey[tt.y]); got != tt.want {
			t.Errorf("Before(%s, %s) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
	if !g.ByKey["scan/trivy"].Leaf() || g.ByKey["scan"].Leaf() {
		t.Error("a reusable call is not a leaf; its jobs are")
	}
	if diff := cmp.Diff([]string{
		"WF-UNRESOLVED-REUSABLE/w/release.yml/loop/call",
		"WF-UNRESOLVED-REUSABLE/w/release.yml/gone/call",
	}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if got := g.ByKey["remote"].Remote; got != "acme/ci/.github/workflows/x.yml@v1" {
		t.Errorf("remote call not read: Remote = %q", got)
	}
}

// TestResolve checks that expressions resolve through env, a reusable
// workflow's inputs and needs outputs, and stay as written otherwise.
func TestResolve(t *testing.T) {
	files := mapLoader{
		"w/a.yml": `on: push
env: {REG: ghcr.io/acme}
jobs:
  meta:
    runs-on: x
    outputs: {tag: v1}
    steps: [{run: 'true'}]
  call:
    needs: meta
    uses: ./w/b.yml
    with: {image: '${{ env.REG }}/app:${{ needs.meta.outputs.tag }}'}
`,
		"w/b.yml": `on:
  workflow_call:
    inputs: {image: {type: string}}
jobs:
  sign: {runs-on: x, steps: [{run: 'cosign sign $IMG'}]}
`,
	}
	g := Build(files.Workflow("w/a.yml"), files, func(Note) {})
	sign := g.ByKey["call/sign"]
	sc := Scope{Graph: g, Job: sign, Local: map[string]string{"IMG": "${{ inputs.image }}"}}
	for _, tt := range []struct{ in, want string }{
		{"${{ inputs.image }}", "ghcr.io/acme/app:v1"},
		{"$IMG", "ghcr.io/acme/app:v1"},
		{"${{ github.sha }}", "${{ github.sha }}"},
		{"${{ steps.x.outputs.digest }}", "${{ jobs.call/sign.steps.x.outputs.digest }}"},
	} {
		if got := sc.ResolveShell(tt.in); got != tt.want {
			t.Errorf("ResolveShell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
