package model

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExprHelpers(t *testing.T) {
	s := "ghcr.io/${{ github.repository }}@${{ steps.build.outputs.digest }}"
	if got, want := ExprSpans(s), []Span{{8, 32}, {33, len(s)}}; !cmp.Equal(got, want) {
		t.Errorf("ExprSpans = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		s            string
		whole, opaqu bool
	}{
		{"${{ steps.meta.outputs.tags }}", true, true},
		{"ghcr.io/a/b:1.0", false, false},
		{"ghcr.io/a/b:$TAG", false, true},
		{"ghcr.io/a/b:${{ env.TAG }}", false, true},
	} {
		if got := WholeExpr(tc.s); got != tc.whole {
			t.Errorf("WholeExpr(%q) = %v, want %v", tc.s, got, tc.whole)
		}
		if got := Opaque(tc.s); got != tc.opaqu {
			t.Errorf("Opaque(%q) = %v, want %v", tc.s, got, tc.opaqu)
		}
	}
	if got, want := SplitAnd(CondText("${{ a && (b || c) && d }}")), []string{"a", "b || c", "d"}; !cmp.Equal(got, want) {
		t.Errorf("SplitAnd = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{"always()", true},
		{"!cancelled() && steps.scan.outcome == 'success'", false},
		{"!failure() && !cancelled()", false},
		{"success()", false},
	} {
		if got := RunsAfterFailure(tc.cond, "steps.scan.outcome"); got != tc.want {
			t.Errorf("RunsAfterFailure(%q) = %v, want %v", tc.cond, got, tc.want)
		}
	}
}
