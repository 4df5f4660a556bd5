// Package cli holds readiness's cobra commands. Commands are thin: they
// parse flags, call a package, and render; the verdict is the policy's.
package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/readiness-dev/readiness/internal/buildinfo"
)

// NewRootCmd builds the command tree.
func NewRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "readiness",
		Short: "Release-readiness gatekeeper: run every release gate, judge the evidence, say GO or NO-GO",
		Long: `readiness runs the release gates a team relies on, collects what each saw as
evidence, judges it with a Rego policy, and prints one verdict: GO or NO-GO.

Exit codes: 0 GO, 1 NO-GO, 2 usage or configuration error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(app.IO.Out)
	root.SetErr(app.IO.ErrOut)
	root.SetIn(app.IO.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return Usagef("%v (see '%s --help')", flagError(err), c.CommandPath())
	})
	root.AddCommand(
		newCheckCmd(app, nil),
		newInitCmd(app),
		newPolicyCmd(app),
		newExplainCmd(app),
		newVersionCmd(app),
	)
	if app.Commands != nil {
		root.AddCommand(app.Commands(app)...)
	}
	info := buildinfo.Get()
	root.Version = info.Version
	root.SetVersionTemplate(versionText(info))
	// cobra adds `help` and `completion` only inside Execute, after
	// requireSubcommands has walked the tree: add them now so that
	// `readiness completion bsh` and `readiness help chek` are usage errors too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	strictHelp(root)
	requireSubcommands(root)
	markRunErrors(root)
	return root
}

// requireSubcommands makes every command group refuse an unknown
// subcommand (exit 2, with cobra's suggestion) instead of printing its help
// and exiting 0: `readiness image sacn` in a CI step must not pass.
func requireSubcommands(cmd *cobra.Command) {
	if !cmd.HasSubCommands() {
		return
	}
	for _, sub := range cmd.Commands() {
		requireSubcommands(sub)
	}
	if cmd.Run != nil || cmd.RunE != nil {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own path
		}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
		}
		return Usagef("%s (see '%s --help')", msg, c.CommandPath())
	}
}

// strictHelp makes `readiness help TOPIC` a usage error (exit 2, with a
// suggestion) when TOPIC names no command, where cobra's own help command
// prints "Unknown help topic" and exits 0.
func strictHelp(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "help" {
			continue
		}
		c.Run = nil
		c.RunE = func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				parent := root
				unknown := strings.Join(args, " ")
				if err == nil && cmd != nil && len(rest) > 0 {
					parent, unknown = cmd, rest[0]
				}
				msg := fmt.Sprintf("unknown help topic %q", unknown)
				if parent.SuggestionsMinimumDistance <= 0 {
					parent.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own path
				}
				if s := parent.SuggestionsFor(unknown); len(s) > 0 {
					msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
				}
				return Usagef("%s (see '%s help')", msg, root.Name())
			}
			return cmd.Help()
		}
	}
}

// flagError says what a bad flag value should have been, in words: pflag's
// own message ends in Go's "strconv.ParseInt: parsing "1MiB": invalid
// syntax".
func flagError(err error) error {
	var iv *pflag.InvalidValueError
	var ne *strconv.NumError
	if !errors.As(err, &iv) || !errors.As(err, &ne) {
		return err
	}
	want := "a whole number"
	switch {
	case strings.HasPrefix(ne.Func, "ParseFloat"):
		want = "a number"
	case strings.HasPrefix(ne.Func, "ParseBool"):
		want = "true or false"
	case strings.HasPrefix(ne.Func, "ParseUint"):
		want = "a whole number, 0 or more"
	}
	if errors.Is(ne.Err, strconv.ErrRange) {
		want += " small enough to fit"
	}
	return fmt.Errorf("--%s %q: expected %s", iv.GetFlag().Name, iv.GetValue(), want)
}
