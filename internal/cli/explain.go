package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/report"
)

func newExplainCmd(app *App) *cobra.Command {
	var list bool
	cmd := &cobra.Command{
		Use:   "explain RULE-ID",
		Short: "Describe a finding rule and how to fix what it reports",
		Example: `  readiness explain KEY-EXPIRED
  readiness explain --list`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(_ *cobra.Command, args []string) error {
			rules := app.rules()
			if list {
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
				return usageErr("no rule %q; `readiness explain --list` lists them", args[0])
			}
			return report.Explain(app.IO.Out, r)
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list every rule")
	return cmd
}
