package testsuite

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks/checkstest"
)

// TestRulesNamed: every rule the source builds a finding of is in
// rules.yaml, so that none reaches a user as the book's defect finding.
func TestRulesNamed(t *testing.T) {
	checkstest.RulesNamed(t, ".", book)
}

// TestRulesDocumented: every rule the gate emits is in rules.yaml with a
// remediation, and in the user documentation.
func TestRulesDocumented(t *testing.T) {
	g := Gate()
	var ids []string
	for _, r := range g.Rules.Rules() {
		ids = append(ids, r.ID)
	}
	// The rule IDs the code emits, read from the source so that a new one
	// cannot be added without documenting it.
	var emitted []string
	re := regexp.MustCompile(`"(TESTS-[A-Z-]+)"`)
	for _, f := range []string{"analyze.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(emitted, m[1]) {
				emitted = append(emitted, m[1])
			}
		}
	}
	slices.Sort(ids)
	slices.Sort(emitted)
	if diff := cmp.Diff(ids, emitted); diff != "" {
		t.Errorf("rules.yaml vs rules emitted by analyze.go (-yaml +code):\n%s", diff)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "gates", "tests.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !strings.Contains(string(doc), id) {
			t.Errorf("docs/gates/tests.md does not mention %s", id)
		}
	}
	if g.Type != "tests" || g.New == nil {
		t.Errorf("gate %+v", g)
	}
}
