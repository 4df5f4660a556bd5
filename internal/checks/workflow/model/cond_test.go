package model

import "testing"

// FuzzRunsAfterFailure feeds arbitrary if: text to the condition reader:
// it must not panic, and a condition without a status function never runs
// after a failure.
func FuzzRunsAfterFailure(f *testing.F) {
	for _, s := range []string{"success() || failure()", "${{ !cancelled() && !failure() }}", "(((always()", "a && (b || c)) || !",
		"always() && contains(needs.*.result, 'failure')", "always() && steps.x.outcome == 'success'", "'unterminated && always()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cond string) {
		got := RunsAfterFailure(cond, "steps.x.outcome", "needs.scan.result")
		if got && !callsStatus(CondText(cond)) {
			t.Errorf("RunsAfterFailure(%q) = true without a status function", cond)
		}
	})
}
