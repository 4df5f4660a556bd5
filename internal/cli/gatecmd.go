package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/readiness-dev/readiness/internal/config"
)

// Helpers for commands that run one gate alone (key verify, workflow lint,
// image scan, image release): they read readiness.yaml when there is one,
// for the gate's settings, the waivers and the policy, and work without it.

// optionalConfig loads path when it exists, or when the user named it
// (then a missing file is an error); otherwise it returns nil.
func (a *App) optionalConfig(path string, named bool) (*config.Config, error) {
	if _, err := os.Stat(path); !named && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return a.loadConfig(path)
}

// gateSpec finds the check of type typ in cfg: the one called name (the
// value of flag, e.g. "--check"), or the only one of that type. It returns
// nil when cfg configures none and no name was asked for.
func gateSpec(cfg *config.Config, typ, flag, name string) (*config.CheckSpec, error) {
	if cfg == nil {
		if name != "" {
			return nil, usageErr("%s %s: no configuration file to find it in", flag, name)
		}
		return nil, nil
	}
	var found []config.CheckSpec
	for _, c := range cfg.Checks {
		if c.Type == typ {
			found = append(found, c)
		}
	}
	if name != "" {
		for i := range found {
			if found[i].Name == name {
				return &found[i], nil
			}
		}
		return nil, usageErr("%s %s: %s has no %s check of that name%s", flag, name, cfg.Path, typ, listNames(typ, found))
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, usageErr("%s configures %d %s checks; choose one with %s%s", cfg.Path, len(found), typ, flag, listNames(typ, found))
}

func listNames(typ string, specs []config.CheckSpec) string {
	if len(specs) == 0 {
		return ""
	}
	var n []string
	for _, s := range specs {
		n = append(n, s.Name)
	}
	return fmt.Sprintf(" (%s checks: %s)", typ, strings.Join(n, ", "))
}
