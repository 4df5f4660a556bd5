package ledgersuite

import (
	"context"
	"slices"
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

// TestBenchShapedRound: a shaped round (arrivals spread, complete at a
// fixed time) delivers to every waiter in and across processes, measures
// on one clock (no waiter can return before Complete was called) and
// keeps negative latencies as they are.
func TestBenchShapedRound(t *testing.T) {
	t.Parallel()
	cfg := PeerWorkload()
	cfg.DSN = "sqlite://" + t.TempDir() + "/ledger.db"
	cfg.Worker, cfg.Processes, cfg.Waiters, cfg.Samples, cfg.NoIdle = testWorker(t), 2, []int{8}, 16, true
	cfg.Round = Round{Spread: 20 * time.Millisecond, CompleteAfter: 40 * time.Millisecond}
	cfg.Workload.Keys = 40
	rep, err := Bench(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Delivery) != 2 || len(rep.Idle) != 0 {
		t.Fatalf("want an in-process and a cross-process figure and no idle one, got %+v %+v", rep.Delivery, rep.Idle)
	}
	for _, d := range rep.Delivery {
		if d.Samples != d.Rounds*8 || d.Round != cfg.Round || d.Min > d.P50 || d.P50 > d.P99 || d.P99 > d.Max {
			t.Errorf("inconsistent figure %+v", d)
		}
		if (d.Min < 0) != (d.Negative > 0) {
			t.Errorf("negative latencies miscounted: %+v", d)
		}
	}
	if rep.Throughput.Keys != 40 || !rep.Throughput.AtOnce || rep.Throughput.Concurrency != 25 {
		t.Errorf("throughput: %+v", rep.Throughput)
	}
}

// BenchmarkLedgerPeerWorkload is `readiness ledger bench --workload peer`
// (the reviewed Python ledger's benchmark) on SQLite and PostgreSQL:
// keys/s of the 1,000-key workload and the cross-process delivery p99.
//
//	go test -run XXX -bench LedgerPeerWorkload -benchtime 3x ./internal/checks/ledgersuite/
func BenchmarkLedgerPeerWorkload(b *testing.B) {
	for _, store := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite://" + b.TempDir() + "/ledger.db" }},
		{"postgres", func(b *testing.B) string { return postgresDSN(b) }},
	} {
		b.Run(store.name, func(b *testing.B) {
			cfg := PeerWorkload()
			cfg.DSN, cfg.Worker, cfg.NoIdle = store.dsn(b), testWorker(b), true
			var kps, p99, neg []float64
			for b.Loop() {
				rep, err := Bench(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				kps = append(kps, rep.Throughput.KeysPerSec)
				for _, d := range rep.Delivery {
					if d.Mode == Processes {
						p99 = append(p99, float64(d.P99)/float64(time.Millisecond))
						neg = append(neg, float64(d.Negative))
					}
				}
			}
			b.ReportMetric(median(kps), "keys/s")
			b.ReportMetric(median(p99), "p99-procs-ms")
			b.ReportMetric(median(neg), "negative-procs")
			b.ReportMetric(0, "ns/op") // one op is a whole run: its time says nothing
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestDeliveryStatsKeepsNegatives: a waiter woken before Complete returned
// is reported as a negative latency, not clamped to zero.
func TestDeliveryStatsKeepsNegatives(t *testing.T) {
	ms := time.Millisecond
	d := deliveryStats([]time.Duration{-ms / 2, ms, 2 * ms, 3 * ms}, []time.Duration{ms, 2 * ms, 3 * ms, 4 * ms}, []time.Duration{ms})
	want := Delivery{Samples: 4, Min: -ms / 2, P50: ms, P99: 3 * ms, Max: 3 * ms, Negative: 1, Commit: ms, P50FromCall: 2 * ms, P99FromCall: 4 * ms, MaxFromCall: 4 * ms}
	if d != want {
		t.Errorf("deliveryStats:\n got %+v\nwant %+v", d, want)
	}
}
