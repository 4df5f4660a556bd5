package sign_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/readiness-dev/readiness/internal/sign"
	"github.com/readiness-dev/readiness/internal/sign/signtest"
	"github.com/readiness-dev/readiness/internal/testutil/trivytest"
)

// An index that nests another index is refused: its inner images would
// ride on the outer signature without being listed, scanned or checked.
func TestResolveRefusesNestedIndex(t *testing.T) {
	reg := signtest.StartRegistry(t)
	nested := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: trivytest.MultiPlatform()})
	ref := reg.PushIndex(t, "api:nested", nested)
	_, err := sign.Resolve(context.Background(), ref.String(), sign.RegistryOptions{})
	if err == nil || !strings.Contains(err.Error(), "nested index") {
		t.Fatalf("Resolve(nested index) = %v, want a refusal naming the nested index", err)
	}
	flat := reg.PushIndex(t, "api:flat", trivytest.MultiPlatform())
	tg, err := sign.Resolve(context.Background(), flat.String(), sign.RegistryOptions{})
	if err != nil || !tg.Index || len(tg.Platforms) < 2 {
		t.Fatalf("Resolve(flat index) = %+v, %v; want an index with its platforms", tg, err)
	}
}
