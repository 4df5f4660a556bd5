package imageref

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{"ghcr.io/acme/api:1.2", Ref{Repo: "ghcr.io/acme/api", Tag: "1.2"}},
		{"localhost:5000/api@sha256:abc", Ref{Repo: "localhost:5000/api", Digest: "sha256:abc"}},
		{"localhost:5000/api", Ref{Repo: "localhost:5000/api"}},
		{"docker.io/library/alpine:3", Ref{Repo: "alpine", Tag: "3"}},
		{"alpine", Ref{Repo: "alpine"}},
		{"ghcr.io/a/b@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			Ref{Repo: "ghcr.io/a/b", Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
		{"${{ env.IMAGE }}:${{ github.sha }}", Ref{Repo: "${{ env.IMAGE }}", Tag: "${{ github.sha }}"}},
		{"${{ format('{0}:{1}', a, b) }}@${{ steps.b.outputs.digest }}", Ref{Repo: "${{ format('{0}:{1}', a, b) }}", Digest: "${{ steps.b.outputs.digest }}"}},
		{"${REGISTRY:-ghcr.io}/a:${TAG}", Ref{Repo: "${REGISTRY:-ghcr.io}/a", Tag: "${TAG}"}},
		{"registry:ghcr.io/a/b:t", Ref{Repo: "ghcr.io/a/b", Tag: "t"}},
	}
	for _, tt := range tests {
		if got := Parse(tt.in); got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("ghcr.io/a/b:1@sha256:x")
	f.Add("${{ a }}:${b}@${{ c }}")
	f.Fuzz(func(t *testing.T, s string) {
		r := Parse(s)
		if len(r.Repo)+len(r.Tag)+len(r.Digest) > len(s)+len("index.docker.io/library/") {
			t.Fatalf("Parse(%q) = %+v grew", s, r)
		}
	})
}
