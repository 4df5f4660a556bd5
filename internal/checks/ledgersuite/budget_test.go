package ledgersuite

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/readiness-dev/readiness/internal/ledger"
)

func TestPlanConns(t *testing.T) {
	tests := []struct {
		budget, processes int
		procs             bool
		wantErr           string
	}{
		{budget: 0, processes: 4, procs: true},
		{budget: 50, processes: 4, procs: true},
		{budget: 50, processes: 16, procs: true},
		{budget: 100, processes: 8, procs: true},
		{budget: 20, processes: 3, procs: true},
		{budget: 15, processes: 4, procs: true},
		{budget: 14, processes: 4, procs: true, wantErr: "needs at least 15"},
		{budget: 50, processes: 30, procs: true, wantErr: "lower processes"},
		{budget: 3, processes: 4, procs: false},
		{budget: 2, processes: 4, procs: false, wantErr: "too small"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d/%v", tt.budget, tt.processes, tt.procs), func(t *testing.T) {
			p, err := planConns(tt.budget, tt.processes, tt.procs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			budget := tt.budget
			if budget == 0 {
				budget = DefaultMaxConns
			}
			// admin + listener + in-process pool + workers (and one leaving).
			peak := 2 + p.Inproc
			if tt.procs {
				peak += (p.MaxProcs + 1) * (p.PerProc + 1)
				if p.MaxProcs < liveWorkers(tt.processes) {
					t.Errorf("plan %+v allows %d workers, the scenarios keep %d alive", p, p.MaxProcs, liveWorkers(tt.processes))
				}
				if p.PerProc < 1 {
					t.Errorf("plan %+v gives workers no pooled connection", p)
				}
			}
			if peak > budget || p.Inproc < 1 {
				t.Errorf("plan %+v may hold %d connections, over the budget %d", p, peak, budget)
			}
		})
	}
}

// connSampler counts, until stopped, the server connections whose
// application_name starts with prefix, and keeps the peak of each phase
// (a phase ends when endPhase names it).
type connSampler struct {
	mu    sync.Mutex
	cur   int
	peak  int
	lines []string
	stop  context.CancelFunc
	done  chan error
}

func sampleConns(t *testing.T, dsn, prefix string) *connSampler {
	t.Helper()
	d, err := ledger.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, d.Conn)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &connSampler{stop: cancel, done: make(chan error, 1)}
	go func() {
		defer conn.Close(context.Background())
		for ctx.Err() == nil {
			var n int
			err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE starts_with(application_name, $1)`, prefix).Scan(&n)
			if err != nil {
				if ctx.Err() == nil {
					s.done <- err
					return
				}
				break
			}
			s.mu.Lock()
			s.cur, s.peak = max(s.cur, n), max(s.peak, n)
			s.mu.Unlock()
		}
		s.done <- nil
	}()
	return s
}

func (s *connSampler) endPhase(p string) {
	s.mu.Lock()
	s.lines = append(s.lines, fmt.Sprintf("%s %d", p, s.cur))
	s.cur = 0
	s.mu.Unlock()
}

func (s *connSampler) finish(t *testing.T) (int, []string) {
	s.stop()
	if err := <-s.done; err != nil {
		t.Fatalf("sample pg_stat_activity: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.lines
}

// TestSuitePostgresConnectionBudget runs the scenarios that hold the most
// connections (many fresh routers at once, many workers, killed
// connections) and asserts from pg_stat_activity that the suite never
// held more server connections than its budget.
func TestSuitePostgresConnectionBudget(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	for _, tc := range []struct {
		budget, processes int
	}{
		{budget: 0, processes: 4}, // the default, 50
		{budget: 20, processes: 3},
	} {
		budget := tc.budget
		if budget == 0 {
			budget = DefaultMaxConns
		}
		t.Run(fmt.Sprintf("max_connections=%d", budget), func(t *testing.T) {
			tag := "b" + nonce()
			sampler := sampleConns(t, dsn, "readiness-ledger:"+tag)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			rep, err := Run(ctx, Config{
				DSN: dsn, Worker: testWorker(t), Processes: tc.processes, MaxConns: tc.budget, Tag: tag,
				Run: regexp.MustCompile(`waiters-during-commit|claim-race|do-race|busy-writers|connection-killed|owner-killed-after-complete`),
				Progress: func(o Outcome) {
					sampler.endPhase(o.Scenario + "/" + string(o.Mode))
					if !o.Passed {
						t.Errorf("%s [%s]: %s%s", o.Scenario, o.Mode, o.Skipped, o.Error)
					}
				},
			})
			peak, peaks := sampler.finish(t)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("plan %+v; peak %d connections; peak by scenario: %s", *rep.Connections, peak, strings.Join(peaks, ", "))
			if peak > budget {
				t.Errorf("the suite held %d server connections at once, over its budget of %d", peak, budget)
			}
			if peak == 0 {
				t.Errorf("no connection of the suite was ever seen: the sampler's filter is wrong")
			}
		})
	}
}
