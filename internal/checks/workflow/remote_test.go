package workflow

import (
	"io/fs"
	"path"
	"testing"
)

func TestParseRemoteWorkflow(t *testing.T) {
	for _, tc := range []struct {
		uses string
		want RemoteWorkflow
		ok   bool
	}{
		{"acme/wf/.github/workflows/sign.yml@v2", RemoteWorkflow{"acme", "wf", ".github/workflows/sign.yml", "v2"}, true},
		{"acme/wf/.github/workflows/sign.yaml@release/v2", RemoteWorkflow{"acme", "wf", ".github/workflows/sign.yaml", "release/v2"}, true},
		{"./.github/workflows/sign.yml", RemoteWorkflow{}, false},
		{"acme/wf/.github/workflows/sign.yml", RemoteWorkflow{}, false},
		{"acme/wf/.github/workflows/sign.yml@../../etc", RemoteWorkflow{}, false},
		{"../wf/.github/workflows/sign.yml@v1", RemoteWorkflow{}, false},
		{"acme/wf/../../x.yml@v1", RemoteWorkflow{}, false},
		{"acme/wf/.github/workflows/sign.yml@${{ inputs.ref }}", RemoteWorkflow{}, false},
		{"actions/checkout@v4", RemoteWorkflow{}, false},
	} {
		got, ok := parseRemoteWorkflow(tc.uses)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseRemoteWorkflow(%q) = %+v, %v; want %+v, %v", tc.uses, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseRemoteWorkflow: whatever a uses: says, the cache path it leads
// to stays inside the cache.
func FuzzParseRemoteWorkflow(f *testing.F) {
	for _, s := range []string{"acme/wf/.github/workflows/sign.yml@v2", "a/b/../c.yml@x", "a/b/c.yml@/etc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uses string) {
		r, ok := parseRemoteWorkflow(uses)
		if !ok {
			return
		}
		if p := path.Join(r.Owner, r.Repo, r.Ref, r.Path); !fs.ValidPath(p) || p != path.Clean(p) || len(p) > 2 && p[:3] == "../" {
			t.Errorf("%q leads to %q, outside the cache", uses, p)
		}
	})
}
