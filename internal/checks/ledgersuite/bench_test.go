package ledgersuite

import (
	"context"
	"testing"
	"time"
)

// TestBenchSmall runs every part of the benchmark on a tiny scale; the
// figures themselves are not judged here (speed is measured, not tested).
func TestBenchSmall(t *testing.T) {
	t.Parallel()
	rep, err := Bench(context.Background(), BenchConfig{
		DSN: "sqlite://" + t.TempDir() + "/ledger.db", Worker: testWorker(t), Processes: 2,
		Waiters: []int{1, 10}, Samples: 10, Throughput: 200 * time.Millisecond, IdleWaiters: 20, Idle: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Delivery) != 4 {
		t.Fatalf("want 2 in-process and 2 cross-process delivery figures, got %+v", rep.Delivery)
	}
	for _, d := range rep.Delivery {
		if d.Samples < d.Waiters*3 || d.Max < d.P99 || d.P99 < d.P50 || d.MaxFromCall < d.Max {
			t.Errorf("inconsistent delivery figure %+v", d)
		}
	}
	if rep.Throughput.Keys == 0 {
		t.Errorf("throughput: no key completed: %+v", rep.Throughput)
	}
	if len(rep.Idle) != 2 || rep.Idle[0].Waiters != 20 || rep.Idle[0].Wall < 200*time.Millisecond {
		t.Errorf("idle: %+v", rep.Idle)
	}
}
