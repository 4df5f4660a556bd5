package ledgersuite

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// checkDriverOptions validates the driver keys of the gate's `with:`.
func checkDriverOptions(o Options) error {
	if len(o.Driver) == 0 {
		if len(o.Env) > 0 {
			return errors.New("env is only for a driver: set driver too")
		}
		if o.Router.Wait.D() != 0 || o.Router.Lease.D() != 0 {
			return errors.New("router is only for a driver (readiness's own router waits on events, not slices): set driver too, or use lease")
		}
		return nil
	}
	if o.Router.Wait.D() < 0 || o.Router.Lease.D() < 0 {
		return errors.New("router.wait and router.lease must be positive durations")
	}
	if o.Router.Lease.D() != 0 && o.Lease.D() != 0 {
		return errors.New("lease and router.lease both set the routers' lease: keep one")
	}
	if strings.TrimSpace(o.Driver[0]) == "" {
		return errors.New("driver: the command's first element (the program) is empty")
	}
	if o.DSN != "" || o.DSNEnv != "" {
		return errors.New("driver and dsn/dsn_env exclude each other: the driver opens its own store")
	}
	for k := range o.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("env: %q is not a valid variable name", k)
		}
	}
	return nil
}

// DriverCommand builds a driver command from an argument list, an
// environment and a working directory.
func DriverCommand(argv []string, env map[string]string, dir string) *ledgerproto.Command {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cmd := &ledgerproto.Command{Argv: argv, Dir: dir}
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	return cmd
}

// runDriver runs the suite against the configured driver. A driver that
// fails its handshake is the check's error; one that misbehaves later
// fails the runs it broke (LEDGER-STORE-FAULT, status error).
func (c *check) runDriver(ctx context.Context) (checks.Result, error) {
	cfg := Config{Driver: DriverCommand(c.o.Driver, c.o.Env, c.o.dir), Repeat: c.o.Repeat, Processes: c.o.Processes,
		ScenarioTimeout: c.o.ScenarioTimeout.D(), Lease: max(c.o.Lease.D(), c.o.Router.Lease.D()), RouterWait: c.o.Router.Wait.D()}
	var err error
	if cfg.Run, cfg.Modes, err = ParseSelection(c.o.Run, c.o.Modes); err != nil {
		return checks.Result{}, err
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		return checks.Result{}, fmt.Errorf("ledger suite: %w", err)
	}
	return Evaluate(rep), nil
}
