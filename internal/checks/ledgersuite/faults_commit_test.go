package ledgersuite

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/ledger"
)

// lateFeedLedger reintroduces issue 15's lost wake-up (a fake, to provoke
// the fault on demand): its waiters read the key, and only then, a moment
// later, take the starting point of what they will be told about, as the
// SQLite change feed did when it started on a goroutine of its own after
// Open. A commit between the two is never announced.
type lateFeedLedger struct{ *ledger.Ledger }

func (l lateFeedLedger) Wait(ctx context.Context, key string, opts ...ledger.WaitOption) (ledger.Result, error) {
	ready := ledger.ApplyWaitOptions(opts...).OnWaiting
	st, err := l.Inspect(ctx, key)
	if err != nil {
		return ledger.Result{}, err
	}
	if st.Phase() == ledger.PhaseCompleted {
		return ledger.Result{Output: st.Output.Data, Source: ledger.Shared}, nil
	}
	if ready != nil {
		ready(st)
	}
	time.Sleep(30 * time.Millisecond) // the feed starts late...
	base, err := l.Inspect(ctx, key)  // ...and takes its starting point
	if err != nil {
		return ledger.Result{}, err
	}
	for {
		select {
		case <-ctx.Done():
			return ledger.Result{}, &ledger.TimeoutError{Key: key, Last: st, Cause: ctx.Err()}
		case <-time.After(5 * time.Millisecond):
		}
		cur, err := l.Inspect(ctx, key)
		if err != nil {
			return ledger.Result{}, err
		}
		// Only changes after the starting point are announced.
		if base.Output == nil && cur.Output != nil {
			return ledger.Result{Output: cur.Output.Data, Source: ledger.Shared}, nil
		}
		st = cur
	}
}

func TestSuiteCatchesLateFeedStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		DSN: "sqlite://" + t.TempDir() + "/ledger.db", Modes: []Mode{InProcess},
		Run:  regexp.MustCompile("waiters-during-commit"),
		Open: wrap(func(l *ledger.Ledger) Ledger { return lateFeedLedger{l} }), WaitTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range Evaluate(rep).Findings {
		rules = append(rules, f.Rule)
		t.Logf("caught: %s: %s", f.ID, f.Message)
	}
	if !strings.Contains(strings.Join(rules, " "), RuleLostOutput) {
		t.Errorf("the suite did not catch a waiter whose feed starts after its first read: want a %s finding, got %v", RuleLostOutput, rules)
	}
}
