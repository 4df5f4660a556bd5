package cli

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/securitykey"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/pipeline"
)

// keyVerifyOptions are the flags of `readiness key verify`.
type keyVerifyOptions struct {
	ConfigPath  string
	configSet   bool
	Check       string
	SecurityMD  string
	SecurityTxt string
	ExpiryFail  daysFlag
	ExpiryWarn  daysFlag
	Policy      policyOptions
	Render      renderOptions
}

// AddFlags registers the flags.
func (o *keyVerifyOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.ConfigPath, "config", "c", "readiness.yaml", "configuration `FILE` whose security-key check gives the defaults (used when it exists)")
	f.StringVar(&o.Check, "check", "", "which security-key check of the configuration to take defaults from, by `NAME` (needed when there are several)")
	f.StringVar(&o.SecurityMD, "security-md", "", "the disclosure policy `FILE` (default: the check's security_md, else SECURITY.md, .github/SECURITY.md or docs/SECURITY.md)")
	f.StringVar(&o.SecurityTxt, "security-txt", "", "an RFC 9116 security.txt `FILE` to check as well (default: .well-known/security.txt or security.txt when present; none to skip)")
	f.Var(&o.ExpiryFail, "expiry-fail", "a key expiring within this `DURATION` (e.g. 30d) is a blocking finding (default: the check's expiry_fail, else 30d)")
	f.Var(&o.ExpiryWarn, "expiry-warn", "a key expiring within this `DURATION` (e.g. 90d) is a warning (default: the check's expiry_warn, else 90d)")
	o.Policy.AddFlags(cmd)
	o.Render.AddFlags(cmd)
}

// daysFlag is a duration flag that also accepts whole days ("30d").
type daysFlag struct {
	d   config.Duration
	set bool
}

func (f *daysFlag) String() string {
	if !f.set {
		return ""
	}
	return f.d.D().String()
}

func (f *daysFlag) Set(s string) error {
	d, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d, f.set = config.Duration(d), true
	return nil
}

func (f *daysFlag) Type() string { return "duration" }

func newKeyCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Check the project's published OpenPGP security contact key",
	}
	cmd.AddCommand(newKeyVerifyCmd(app, nil))
	return cmd
}

// newKeyVerifyCmd builds `readiness key verify`. runF replaces the behaviour
// in tests of flag parsing.
func newKeyVerifyCmd(app *App, runF func(context.Context, *keyVerifyOptions, []string) error) *cobra.Command {
	opts := &keyVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [KEY_FILE]",
		Short: "Verify the security contact key against SECURITY.md and print GO or NO-GO",
		Long: `Runs the security-key gate alone and prints the same verdict, findings and
formats as 'readiness check --only security-key'.

Defaults come from the security-key check in readiness.yaml when that file
exists (--config), else KEY_FILE is docs/keys/security.asc and the policy is
SECURITY.md. KEY_FILE and --security-md override them; relative paths on the
command line are relative to the current directory.`,
		Example: `  readiness key verify
  readiness key verify docs/keys/security.asc --security-md SECURITY.md
  readiness key verify --expiry-fail 60d --format json --output key-evidence.json`,
		Args: cobra.MaximumNArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			opts.configSet = cmd.Flags().Changed("config")
			return opts.Render.Validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts, args)
			}
			return app.keyVerifyRun(cmd.Context(), opts, args)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

func (a *App) keyVerifyRun(ctx context.Context, opts *keyVerifyOptions, args []string) error {
	cfg, err := a.optionalConfig(opts.ConfigPath, opts.configSet)
	if err != nil {
		return err
	}
	spec, err := pipeline.SpecOrDefault(cfg, securitykey.Type, "--check", opts.Check)
	if err != nil {
		return err
	}
	build := func(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
		o, err := securitykey.OptionsFromSpec(env, spec)
		if err != nil {
			return nil, err
		}
		if err := opts.apply(&o, args); err != nil {
			return nil, err
		}
		return securitykey.New(o, env), nil
	}
	sel := pipeline.Selection{
		Config: cfg, Only: []string{spec.Name}, Specs: []config.CheckSpec{spec},
		Build: map[string]pipeline.BuildFunc{spec.Name: build}, Policy: opts.Policy.options(),
	}
	return a.execute(ctx, sel, opts.Render)
}

// apply lays the flags over the options from readiness.yaml. Paths on the
// command line are the user's, relative to where they stand.
func (opts *keyVerifyOptions) apply(o *securitykey.Options, args []string) error {
	var err error
	if len(args) == 1 {
		if o.Key, err = filepath.Abs(args[0]); err != nil {
			return usageErr("KEY_FILE %s: %v", args[0], err)
		}
	}
	if opts.SecurityMD != "" {
		if o.SecurityMD, err = filepath.Abs(opts.SecurityMD); err != nil {
			return usageErr("--security-md %s: %v", opts.SecurityMD, err)
		}
	}
	switch opts.SecurityTxt {
	case "":
	case "none":
		o.SecurityTxt = "none"
	default:
		if o.SecurityTxt, err = filepath.Abs(opts.SecurityTxt); err != nil {
			return usageErr("--security-txt %s: %v", opts.SecurityTxt, err)
		}
	}
	if opts.ExpiryFail.set {
		o.ExpiryFail = opts.ExpiryFail.d
	}
	if opts.ExpiryWarn.set {
		o.ExpiryWarn = opts.ExpiryWarn.d
	}
	*o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return usageErr("%s", strings.NewReplacer("expiry_fail", "--expiry-fail", "expiry_warn", "--expiry-warn").Replace(err.Error()))
	}
	return nil
}
