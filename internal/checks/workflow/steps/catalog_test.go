package steps

import (
	"testing"

	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// TestCatalogNames checks that every name in the catalog of known actions
// is what model.ActionName yields for some uses: (lower-cased, no @ref), else
// the entry could never match a step.
func TestCatalogNames(t *testing.T) {
	var names []string
	for n := range knownActions {
		names = append(names, n)
	}
	for n := range wrapperActions {
		names = append(names, n)
	}
	for n := range programOutputs {
		names = append(names, n)
	}
	if len(names) == 0 {
		t.Fatal("the catalog is empty")
	}
	for _, n := range names {
		if got := model.ActionName(n + "@v1"); got != n {
			t.Errorf("catalog entry %q can never match: uses: %s@v1 is read as %q", n, n, got)
		}
		if _, dup := knownActions[n]; dup && wrapperActions[n] != nil {
			t.Errorf("%s is both a known action and a wrapper", n)
		}
	}
}
