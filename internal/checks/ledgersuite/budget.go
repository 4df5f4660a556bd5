package ledgersuite

import (
	"context"
	"fmt"
	"slices"
)

// DefaultMaxConns is the suite's PostgreSQL connection budget: at most
// this many server connections at once, across this process and every
// worker process. A team's staging server is shared with its
// applications (max_connections is often 100); the suite must not take
// it over.
const DefaultMaxConns = 50

// connPlan divides a connection budget among the suite's actors.
//
//	this process:   1 admin connection (pg_terminate_backend in
//	                store-fault/connection-killed) + the in-process
//	                actors' shared pool (Inproc) + its LISTEN connection
//	worker process: its pool (PerProc) + its LISTEN connection, at most
//	                MaxProcs workers alive at once
type connPlan struct {
	Budget   int `json:"budget"`
	Inproc   int `json:"inproc_pool"`
	PerProc  int `json:"worker_pool"`
	MaxProcs int `json:"max_workers"`
}

// liveWorkers is how many worker processes the scenarios keep alive at
// once with n worker processes configured: the many-process scenarios use
// n; lost-output/waiters-during-commit an owner plus max(n, 3) fresh
// waiters.
func liveWorkers(n int) int { return max(n, 3) + 1 }

// planConns sizes the pools so that the peak stays within budget.
// procs: whether worker processes run (procs mode).
func planConns(budget, processes int, procs bool) (connPlan, error) {
	if budget <= 0 {
		budget = DefaultMaxConns
	}
	p := connPlan{Budget: budget}
	const fixed = 2 // admin + this process's listener
	if !procs {
		p.Inproc = min(8, budget-fixed)
		if p.Inproc < 1 {
			return p, fmt.Errorf("max_connections %d is too small: the in-process scenarios need at least %d PostgreSQL connections", budget, fixed+1)
		}
		return p, nil
	}
	need := liveWorkers(processes)
	// Each worker needs 2 (one pooled, one listener); one more worker's
	// worth is kept for the moment a closed worker's backends take to go.
	least := fixed + 1 + 2*(need+1)
	if budget < least {
		return p, fmt.Errorf("max_connections %d is too small for %d worker processes: the suite needs at least %d PostgreSQL connections (2 per worker process, %d alive at once plus one leaving, and %d for this process); raise max_connections or lower processes",
			budget, processes, least, need, fixed+1)
	}
	p.Inproc = min(8, max(1, budget/6))
	for p.Inproc > 1 && budget-fixed-p.Inproc < 2*(need+1) {
		p.Inproc--
	}
	rest := budget - fixed - p.Inproc
	p.PerProc = min(4, rest/(need+1)-1)
	p.MaxProcs = rest/(p.PerProc+1) - 1
	return p, nil
}

// CheckBudget says whether a PostgreSQL connection budget can run the
// suite with this many worker processes and these modes (none: both),
// so that commands and readiness.yaml refuse it before anything runs.
func CheckBudget(maxConns, processes int, modes []Mode) error {
	if processes <= 0 {
		processes = 4
	}
	_, err := planConns(maxConns, processes, len(modes) == 0 || slices.Contains(modes, Processes))
	return err
}

// reserveProc makes room for one more worker process within the plan,
// closing idle workers kept for reuse if need be. It returns a release
// func the worker calls when it has exited.
func (s *suite) reserveProc(ctx context.Context) (func(), error) {
	for {
		s.mu.Lock()
		if s.plan.MaxProcs == 0 || s.procsAlive < s.plan.MaxProcs {
			s.procsAlive++
			s.mu.Unlock()
			return s.procExited, nil
		}
		idle := s.pool[Processes]
		if len(idle) == 0 {
			s.mu.Unlock()
			return nil, fmt.Errorf("the scenario needs more than %d worker processes alive at once, the most the connection budget (max_connections %d) allows", s.plan.MaxProcs, s.plan.Budget)
		}
		a := idle[0]
		s.pool[Processes] = idle[1:]
		s.mu.Unlock()
		_ = a.Close()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (s *suite) procExited() {
	s.mu.Lock()
	s.procsAlive--
	s.mu.Unlock()
}
