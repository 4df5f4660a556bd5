package testsuite

import (
	"fmt"
	"slices"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
)

// command is `readiness tests run`: every tests check of readiness.yaml,
// or those holding the suites named with --suite.
func command() *checks.Command {
	return &checks.Command{
		Group: "tests", GroupShort: "Run the project's own test suites through the tests gate",
		Use:   "run",
		Short: "Run only the tests gate from readiness.yaml and print GO or NO-GO",
		Long: `Runs every check of type "tests" in readiness.yaml (or only the suites named
with --suite), judges the result with the policy, and prints the verdict.
Exit codes: 0 GO, 1 NO-GO, 2 usage or configuration error.`,
		Example: `  readiness tests run
  readiness tests run --suite go --repeat 5
  readiness tests run --format json --output tests-evidence.json`,
		ConfigFlagUsage: "configuration `FILE` (default: readiness.yaml, .readiness.yaml or .github/readiness.yaml, found from here up to the repository root; $READINESS_CONFIG overrides)",
		AllOfType:       true,
		Flags: []checks.Flag{
			{Name: "suite", Key: "only", Kind: checks.FlagStrings, Usage: "run only the suite `NAME` (repeatable)"},
			{Name: "repeat", Key: "repeat", Kind: checks.FlagInt, Usage: "run each suite `N` times, overriding its repeat: (flaky tests show up as TESTS-FLAKY)"},
			{Name: "log-dir", Key: "log_dir", Kind: checks.FlagPath, Usage: "write the suites' logs to `DIR` instead of log_dir or a new temporary directory"},
		},
		Select: selectChecks,
	}
}

// selectChecks names the tests checks that hold a suite --suite names (all
// of them without --suite); a name no check holds is an error.
func selectChecks(env checks.Env, specs []config.CheckSpec, set map[string]any) ([]string, error) {
	only, _ := set["only"].([]string)
	var all, names []string
	for _, spec := range specs {
		suites, err := ConfiguredSuites(env, spec)
		if err != nil {
			return nil, err
		}
		all = append(all, suites...)
		if len(only) == 0 || slices.ContainsFunc(suites, func(n string) bool { return slices.Contains(only, n) }) {
			names = append(names, spec.Name)
		}
	}
	for _, s := range only {
		if !slices.Contains(all, s) {
			return nil, fmt.Errorf("--suite %s: no such suite in %s (configured: %s)", s, env.ConfigFile, strings.Join(all, ", "))
		}
	}
	return names, nil
}
