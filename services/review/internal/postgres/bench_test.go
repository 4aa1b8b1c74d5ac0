package postgres_test

import (
	"fmt"
	"testing"
)

// BenchmarkReviewCreative measures one review's database work: policy
// lookup, the locked insert with its outbox row, and the commit.
func BenchmarkReviewCreative(b *testing.B) {
	f := newFixture(b)
	i := 0
	for b.Loop() {
		i++
		if _, err := reviewEvent(b, f.svc, synced("acct", fmt.Sprintf("c%d", i), 1)); err != nil {
			b.Fatal(err)
		}
	}
}
