package ledgersuite

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/ledger"
)

//go:embed rules.yaml
var rulesYAML []byte

// Gate is the `ledger` gate: it runs the suite against a ledger store.
func Gate() checks.Gate {
	return checks.Gate{
		Type:    "ledger",
		Summary: "Run the inflight deduplication ledger's concurrency regression suite (in-process and across killed processes)",
		Rules:   book,
		New:     fromSpec,
	}
}

// Options is the gate's `with:` block.
type Options struct {
	// DSN of the ledger store to test: sqlite:///path/ledger.db or
	// postgres://…; a relative SQLite path is relative to readiness.yaml.
	// Empty: a fresh SQLite file in a temporary directory.
	DSN string `yaml:"dsn"`
	// DSNEnv names an environment variable holding the DSN (so that a CI
	// secret need not be written into readiness.yaml). When it is set but
	// the variable is empty, the check errors unless dsn is also given.
	DSNEnv string `yaml:"dsn_env"`
	// Repeat runs every scenario this many times (default 1); a scenario
	// that fails once fails.
	Repeat int `yaml:"repeat"`
	// Run is a regular expression selecting scenarios by name.
	Run string `yaml:"run"`
	// Processes is how many worker processes the many-process scenarios
	// start (default 4).
	Processes int `yaml:"processes"`
	// Modes: inproc, procs (default both).
	Modes []string `yaml:"modes"`
	// ScenarioTimeout bounds one scenario run (default 60s).
	ScenarioTimeout config.Duration `yaml:"scenario_timeout"`
	// Lease is the actors' claim lease (default 2s).
	Lease config.Duration `yaml:"lease"`
	// Driver is the ledger under test instead of dsn: a driver command
	// (argument list, no shell; run in readiness.yaml's directory)
	// speaking docs/gates/ledger-driver.md.
	Driver []string `yaml:"driver"`
	// Env is added to the driver's environment.
	Env map[string]string `yaml:"env"`
	// Router is how the team's router uses a driver's ledger: how long
	// its request path waits before claiming again (wait) and the lease
	// it claims with (lease), so that takeovers happen when the team's
	// router would take over. Only with driver; the defaults (lease 2s,
	// wait lease÷8) keep the suite fast.
	Router struct {
		Wait  config.Duration `yaml:"wait"`
		Lease config.Duration `yaml:"lease"`
	} `yaml:"router"`
	// Failover is the team's failover drill for its own primary and
	// replica (dsn naming both hosts, target_session_attrs=read-write):
	// with it, the failover scenarios run.
	Failover *FailoverCommands `yaml:"failover"`
	// MaxConnections is the PostgreSQL connection budget: the most server
	// connections the suite holds at once, across this process and its
	// worker processes (default 50).
	MaxConnections int `yaml:"max_connections"`
	// dir is where the driver runs (readiness.yaml's directory).
	dir string
}

// Deps are what the check needs from outside.
type Deps struct {
	// Worker starts worker processes; default: this executable with
	// `ledger worker`.
	Worker Exec
	// Getenv reads dsn_env; default os.Getenv.
	Getenv func(string) string
}

// SelfWorker is this executable's hidden `ledger worker` command.
func SelfWorker() (Exec, error) {
	exe, err := os.Executable()
	if err != nil {
		return Exec{}, fmt.Errorf("find this executable to run ledger workers: %w", err)
	}
	return Exec{Path: exe, Args: []string{"ledger", "worker"}}, nil
}

func fromSpec(env checks.Env, spec config.CheckSpec) (checks.Check, error) {
	var o Options
	if err := config.DecodeStrict(env.ConfigFile, &spec.With, &o); err != nil {
		return nil, err
	}
	line := spec.Line
	bad := func(format string, args ...any) error {
		return &config.Error{File: env.ConfigFile, Line: line, Msg: fmt.Sprintf("check %q: ", spec.Name) + fmt.Sprintf(format, args...)}
	}
	if o.DSN != "" {
		d, err := ledger.ParseDSN(o.DSN)
		if err != nil {
			return nil, bad("dsn: %v", err)
		}
		if d.Driver == ledger.DriverSQLite && !filepath.IsAbs(d.Path) {
			_, q, hasQuery := strings.Cut(o.DSN, "?")
			p, err := filepath.Abs(filepath.Join(env.Dir, d.Path))
			if err != nil {
				return nil, bad("dsn: %v", err)
			}
			o.DSN = "sqlite://" + filepath.ToSlash(p)
			if hasQuery {
				o.DSN += "?" + q
			}
		}
	}
	if o.Repeat < 0 || o.Processes < 0 || o.MaxConnections < 0 {
		return nil, bad("repeat, processes and max_connections must be positive")
	}
	_, modes, err := ParseSelection(o.Run, o.Modes)
	if err != nil {
		return nil, bad("%v", err)
	}
	if d, err := ledger.ParseDSN(o.DSN); err == nil && d.Driver == ledger.DriverPostgres {
		if err := CheckBudget(o.MaxConnections, o.Processes, modes); err != nil {
			return nil, bad("%v", err)
		}
	}
	if err := checkDriverOptions(o); err != nil {
		return nil, bad("%v", err)
	}
	if f := o.Failover; f != nil && (len(f.Kill) == 0 || len(f.Promote) == 0 || len(o.Driver) > 0) {
		return nil, bad("failover needs kill and promote commands (argument lists), and readiness's own ledger (not a driver)")
	}
	o.dir = env.Dir
	return New(o, Deps{}), nil
}

// ParseSelection turns a scenario filter and mode names, as written in
// readiness.yaml or on the command line, into a Config's Run and Modes.
func ParseSelection(run string, modes []string) (*regexp.Regexp, []Mode, error) {
	var re *regexp.Regexp
	if run != "" {
		var err error
		if re, err = regexp.Compile(run); err != nil {
			return nil, nil, fmt.Errorf("run: %v", err)
		}
	}
	var out []Mode
	for _, m := range modes {
		if m != string(InProcess) && m != string(Processes) {
			return nil, nil, fmt.Errorf("modes: %q is not inproc or procs", m)
		}
		out = append(out, Mode(m))
	}
	return re, out, nil
}

// New builds the check.
func New(o Options, deps Deps) checks.Check {
	return &check{o: o, deps: deps}
}

type check struct {
	o    Options
	deps Deps
}

func (c *check) Run(ctx context.Context) (checks.Result, error) {
	getenv := c.deps.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if len(c.o.Driver) > 0 {
		return c.runDriver(ctx)
	}
	dsn := c.o.DSN
	source := "dsn"
	if c.o.DSNEnv != "" {
		if v := strings.TrimSpace(getenv(c.o.DSNEnv)); v != "" {
			dsn, source = v, "dsn_env "+c.o.DSNEnv
		} else if dsn == "" {
			return checks.Result{}, fmt.Errorf("dsn_env %s is not set and no dsn is configured", c.o.DSNEnv)
		}
	}
	if dsn == "" {
		tmp, cleanup, err := TempSQLiteDSN()
		if err != nil {
			return checks.Result{}, err
		}
		defer cleanup()
		dsn, source = tmp, "temporary SQLite file"
	}
	cfg := Config{
		DSN: dsn, Repeat: c.o.Repeat, Processes: c.o.Processes,
		ScenarioTimeout: c.o.ScenarioTimeout.D(), Lease: c.o.Lease.D(), Worker: c.deps.Worker, MaxConns: c.o.MaxConnections,
	}
	if c.o.Failover != nil {
		if d, err := ledger.ParseDSN(dsn); err != nil || d.Driver != ledger.DriverPostgres {
			return checks.Result{}, fmt.Errorf("failover needs a PostgreSQL dsn naming the primary and the replica, not %s", source)
		}
		cfg.Failover = c.o.Failover.Failover(c.o.dir)
	}
	var err error
	if cfg.Run, cfg.Modes, err = ParseSelection(c.o.Run, c.o.Modes); err != nil {
		return checks.Result{}, err
	}
	if cfg.Worker.Path == "" && (len(cfg.Modes) == 0 || containsMode(cfg.Modes, Processes)) {
		w, err := SelfWorker()
		if err != nil {
			return checks.Result{}, err
		}
		cfg.Worker = w
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		return checks.Result{}, fmt.Errorf("ledger suite: %w", err)
	}
	res := Evaluate(rep)
	res.Facts["dsn_source"] = source
	return res, nil
}

func containsMode(ms []Mode, m Mode) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// book is the gate's rules table, the source of every finding's severity
// and remediation.
var book = checks.NewRuleBook(rulesYAML)

// Evaluate turns a suite report into the gate's result: one critical
// finding per failing scenario and mode, and the raw figures as facts.
func Evaluate(rep *Report) checks.Result {
	res := checks.Result{Status: checks.StatusPass, Findings: []checks.Finding{}, Facts: map[string]any{}}
	scen := map[string]any{}
	runs, passed, skipped := 0, 0, 0
	var skippedNames, storeFaults []string
	for _, s := range rep.Scenarios {
		id := s.Scenario + "/" + string(s.Mode)
		entry := map[string]any{"rule": s.Rule, "runs": s.Runs, "passed": s.Passed, "failed": s.Failed, "skipped": s.Skipped,
			"p50_ms": ms(s.P50), "max_ms": ms(s.Max)}
		if s.Reason != "" {
			entry["skip_reason"] = s.Reason
		}
		if len(s.Metrics) > 0 {
			entry["metrics"] = metricFacts(s.Metrics)
		}
		scen[id] = entry
		runs += s.Runs
		passed += s.Passed
		skipped += s.Skipped
		if s.Skipped > 0 {
			skippedNames = append(skippedNames, fmt.Sprintf("%s (%s)", id, s.Reason))
		}
		if s.Failed == 0 {
			continue
		}
		ruleID := s.Rule
		if s.DriverFaults+s.StoreFaults > 0 {
			storeFaults = append(storeFaults, fmt.Sprintf("%s: %s", id, strings.Join(s.Failures, " | ")))
		}
		// A run the store or driver broke judged nothing: a fault, never
		// an accusation (a run that failed on its own still accuses).
		ruleID = s.FindingRule()
		msg := fmt.Sprintf("scenario %s [%s] failed %d of %d runs on %s: %s", s.Scenario, s.Mode, s.Failed, s.Runs, rep.Target(),
			strings.Join(s.Failures, " | "))
		res.Findings = append(res.Findings, book.Finding(ruleID, id, msg, nil).With(map[string]any{
			"scenario": s.Scenario, "mode": string(s.Mode), "runs": s.Runs, "failed": s.Failed,
			"failures": s.Failures, "driver": string(rep.Driver)}))
	}
	sort.Slice(res.Findings, func(i, j int) bool { return res.Findings[i].ID < res.Findings[j].ID })
	res.Facts["driver"] = string(rep.Driver)
	res.Facts["dsn"] = rep.DSN
	res.Facts["repeat"] = rep.Repeat
	res.Facts["processes"] = rep.Processes
	res.Facts["scenarios"] = scen
	res.Facts["runs"] = runs
	res.Facts["passed"] = passed
	res.Facts["skipped"] = skipped
	res.Facts["metrics"] = metricFacts(rep.Metrics)
	res.Facts["duration_ms"] = ms(rep.Duration)
	if len(res.Findings) > 0 {
		res.Status = checks.StatusFail
		res.Summary = fmt.Sprintf("%d of %d scenario×mode combinations failed on %s (%d runs)", len(res.Findings), len(rep.Scenarios), rep.Target(), runs)
	} else {
		res.Summary = fmt.Sprintf("all %d scenario runs passed on %s (%d scenarios × modes, repeat %d)", passed, rep.Target(), len(rep.Scenarios), rep.Repeat)
	}
	if len(skippedNames) > 0 {
		res.Summary += fmt.Sprintf("; skipped: %s", strings.Join(skippedNames, ", "))
	}
	judgeDriver(rep, &res, passed)
	if len(storeFaults) > 0 && res.Status != checks.StatusError {
		// A store that fails operations proves nothing either way: the
		// check errs (fail closed), naming what failed.
		res.Status = checks.StatusError
		res.Error = "the ledger's store failed operations during the run: " + strings.Join(storeFaults, "; ")
	}
	return res
}

func metricFacts(m map[string]Percentiles) map[string]any {
	out := map[string]any{}
	for k, p := range m {
		out[k] = map[string]any{"n": p.N, "p50_ms": ms(p.P50), "p99_ms": ms(p.P99), "max_ms": ms(p.Max)}
	}
	return out
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
