package ociindex_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/readiness-dev/readiness/internal/ociindex"
)

func image(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// attestationImage is what buildx writes: one in-toto layer.
func attestationImage(t *testing.T) v1.Image {
	t.Helper()
	l := static.NewLayer([]byte(`{"_type":"https://in-toto.io/Statement/v0.1"}`), "application/vnd.in-toto+json")
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func plat(s string) *v1.Platform {
	p, _ := v1.ParsePlatform(s)
	return p
}

func TestClassify(t *testing.T) {
	claimed := map[string]string{"vnd.docker.reference.type": "attestation-manifest"}
	tests := []struct {
		name    string
		entries []mutate.IndexAddendum
		want    []string // kind/platform per entry
		wantErr string
	}{
		{"buildx attestation is skipped", []mutate.IndexAddendum{
			{Add: image(t), Descriptor: v1.Descriptor{Platform: plat("linux/amd64")}},
			{Add: attestationImage(t), Descriptor: v1.Descriptor{Platform: plat("unknown/unknown"), Annotations: claimed}},
		}, []string{"image linux/amd64", "attestation unknown/unknown"}, ""},
		// Hole 1 of issue 12: the annotation alone made an entry skipped.
		{"a linux/amd64 image that only claims to be an attestation is an image", []mutate.IndexAddendum{
			{Add: image(t), Descriptor: v1.Descriptor{Platform: plat("linux/amd64"), Annotations: claimed}},
			{Add: image(t), Descriptor: v1.Descriptor{Platform: plat("linux/amd64")}},
		}, []string{"image linux/amd64", "image linux/amd64"}, ""},
		{"unknown/unknown over ordinary layers is an image", []mutate.IndexAddendum{
			{Add: image(t), Descriptor: v1.Descriptor{Platform: plat("unknown/unknown"), Annotations: claimed}},
		}, []string{"image unknown/unknown"}, ""},
		{"in-toto layers on a real platform are an image", []mutate.IndexAddendum{
			{Add: attestationImage(t), Descriptor: v1.Descriptor{Platform: plat("linux/arm64")}},
		}, []string{"image linux/arm64"}, ""},
		{"nested index", []mutate.IndexAddendum{
			{Add: empty.Index, Descriptor: v1.Descriptor{MediaType: types.OCIImageIndex}},
		}, []string{"index "}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := mutate.AppendManifests(empty.Index, tt.entries...)
			got, err := ociindex.Classify(idx)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, e := range got {
				kinds = append(kinds, e.Kind.String()+" "+e.Platform)
			}
			if diff := cmp.Diff(tt.want, kinds); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassifyRefusesAnUnknownEntryWithAPlatform(t *testing.T) {
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: image(t), Descriptor: v1.Descriptor{Platform: plat("linux/amd64")}},
		mutate.IndexAddendum{Add: image(t), Descriptor: v1.Descriptor{Platform: plat("linux/arm64"), MediaType: "application/vnd.example.thing+json"}},
	)
	_, err := ociindex.Classify(idx)
	if err == nil || !strings.Contains(err.Error(), "linux/arm64") {
		t.Fatalf("err = %v, want a refusal naming the linux/arm64 entry", err)
	}
}
