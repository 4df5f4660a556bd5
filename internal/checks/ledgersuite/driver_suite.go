package ledgersuite

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/ledgerproto"
)

// scenarioNeeds lists the protocol ops (and features) each scenario uses
// through a driver. A scenario missing here cannot run over a driver yet:
// it is reported not applicable, never silently passed.
var scenarioNeeds = map[string][]string{
	"lost-output/review-restart":              {"claim", "complete", "recreate", "fail", "wait"},
	"lost-output/owner-killed-after-complete": {"claim", "complete", "wait"},
	"lost-output/row-cleared":                 {"claim", "complete", "forget", "recreate", "fail", "wait", "inspect"},
	"lost-output/first-output-wins":           {"claim", "complete", "wait", ledgerproto.FeatureLeases},
	"lost-output/waiters-during-commit":       {"claim", "complete", "wait"},
	"wait-unbounded/deadline":                 {"claim", "wait", "inspect"},
	"double-owner/claim-race":                 {"claim", "fail", "renew", ledgerproto.FeatureLeases},
	"double-owner/do-race":                    {"claim", "complete", "wait"},
	"no-takeover/owner-killed":                {"claim", "complete", "fail", "wait", ledgerproto.FeatureLeases},
	"failure/delivered":                       {"claim", "fail", "wait"},
	"failure/recovery":                        {"claim", "complete", "fail", "wait", ledgerproto.FeatureTokens},
	"empty-output":                            {"claim", "complete", "wait"},
	"late-write":                              {"claim", "complete", "forget", "wait"},
	"store-fault/busy-writers":                {"claim", "complete", "fail"},
}

// requiredScenarios reproduce the review's defect: a driver may not leave
// them out (not applicable is a blocking finding unless waived).
var requiredScenarios = []string{"lost-output/review-restart", "lost-output/owner-killed-after-complete"}

// RuleRequiredNotApplicable marks a required scenario a driver could not run.
const RuleRequiredNotApplicable = "LEDGER-REQUIRED-NOT-APPLICABLE"

// killsProcesses: scenarios that SIGKILL routers and then expect the store
// to still hold what was committed.
var killsProcesses = []string{"lost-output/owner-killed-after-complete", "no-takeover/owner-killed"}

// notApplicable says why a scenario cannot run against the driver, or "".
func notApplicable(sc Scenario, m Mode, h ledgerproto.Hello) string {
	if sc.Name == "store-fault/connection-killed" {
		return "not applicable: kills the ledger's own PostgreSQL connections, which a driver does not expose"
	}
	needs, ok := scenarioNeeds[sc.Name]
	if !ok {
		return "not applicable: this scenario does not run over the driver protocol yet"
	}
	var missing, features []string
	for _, op := range needs {
		switch {
		case h.Supports(op):
		case slices.Contains(ledgerproto.KnownOps, op):
			missing = append(missing, op)
		default:
			features = append(features, op)
		}
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, fmt.Sprintf("the driver lacks %s (implement it and list it in init_ok's ops)", strings.Join(missing, ", ")))
	}
	for _, f := range features {
		switch f {
		case ledgerproto.FeatureLeases:
			why = append(why, "the driver does not declare the leases feature: its claims never run out, and this scenario needs an owner's claim to run out")
		default:
			why = append(why, fmt.Sprintf("the driver does not declare the %s feature", f))
		}
	}
	if len(why) > 0 {
		return "not applicable: " + strings.Join(why, "; ")
	}
	if m == Processes && !h.Durable && slices.Contains(killsProcesses, sc.Name) {
		return "not applicable: the driver's store does not survive a killed process (durable: false)"
	}
	return ""
}

// driverState is the suite's side of a driver: the handshake, and the
// driver process that inproc-mode actors share.
type driverState struct {
	cmd    ledgerproto.Command
	hello  ledgerproto.Hello
	mu     sync.Mutex
	shared *ledgerproto.Client
}

func driverOptions(node string) ledgerproto.Options {
	return ledgerproto.Options{Node: node, HandshakeTimeout: 30 * time.Second, RequestTimeout: callTimeout}
}

// startDriver starts the shared process and records the handshake: a
// driver that fails here fails the whole run.
func startDriver(ctx context.Context, cmd ledgerproto.Command) (*driverState, error) {
	c, err := ledgerproto.Start(ctx, cmd, driverOptions("shared"))
	if err != nil {
		return nil, err
	}
	return &driverState{cmd: cmd, hello: c.Hello(), shared: c}, nil
}

// sharedClient returns the shared process, restarting it after a fault.
func (d *driverState) sharedClient(ctx context.Context) (*ledgerproto.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.shared != nil && d.shared.Fault() == nil {
		return d.shared, nil
	}
	if d.shared != nil {
		_ = d.shared.Close()
	}
	c, err := ledgerproto.Start(ctx, d.cmd, driverOptions("shared"))
	if err != nil {
		d.shared = nil
		return nil, err
	}
	d.shared = c
	return c, nil
}

func (d *driverState) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.shared != nil {
		_ = d.shared.Close()
		d.shared = nil
	}
}

// newDriverActor starts a router for a scenario run over the driver.
func (e *Env) newDriverActor(name string) (Actor, error) {
	d := e.suite.driver
	if e.Mode == Processes {
		c, err := ledgerproto.Start(e.ctx, d.cmd, driverOptions(name))
		if err != nil {
			e.driverFault(err)
			return nil, err
		}
		return newDriverActor(name, c, false, e.Lease, e.suite.cfg.RouterWait, e.driverFault), nil
	}
	c, err := d.sharedClient(e.ctx)
	if err != nil {
		e.driverFault(err)
		return nil, err
	}
	return newDriverActor(name, c, true, e.Lease, e.suite.cfg.RouterWait, e.driverFault), nil
}

// driverFault records that the driver misbehaved during this run: the run
// fails under LEDGER-STORE-FAULT whatever its scenario judged.
func (e *Env) driverErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fault
}

func (e *Env) driverFault(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fault == nil {
		e.fault = err
	}
}

// RuleNotApplicable marks a scenario a driver could not run.
const RuleNotApplicable = "LEDGER-NOT-APPLICABLE"

// judgeDriver adds what a driver run needs beyond the scenarios' own
// findings: the driver's identity, a warning per scenario it could not
// run, and an error status when the driver misbehaved or nothing ran —
// a driver that proves nothing must never pass.
func judgeDriver(rep *Report, res *checks.Result, passed int) {
	if rep.LedgerDriver == nil {
		return
	}
	res.Facts["ledger_driver"] = rep.LedgerDriver
	var faults []string
	for _, s := range rep.Scenarios {
		id := s.Scenario + "/" + string(s.Mode)
		if s.NotApplicable > 0 {
			required := slices.Contains(requiredScenarios, s.Scenario)
			msg := fmt.Sprintf("scenario %s [%s] (%s) did not run against driver %q: %s", s.Scenario, s.Mode, s.Rule, strings.Join(rep.LedgerDriver.Command, " "), s.Reason)
			f := book.Finding(RuleNotApplicable, id, msg, nil)
			if required {
				// A required scenario that cannot run leaves a blocker
				// unguarded: it has its own rule, graded above this one.
				f = book.Finding(RuleRequiredNotApplicable, id, msg, nil)
			}
			res.Findings = append(res.Findings, f.With(map[string]any{"scenario": s.Scenario, "mode": string(s.Mode), "rule": s.Rule, "reason": s.Reason, "required": required}))
		}
		if s.DriverFaults > 0 {
			faults = append(faults, fmt.Sprintf("%s: %s", id, strings.Join(s.Failures, " | ")))
		}
	}
	sort.Slice(res.Findings, func(i, j int) bool { return res.Findings[i].ID < res.Findings[j].ID })
	switch {
	case len(faults) > 0:
		res.Status = checks.StatusError
		res.Error = "the ledger driver misbehaved during the run: " + strings.Join(faults, "; ")
	case passed == 0 && rep.Failed() == 0:
		res.Status = checks.StatusError
		res.Error = "no scenario ran against the ledger driver: nothing was proved"
	case res.Status == checks.StatusPass && len(res.Findings) > 0:
		res.Status = checks.StatusFail
	}
}
