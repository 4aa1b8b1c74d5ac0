package service_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
)

// BenchmarkEndToEndDeliveries measures the whole path for b.N notifications:
// JetStream → handler → Postgres insert → claim → RFC 9421 signing → HTTP
// POST to a local receiver → attempt recorded. Run it with a fixed count,
// e.g. -bench EndToEnd -benchtime 2000x; it reports deliveries/s.
func BenchmarkEndToEndDeliveries(b *testing.B) {
	for _, workers := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			prefix := natstest.Prefix(b)
			cfg := testConfig(pgtest.NewDatabase(b), prefix)
			cfg.Workers = workers
			r := start(b, cfg)
			var got atomic.Int64
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer recv.Close()
			evs := make([]*events.NotificationRequestedV1, b.N)
			for i := range evs {
				evs[i] = newEvent(recv.URL+"/hooks", nil)
			}
			b.ResetTimer()
			start := time.Now()
			publish(b, prefix, evs...)
			eventually(b, 10*time.Minute, func() (bool, string) {
				return got.Load() >= int64(b.N), fmt.Sprintf("%d of %d received", got.Load(), b.N)
			})
			// The receiver may see a request before its outcome is
			// recorded; wait for the last record too.
			eventually(b, time.Minute, func() (bool, string) {
				return len(r.deliveries(b, "status=pending&limit=1")) == 0, "pending deliveries remain"
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
		})
	}
}
