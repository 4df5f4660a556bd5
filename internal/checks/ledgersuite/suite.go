// Package ledgersuite is the concurrency regression suite of the inflight
// deduplication ledger (internal/ledger), and the `ledger` gate that runs
// it. Every invariant of the ledger is a named scenario with a rule ID;
// each scenario runs in-process (several ledger handles in this process)
// and across real OS processes (this binary re-executed as hidden worker
// processes, crashed with SIGKILL).
package ledgersuite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/readiness-dev/readiness/internal/ledger"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// Mode is where a scenario's actors live.
type Mode string

const (
	// InProcess: every actor is a separate ledger handle in this process.
	InProcess Mode = "inproc"
	// Processes: every actor is a worker process.
	Processes Mode = "procs"
)

// Config is one run of the suite.
type Config struct {
	// DSN of the ledger under test; required.
	DSN string
	// Repeat runs every scenario this many times (default 1).
	Repeat int
	// Run selects scenarios whose name matches (nil: all).
	Run *regexp.Regexp
	// Modes to run (default both).
	Modes []Mode
	// Processes is how many worker processes the many-process scenarios
	// use (default 4).
	Processes int
	// Worker starts worker processes; required for Processes mode.
	Worker Exec
	// ScenarioTimeout bounds one scenario run (default 60s).
	ScenarioTimeout time.Duration
	// Lease is the actors' lease (default 2s): takeover scenarios wait
	// about this long. An owner renews every third of it, so a process
	// starved for two thirds of it loses its claim, by design.
	Lease time.Duration
	// Progress, when set, is called after each scenario run.
	Progress func(Outcome)
	// WaitTimeout is the deadline of waits that must be answered (default
	// 15s): a wait that times out instead fails its scenario.
	WaitTimeout time.Duration
	// Open opens in-process actors' ledgers (default ledger.Open); tests
	// of the suite inject faulty ledgers here.
	Open OpenFunc
	// Driver, when set, is the ledger under test instead of DSN: a
	// driver command speaking docs/gates/ledger-driver.md. inproc mode
	// runs every router in one driver process; procs mode one process
	// per router.
	Driver *ledgerproto.Command
	// MaxConns is the PostgreSQL connection budget: the most server
	// connections this process and its workers hold at once (default
	// DefaultMaxConns).
	MaxConns int
	// RouterWait is how long a driver router's composed Do waits before
	// it claims again (a dead owner's lease is noticed within it);
	// default the lease ÷ 8. A team whose router waits 120 s sets 120s,
	// so that takeovers happen when its router would take over.
	RouterWait time.Duration
	// Failover, when set, runs the failover scenarios against DSN (a
	// primary and its replica).
	Failover *Failover
	// Tag prefixes every actor's name, and so the application_name of
	// every connection the suite opens (default: random).
	Tag string
}

// Outcome is one run of one scenario in one mode.
type Outcome struct {
	Scenario string `json:"scenario"`
	Rule     string `json:"rule"`
	Mode     Mode   `json:"mode"`
	Run      int    `json:"run"`
	Passed   bool   `json:"passed"`
	Skipped  string `json:"skipped,omitempty"`
	// NotApplicable: skipped because the driver cannot run the scenario
	// (Skipped says why), which is a finding where another skip is not.
	NotApplicable bool   `json:"-"`
	Error         string `json:"error,omitempty"`
	// DriverFault: the driver misbehaved (exited, broke the protocol,
	// did not answer); the run failed for that, not for its invariant.
	DriverFault string `json:"driver_fault,omitempty"`
	// StoreFault: the store failed an operation (a refused connection,
	// too many clients, a full disk); the run says nothing about its
	// invariant.
	StoreFault string        `json:"store_fault,omitempty"`
	Duration   time.Duration `json:"duration"`
	// Metrics are the timings the run observed (delivery latency,
	// overshoot, takeover), by name.
	Metrics map[string][]time.Duration `json:"-"`
}

// ScenarioReport sums up the runs of one scenario in one mode.
type ScenarioReport struct {
	Scenario string `json:"scenario"`
	Rule     string `json:"rule"`
	Mode     Mode   `json:"mode"`
	Runs     int    `json:"runs"`
	Passed   int    `json:"passed"`
	Failed   int    `json:"failed"`
	Skipped  int    `json:"skipped"`
	Reason   string `json:"skip_reason,omitempty"`
	// NotApplicable counts the skipped runs the driver could not run.
	NotApplicable int      `json:"-"`
	Failures      []string `json:"failures,omitempty"`
	// DriverFaults counts runs that failed because the driver misbehaved.
	DriverFaults int `json:"driver_faults,omitempty"`
	// StoreFaults counts runs in which the store failed an operation.
	StoreFaults int `json:"store_faults,omitempty"`
	// Duration percentiles of the runs.
	P50 time.Duration `json:"p50"`
	Max time.Duration `json:"max"`
	// Metrics: percentiles of what the runs observed.
	Metrics map[string]Percentiles `json:"metrics,omitempty"`
}

// FindingRule is the rule a failing scenario is reported under: its own,
// unless every failed run was a fault of the store or the driver (then
// the invariant was never judged: LEDGER-STORE-FAULT).
func (s ScenarioReport) FindingRule() string {
	if s.Failed > 0 && s.DriverFaults+s.StoreFaults == s.Failed {
		return RuleStoreFault
	}
	return s.Rule
}

// Percentiles of a set of durations.
type Percentiles struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// Report is a whole suite run.
type Report struct {
	DSN       string           `json:"dsn"`
	Driver    ledger.Driver    `json:"driver"`
	Repeat    int              `json:"repeat"`
	Processes int              `json:"processes"`
	Scenarios []ScenarioReport `json:"scenarios"`
	// Metrics pools every scenario's observations, by mode and name
	// ("procs/delivery").
	Metrics  map[string]Percentiles `json:"metrics"`
	Duration time.Duration          `json:"duration"`
	// LedgerDriver is the driver under test, when there is one.
	LedgerDriver *DriverInfo `json:"ledger_driver,omitempty"`
	// Connections is how the PostgreSQL connection budget was divided.
	Connections *connPlan `json:"connections,omitempty"`
}

// DriverInfo records a driver run in the evidence: its command, protocol
// version and handshake.
type DriverInfo struct {
	Command   []string          `json:"command"`
	Protocol  int               `json:"protocol"`
	Handshake ledgerproto.Hello `json:"handshake"`
}

// Target names the ledger under test for messages: the driver's name and
// command, or the store and its DSN.
func (r *Report) Target() string {
	if d := r.LedgerDriver; d != nil {
		name := d.Handshake.Name
		if name == "" {
			name = "unnamed"
		}
		return fmt.Sprintf("driver %q (%s)", name, strings.Join(d.Command, " "))
	}
	return fmt.Sprintf("%s (%s)", r.Driver, r.DSN)
}

// Failed counts failing scenario reports.
func (r *Report) Failed() int {
	n := 0
	for _, s := range r.Scenarios {
		if s.Failed > 0 {
			n++
		}
	}
	return n
}

// Scenarios lists every scenario in order.
func Scenarios() []Scenario { return scenarios() }

// fill sets the defaults of what cfg leaves unset, and widens the waits a
// slow router needs.
func (cfg *Config) fill() {
	if cfg.Repeat <= 0 {
		cfg.Repeat = 1
	}
	if cfg.Processes <= 0 {
		cfg.Processes = 4
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = []Mode{InProcess, Processes}
	}
	if cfg.ScenarioTimeout <= 0 {
		cfg.ScenarioTimeout = 60 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	if cfg.RouterWait > 0 {
		// A router that waits long takes over late: waits that must be
		// answered, and scenarios, get room for two of its slices.
		cfg.WaitTimeout = max(cfg.WaitTimeout, 2*(cfg.RouterWait+cfg.Lease)+takeoverMargin)
		cfg.ScenarioTimeout = max(cfg.ScenarioTimeout, 3*cfg.WaitTimeout)
	}
	if cfg.Tag == "" {
		cfg.Tag = "s" + nonce()
	}
}

// Run runs the suite.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	var d ledger.DSN
	var err error
	if cfg.Driver == nil {
		if d, err = ledger.ParseDSN(cfg.DSN); err != nil {
			return nil, err
		}
	}
	cfg.fill()
	start := time.Now()
	s := &suite{cfg: cfg, dsn: d, runID: "run-" + time.Now().UTC().Format("150405.000000")}
	if cfg.Driver == nil && d.Driver == ledger.DriverPostgres {
		if s.plan, err = planConns(cfg.MaxConns, cfg.Processes, slices.Contains(cfg.Modes, Processes)); err != nil {
			return nil, err
		}
		// Every in-process actor shares one pool and one listener.
		s.pgPool = ledger.NewPool(cfg.Tag+"-inproc", s.plan.Inproc)
		defer s.pgPool.Close()
	}
	if cfg.Driver != nil {
		if s.driver, err = startDriver(ctx, *cfg.Driver); err != nil {
			return nil, err
		}
		defer s.driver.close()
	} else {
		if slices.Contains(cfg.Modes, Processes) && cfg.Worker.Path == "" {
			return nil, errors.New("processes mode needs a worker executable")
		}
		// Open once here: the schema exists before any actor races to create it.
		l, err := ledger.OpenDSN(ctx, d, ledger.Options{Name: cfg.Tag + "-suite", Pool: s.pgPool})
		if err != nil {
			return nil, err
		}
		_ = l.Close()
	}
	defer s.closePools()
	selected := selectScenarios(cfg)
	if len(selected) == 0 {
		return nil, fmt.Errorf("no scenario matches %q", cfg.Run)
	}
	t, err := s.runAll(ctx, selected)
	if err != nil {
		return nil, err
	}
	rep := s.report(t)
	rep.Duration = time.Since(start)
	return rep, nil
}

// selectScenarios lists the scenarios cfg selects that can apply to its
// ledger.
func selectScenarios(cfg Config) []Scenario {
	var selected []Scenario
	for _, sc := range scenarios() {
		if sc.OwnLedgerOnly && cfg.Driver != nil || sc.NeedsFailover && cfg.Failover == nil {
			continue // cannot apply here: not listed
		}
		if cfg.Run == nil || cfg.Run.MatchString(sc.Name) {
			selected = append(selected, sc)
		}
	}
	return selected
}

// tally is what the runs of a suite add up to, per scenario and mode (in
// the order first run) and per metric.
type tally struct {
	reports         map[string]*ScenarioReport
	order           []string
	runDurations    map[string][]time.Duration
	scenarioMetrics map[string]map[string][]time.Duration
	metrics         map[string][]time.Duration // by mode/metric
}

// runAll runs every selected scenario in every mode, cfg.Repeat times.
func (s *suite) runAll(ctx context.Context, selected []Scenario) (*tally, error) {
	t := &tally{reports: map[string]*ScenarioReport{}, runDurations: map[string][]time.Duration{},
		scenarioMetrics: map[string]map[string][]time.Duration{}, metrics: map[string][]time.Duration{}}
	for rep := 1; rep <= s.cfg.Repeat; rep++ {
		for _, sc := range selected {
			for _, mode := range s.cfg.Modes {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				o := s.runOne(ctx, sc, mode, rep)
				t.add(sc, mode, rep, o)
				if s.cfg.Progress != nil {
					s.cfg.Progress(o)
				}
			}
		}
	}
	return t, nil
}

// add counts outcome o of run rep of scenario sc in mode.
func (t *tally) add(sc Scenario, mode Mode, rep int, o Outcome) {
	id := sc.Name + "/" + string(mode)
	r := t.reports[id]
	if r == nil {
		r = &ScenarioReport{Scenario: sc.Name, Rule: sc.Rule, Mode: mode}
		t.reports[id] = r
		t.order = append(t.order, id)
		t.scenarioMetrics[id] = map[string][]time.Duration{}
	}
	r.Runs++
	switch {
	case o.Skipped != "":
		r.Skipped++
		r.Reason = o.Skipped
		if o.NotApplicable {
			r.NotApplicable++
		}
	case o.Passed:
		r.Passed++
	default:
		r.Failed++
		if o.DriverFault != "" {
			r.DriverFaults++
		}
		if o.StoreFault != "" {
			r.StoreFaults++
		}
		if len(r.Failures) < 3 {
			r.Failures = append(r.Failures, fmt.Sprintf("run %d: %s", rep, o.Error))
		}
	}
	if o.Skipped == "" {
		t.runDurations[id] = append(t.runDurations[id], o.Duration)
	}
	for k, v := range o.Metrics {
		t.scenarioMetrics[id][k] = append(t.scenarioMetrics[id][k], v...)
		t.metrics[string(mode)+"/"+k] = append(t.metrics[string(mode)+"/"+k], v...)
	}
}

// report is the suite's report of what the runs added up to.
func (s *suite) report(t *tally) *Report {
	rep := &Report{DSN: s.dsn.String(), Driver: s.dsn.Driver, Repeat: s.cfg.Repeat, Processes: s.cfg.Processes, Metrics: map[string]Percentiles{}}
	if s.pgPool != nil {
		rep.Connections = &s.plan
	}
	if s.driver != nil {
		rep.DSN, rep.Driver = "", "driver"
		rep.LedgerDriver = &DriverInfo{Command: s.driver.cmd.Argv, Protocol: s.driver.hello.Protocol, Handshake: s.driver.hello}
	}
	for _, id := range t.order {
		r := t.reports[id]
		p := percentiles(t.runDurations[id])
		r.P50, r.Max = p.P50, p.Max
		for k, v := range t.scenarioMetrics[id] {
			if r.Metrics == nil {
				r.Metrics = map[string]Percentiles{}
			}
			r.Metrics[k] = percentiles(v)
		}
		rep.Scenarios = append(rep.Scenarios, *r)
	}
	for k, v := range t.metrics {
		rep.Metrics[k] = percentiles(v)
	}
	return rep
}

func percentiles(v []time.Duration) Percentiles {
	if len(v) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(v)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1
		i = max(0, min(i, len(s)-1))
		return s[i]
	}
	return Percentiles{N: len(s), P50: at(0.50), P99: at(0.99), Max: s[len(s)-1]}
}

type suite struct {
	cfg   Config
	dsn   ledger.DSN
	runID string
	mu    sync.Mutex
	// idle actors kept for the next scenario, by mode.
	pool map[Mode][]Actor
	// actors counts actors started, to name them uniquely.
	actors int
	// driver is the ledger driver under test (nil: readiness's own ledger).
	driver *driverState
	// plan divides the PostgreSQL connection budget; pgPool is the
	// in-process actors' shared pool; procsAlive counts worker
	// processes not yet exited (guarded by mu).
	plan       connPlan
	pgPool     *ledger.Pool
	procsAlive int
}

func (s *suite) closePools() {
	s.mu.Lock()
	pool := s.pool
	s.pool = nil
	s.mu.Unlock() // a worker's exit takes s.mu (procExited)
	var wg sync.WaitGroup
	for _, actors := range pool {
		for _, a := range actors {
			wg.Add(1)
			go func() { defer wg.Done(); _ = a.Close() }()
		}
	}
	wg.Wait()
}

func (s *suite) runOne(ctx context.Context, sc Scenario, mode Mode, rep int) (o Outcome) {
	o = Outcome{Scenario: sc.Name, Rule: sc.Rule, Mode: mode, Run: rep}
	start := time.Now()
	if s.driver != nil {
		if why := notApplicable(sc, mode, s.driver.hello); why != "" {
			o.Skipped, o.NotApplicable = why, true
			return o
		}
	} else if sc.Skip != nil {
		if why := sc.Skip(s.dsn, mode); why != "" {
			o.Skipped = why
			return o
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ScenarioTimeout)
	defer cancel()
	e := &Env{
		ctx: ctx, Mode: mode, DSN: s.cfg.DSN, Driver: s.dsn.Driver, Lease: s.cfg.Lease, Processes: s.cfg.Processes, WaitTimeout: s.cfg.WaitTimeout,
		Leases: s.driver == nil || s.driver.hello.Supports(ledgerproto.FeatureLeases), RouterWait: s.cfg.RouterWait,
		prefix:  fmt.Sprintf("%s/%s/%s/%d", s.runID, sc.Name, mode, rep),
		suite:   s,
		metrics: map[string][]time.Duration{},
	}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		return sc.Run(ctx, e)
	}()
	if fault := e.driverErr(); fault != nil {
		err = fmt.Errorf("the ledger driver failed: %w (the scenario saw: %v)", fault, err)
		o.DriverFault = fault.Error()
	}
	if fault := e.storeErr(); fault != "" && o.DriverFault == "" {
		// Nothing is known about the invariant when the store failed an
		// operation: say what failed, accuse nobody.
		err = fmt.Errorf("the ledger's store failed: %s (the scenario saw: %v)", fault, err)
		o.StoreFault = fault
	}
	e.release(err == nil)
	o.Duration = time.Since(start)
	o.Metrics = e.metrics
	if err != nil {
		o.Error = err.Error()
		return o
	}
	o.Passed = true
	return o
}

// Env is what a scenario works with.
type Env struct {
	ctx       context.Context
	Mode      Mode
	DSN       string
	Driver    ledger.Driver
	Lease     time.Duration
	Processes int
	// WaitTimeout is the deadline of waits that must be answered.
	WaitTimeout time.Duration
	// Leases: the ledger's claims run out unless renewed (readiness's
	// own always; a driver that declares the leases feature).
	Leases bool
	// RouterWait is a driver router's wait slice (0: lease÷8).
	RouterWait time.Duration
	prefix     string
	suite      *suite
	mu         sync.Mutex
	actors     []Actor
	metrics    map[string][]time.Duration
	// fault is the first misbehaviour of the driver in this run.
	fault error
	// storeFaults are the first operations the store failed in this run.
	storeFaults []string
	// faultsExpected: the scenario makes the store fail on purpose (a
	// failover); its own judgement decides.
	faultsExpected bool
}

// tolerateStoreFaults: from now on, the scenario provokes store errors and
// judges their outcome itself.
func (e *Env) tolerateStoreFaults() {
	e.mu.Lock()
	e.faultsExpected = true
	e.mu.Unlock()
}

// Key returns a key unique to this scenario run.
func (e *Env) Key(name string) string { return e.prefix + "/" + name }

// Actor returns a router for this run: idle ones from earlier runs are
// reused; crashed ones never are.
func (e *Env) Actor() (Actor, error) {
	s := e.suite
	s.mu.Lock()
	if pool := s.pool[e.Mode]; len(pool) > 0 {
		a := pool[len(pool)-1]
		s.pool[e.Mode] = pool[:len(pool)-1]
		s.mu.Unlock()
		return e.track(a), nil
	}
	s.mu.Unlock()
	return e.Fresh()
}

// Fresh starts a new router (a new process in procs mode).
func (e *Env) Fresh() (Actor, error) {
	e.suite.mu.Lock()
	e.suite.actors++
	name := fmt.Sprintf("a%d", e.suite.actors)
	e.suite.mu.Unlock()
	var a Actor
	var err error
	tag := e.suite.cfg.Tag
	switch {
	case e.suite.driver != nil:
		a, err = e.newDriverActor(name)
	case e.Mode == Processes:
		var exited func()
		if exited, err = e.suite.reserveProc(e.ctx); err != nil {
			break
		}
		a, err = startProc(e.ctx, e.suite.cfg.Worker, tag+"-proc-"+name, e.DSN, e.Lease, procLimits{maxConns: e.suite.plan.PerProc, onExit: exited})
	default:
		a, err = newInproc(e.ctx, e.suite.cfg.Open, tag+"-inproc-"+name, e.DSN, e.Lease, e.suite.pgPool)
	}
	if err != nil {
		var se *startError
		if errors.Is(err, ledger.ErrUnavailable) || errors.Is(err, ledger.ErrStore) || (errors.As(err, &se) && se.kind == kindStore) {
			e.storeFault(fmt.Sprintf("router %s could not open the ledger: %v", name, err))
		}
		return nil, fmt.Errorf("start actor: %w", err)
	}
	return e.track(a), nil
}

// Retire closes actors a scenario is done with before its end, so that
// they hold no connections while it goes on.
func (e *Env) Retire(as ...Actor) {
	e.mu.Lock()
	e.actors = slices.DeleteFunc(e.actors, func(x Actor) bool { return slices.Contains(as, x) })
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range as {
		if a == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = a.Close() }()
	}
	wg.Wait()
}

// Actors returns n routers.
func (e *Env) Actors(n int) ([]Actor, error) {
	out := make([]Actor, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = e.Actor()
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// track wraps a for this run and keeps it for release.
func (e *Env) track(a Actor) Actor {
	r := &runActor{Actor: a, e: e}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.actors = append(e.actors, r)
	return r
}

// runActor is an actor as one scenario run uses it: every answer its
// calls return is looked at for a store fault.
type runActor struct {
	Actor
	e *Env
}

func (r *runActor) Start(req Request) *Call {
	c := r.Actor.Start(req)
	c.observe = func(resp Response) {
		if resp.Kind == kindStore {
			r.e.storeFault(fmt.Sprintf("router %s: %s %s: %s", r.Name(), req.Op, req.Key, resp.Err))
		}
	}
	return c
}

// storeFault records that the store failed an operation during this run:
// the run is then a store fault, whatever its scenario judged.
func (e *Env) storeFault(what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.faultsExpected && len(e.storeFaults) < 3 {
		e.storeFaults = append(e.storeFaults, what)
	}
}

func (e *Env) storeErr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.storeFaults, "; ")
}

// release returns live actors to the pool; after a failed run they are
// closed instead, so that nothing a failure left behind leaks into the
// next run.
func (e *Env) release(ok bool) {
	s := e.suite
	var wg sync.WaitGroup
	for _, r := range e.actors {
		a := r.(*runActor).Actor
		if ok && a.Alive() {
			s.mu.Lock()
			if s.pool == nil {
				s.pool = map[Mode][]Actor{}
			}
			if len(s.pool[e.Mode]) < 12 {
				s.pool[e.Mode] = append(s.pool[e.Mode], a)
				s.mu.Unlock()
				continue
			}
			s.mu.Unlock()
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = a.Close() }()
	}
	wg.Wait()
}

// Observe records a timing under name.
func (e *Env) Observe(name string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d < 0 {
		d = 0
	}
	e.metrics[name] = append(e.metrics[name], d)
}

// KillConnections terminates every PostgreSQL backend of actor a's
// ledger (pg_terminate_backend), as a failover or a DBA would.
func (e *Env) KillConnections(ctx context.Context, a Actor) (int, error) {
	d, err := ledger.ParseDSN(e.DSN)
	if err != nil {
		return 0, err
	}
	cfg, err := pgx.ParseConfig(d.Conn)
	if err != nil {
		return 0, err
	}
	cfg.RuntimeParams["application_name"] = ledger.NewPool(e.suite.cfg.Tag+"-admin", 1).AppName()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	app := a.AppName()
	var n int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n)
	return n, err
}

// TempSQLiteDSN returns a DSN for a fresh SQLite file in a new temporary
// directory, and a func that removes it.
func TempSQLiteDSN() (string, func(), error) {
	dir, err := os.MkdirTemp("", "readiness-ledger-")
	if err != nil {
		return "", nil, err
	}
	return "sqlite://" + filepath.ToSlash(filepath.Join(dir, "ledger.db")), func() { _ = os.RemoveAll(dir) }, nil
}

// ScenarioNames lists the scenarios' names.
func ScenarioNames() []string {
	var out []string
	for _, s := range scenarios() {
		out = append(out, s.Name)
	}
	return out
}

func joinLines(s []string) string { return strings.Join(s, "; ") }
