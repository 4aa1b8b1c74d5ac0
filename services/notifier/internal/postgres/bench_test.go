package postgres_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkInsert is the handler's cost per notification: one single-row
// autocommit insert (one WAL flush).
func BenchmarkInsert(b *testing.B) {
	s, _ := mustStoreTB(b)
	i := 0
	for b.Loop() {
		i++
		if _, _, err := s.Insert(context.Background(), newDelivery(i, "acct", t0)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimAndRecord is the dispatcher's database cost per attempt:
// a SKIP LOCKED claim plus the transaction that records the outcome.
func BenchmarkClaimAndRecord(b *testing.B) {
	s, _ := mustStoreTB(b)
	for i := range b.N {
		mustInsertTB(b, s, newDelivery(i, "acct", t0))
	}
	b.ResetTimer()
	for range b.N {
		ds, err := s.Claim(context.Background(), t0, time.Minute, 1)
		if err != nil || len(ds) != 1 {
			b.Fatalf("claim: %v %d", err, len(ds))
		}
		if err := s.Record(context.Background(), ds[0], attemptOK(ds[0]), delivered); err != nil {
			b.Fatal(err)
		}
	}
}
