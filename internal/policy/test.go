package policy

import (
	"context"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is one Rego unit test's outcome.
type TestResult struct {
	Name     string
	Location string
	Pass     bool
	Detail   string
}

// Test runs the test_* rules in the embedded policy's tests and in dirs,
// compiled together with the default policy, as `opa test` would.
func Test(ctx context.Context, dirs []string) ([]TestResult, error) {
	mods, err := embedded(true)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		user, err := ReadDir(d, true)
		if err != nil {
			return nil, err
		}
		mods = append(mods, user...)
	}
	parsed, err := parse(mods)
	if err != nil {
		return nil, err
	}
	ch, err := tester.NewRunner().SetModules(parsed).RaiseBuiltinErrors(true).Run(ctx, parsed)
	if err != nil {
		return nil, fmt.Errorf("run policy tests: %s", astError(err))
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{Name: r.Package + "." + r.Name, Pass: r.Pass()}
		if r.Location != nil {
			tr.Location = fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
		}
		if r.Error != nil {
			tr.Detail = ": " + r.Error.Error()
		} else if r.Fail {
			tr.Detail = ": test rule was false or undefined"
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Location < out[j].Location || (out[i].Location == out[j].Location && out[i].Name < out[j].Name)
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("no policy tests found (rules named test_* in *_test.rego files)")
	}
	return out, nil
}

// Count returns passed and failed totals (skipped tests count as neither).
func Count(res []TestResult) (passed, failed int) {
	for _, r := range res {
		if r.Pass {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}
