package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/report"
)

func newExplainCmd(app *App) *cobra.Command {
	var list bool
	cmd := &cobra.Command{
		Use:   "explain [RULE-ID]",
		Short: "Describe a finding rule and how to fix what it reports",
		Example: `  readiness explain KEY-EXPIRED
  readiness explain --list`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.MaximumNArgs(1)(cmd, args)
		},
		RunE: func(_ *cobra.Command, args []string) error {
			rules := app.rules()
			if list || len(args) == 0 {
				ids := make([]string, 0, len(rules))
				for id := range rules {
					ids = append(ids, id)
				}
				slices.Sort(ids)
				for _, id := range ids {
					fmt.Fprintf(app.IO.Out, "%-32s %-8s %s\n", id, rules[id].Severity, rules[id].Title)
				}
				return nil
			}
			id := strings.ToUpper(strings.TrimSpace(args[0]))
			// A finding ID (RULE/detail) explains its rule.
			id, _, _ = strings.Cut(id, "/")
			r, ok := rules[id]
			if !ok {
				if near := nearestRule(id, rules); near != "" {
					return Usagef("no rule %q; did you mean %s? (`readiness explain` lists them)", args[0], near)
				}
				return Usagef("no rule %q; `readiness explain` lists them", args[0])
			}
			return report.Explain(app.IO.Out, r)
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list every rule (also the default without RULE-ID)")
	cmd.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var ids []string
		for id, r := range app.rules() {
			ids = append(ids, id+"\t"+r.Title)
		}
		slices.Sort(ids)
		return ids, cobra.ShellCompDirectiveNoFileComp
	}
	return cmd
}

// nearestRule suggests the rule ID closest to id by edit distance, when it
// is close enough to be a typo.
func nearestRule(id string, rules map[string]checks.Rule) string {
	best, bestD := "", 4
	for r := range rules {
		if d := editDistance(id, r); d < bestD || d == bestD && r < best {
			best, bestD = r, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
