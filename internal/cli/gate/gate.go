// Package gate builds each gate's own command (`readiness key verify`,
// `workflow lint`, `tests run`) from the description the gate gives
// (checks.Command): its flags and arguments become settings laid over the
// check's `with:` block, and the run is the same pipeline.Selection as
// `readiness check --only`. It knows no gate by name.
package gate

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/pipeline"
)

// Commands returns the command group of every gate that describes one.
func Commands(app *cli.App) []*cobra.Command {
	var out []*cobra.Command
	for _, g := range app.Gates() {
		if g.Command == nil {
			continue
		}
		group := &cobra.Command{Use: g.Command.Group, Short: g.Command.GroupShort}
		group.AddCommand(NewCmd(app, g, nil))
		out = append(out, group)
	}
	return out
}

// Options are what every gate command parses besides the gate's own flags.
type Options struct {
	ConfigPath string
	configSet  bool
	Check      string
	Policy     cli.PolicyOptions
	Render     cli.RenderOptions
	// Args are the positional arguments.
	Args []string
	// Set are the `with:` settings the gate's flags gave, by key.
	Set map[string]any
}

// NewCmd builds one gate's command. runF replaces the run in tests of flag
// parsing.
func NewCmd(app *cli.App, g checks.Gate, runF func(context.Context, *Options) error) *cobra.Command {
	d := g.Command
	opts := &Options{}
	cmd := &cobra.Command{
		Use: d.Use, Short: d.Short, Long: d.Long, Example: d.Example,
		Args: cobra.MaximumNArgs(d.MaxArgs),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			opts.configSet = cmd.Flags().Changed("config")
			opts.Args = args
			set, err := settings(cmd.Flags(), d, args)
			if err != nil {
				return err
			}
			opts.Set = set
			return opts.Render.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), app, g, opts)
		},
	}
	f := cmd.Flags()
	configDefault := "readiness.yaml"
	if d.AllOfType {
		configDefault = ""
	}
	f.StringVarP(&opts.ConfigPath, "config", "c", configDefault, d.ConfigFlagUsage)
	if !d.AllOfType {
		f.StringVar(&opts.Check, "check", "", fmt.Sprintf("which %s check of the configuration to take settings from, by `NAME` (needed when there are several)", g.Type))
	}
	for _, fl := range d.Flags {
		addFlag(f, fl)
	}
	opts.Policy.AddFlags(cmd)
	opts.Render.AddFlags(cmd)
	return cmd
}

// addFlag registers a gate flag; its value is read back by settings, only
// when given.
func addFlag(f *pflag.FlagSet, fl checks.Flag) {
	switch fl.Kind {
	case checks.FlagBool:
		f.Bool(fl.Name, fl.Default, fl.Usage)
	case checks.FlagInt:
		f.Int(fl.Name, 0, fl.Usage)
	case checks.FlagStrings:
		f.StringArray(fl.Name, nil, fl.Usage)
	case checks.FlagDuration:
		f.Var(new(cli.DaysFlag), fl.Name, fl.Usage)
	case checks.FlagBytes:
		f.Var(new(cli.ByteSize), fl.Name, fl.Usage)
	default: // string, path
		f.String(fl.Name, "", fl.Usage)
	}
}

// settings turns the flags given and the arguments into `with:` settings.
func settings(f *pflag.FlagSet, d *checks.Command, args []string) (map[string]any, error) {
	set := map[string]any{}
	if len(args) > 0 && d.Args != nil {
		got, err := d.Args(args)
		if err != nil {
			return nil, cli.Usagef("%v", err)
		}
		for k, v := range got {
			set[k] = v
		}
	}
	for _, fl := range d.Flags {
		if !f.Changed(fl.Name) {
			continue
		}
		v, err := flagValue(f, fl)
		if err != nil {
			return nil, err
		}
		set[fl.Key] = v
	}
	return set, nil
}

func flagValue(f *pflag.FlagSet, fl checks.Flag) (any, error) {
	switch fl.Kind {
	case checks.FlagBool:
		return f.GetBool(fl.Name)
	case checks.FlagInt:
		return f.GetInt(fl.Name)
	case checks.FlagStrings:
		return f.GetStringArray(fl.Name)
	case checks.FlagBytes:
		text := f.Lookup(fl.Name).Value.String()
		if text == "" {
			return int64(0), nil // 0: the gate's default
		}
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, cli.Usagef("--%s: %v", fl.Name, err)
		}
		return v, nil
	case checks.FlagDuration:
		return f.Lookup(fl.Name).Value.String(), nil
	case checks.FlagPath:
		p, _ := f.GetString(fl.Name)
		if p == "" || (fl.Literal != "" && p == fl.Literal) {
			return p, nil
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, cli.Usagef("--%s %s: %v", fl.Name, p, err)
		}
		return abs, nil
	default:
		return f.GetString(fl.Name)
	}
}

// run judges the gate's checks with the settings laid over them.
func run(ctx context.Context, app *cli.App, g checks.Gate, opts *Options) error {
	d := g.Command
	flags := map[string]string{}
	for _, fl := range d.Flags {
		flags[fl.Key] = "--" + fl.Name
	}
	ov := config.Overrides{Set: opts.Set, Flags: flags}
	sel := pipeline.Selection{Policy: opts.Policy.Options(), Overrides: map[string]config.Overrides{}}
	if d.AllOfType {
		cfg, err := app.LoadConfig(opts.ConfigPath)
		if err != nil {
			return err
		}
		var specs []config.CheckSpec
		for _, spec := range cfg.Checks {
			if spec.Type == g.Type {
				specs = append(specs, spec)
			}
		}
		if len(specs) == 0 {
			return cli.Usagef("%s has no check of type %q; add one (see docs/gates/%s.md)", cfg.Path, g.Type, g.Type)
		}
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
		}
		if d.Select != nil {
			picked, err := d.Select(app.Pipeline().Env(cfg), specs, opts.Set)
			if err != nil {
				return cli.AsUsage(err)
			}
			names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(picked, n) })
		}
		if len(names) == 0 {
			// An empty Only runs every configured check: never that here.
			return cli.Usagef("the command line picks none of the %s checks in %s", g.Type, cfg.Path)
		}
		sel.Config, sel.Only = cfg, names
		for _, n := range names {
			sel.Overrides[n] = ov
		}
		return app.Execute(ctx, sel, opts.Render)
	}
	cfg, err := app.OptionalConfig(opts.ConfigPath, opts.configSet)
	if err != nil {
		return err
	}
	spec, err := pipeline.SpecOrDefault(cfg, g.Type, "--check", opts.Check)
	if err != nil {
		return err
	}
	sel.Config, sel.Only, sel.Specs = cfg, []string{spec.Name}, []config.CheckSpec{spec}
	sel.Overrides[spec.Name] = ov
	return app.Execute(ctx, sel, opts.Render)
}
