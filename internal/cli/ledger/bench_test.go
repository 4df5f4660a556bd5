package ledger_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLedgerBenchFlags: contradictory or impossible bench shapes are usage
// errors (exit 2, nothing measured).
func TestLedgerBenchFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown workload", []string{"--workload", "python"}, "unknown workload"},
		{"both fan-out flags", []string{"--waiters", "10", "--waiters-per-process", "5"}, "not both"},
		{"arrivals after the output", []string{"--spread", "300ms", "--complete-after", "200ms"}, "--spread must be shorter"},
		{"negative spread", []string{"--spread", "-1ms"}, "0 or more"},
		{"zero waiters", []string{"--waiters", "0"}, "--waiters must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, append([]string{"ledger", "bench"}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 2 and %q, got %+v", tc.want, r)
			}
		})
	}
}

// TestLedgerBenchPeerWorkload: --workload peer sets the peer's shape on
// every flag not given, and explicit flags win.
func TestLedgerBenchPeerWorkload(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "bench.db")
	r := runBinary(t, "ledger", "bench", "--workload", "peer", "--keys", "30", "--samples", "4", "--processes", "2", "--idle", "10ms", "--json", "--db", db)
	if r.code != 0 {
		t.Fatalf("bench: %+v", r)
	}
	var rep struct {
		Processes int `json:"processes"`
		Delivery  []struct {
			Mode    string `json:"mode"`
			Waiters int    `json:"waiters"`
			Round   struct {
				Spread        time.Duration `json:"spread_ns"`
				CompleteAfter time.Duration `json:"complete_after_ns"`
			} `json:"round"`
			Negative *int `json:"negative"`
		} `json:"delivery"`
		Throughput struct {
			Keys        int  `json:"keys"`
			Concurrency int  `json:"concurrency"`
			WaitersPer  int  `json:"waiters_per_key"`
			AtOnce      bool `json:"complete_at_once"`
		} `json:"throughput"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	tp := rep.Throughput
	if rep.Processes != 2 || tp.Keys != 30 || tp.Concurrency != 25 || tp.WaitersPer != 4 || !tp.AtOnce {
		t.Errorf("throughput shape: processes %d, %+v", rep.Processes, tp)
	}
	if len(rep.Delivery) != 2 {
		t.Fatalf("delivery: %+v", rep.Delivery)
	}
	for _, d := range rep.Delivery {
		if d.Waiters != 100 || d.Round.Spread != 100*time.Millisecond || d.Round.CompleteAfter != 200*time.Millisecond || d.Negative == nil {
			t.Errorf("delivery round shape: %+v", d)
		}
	}
}
