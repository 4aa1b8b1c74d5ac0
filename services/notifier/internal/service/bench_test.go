package service_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/natstest"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/platform/servicetest"
)

// BenchmarkEndToEndDeliveries measures the whole path for b.N notifications:
// JetStream → handler → Postgres insert → claim → RFC 9421 signing → HTTP
// POST to a local receiver → attempt recorded. Run it with a fixed count,
// e.g. -bench EndToEnd -benchtime 2000x; it reports deliveries/s.
func BenchmarkEndToEndDeliveries(b *testing.B) {
	for _, workers := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			bk := natstest.NewBroker(b)
			cfg := testConfig(pgtest.NewDatabase(b), bk.Prefix)
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
			publish(bk, evs...)
			servicetest.Eventually(b, 10*time.Minute, func() error {
				if n := got.Load(); n < int64(b.N) {
					return fmt.Errorf("%d of %d received", n, b.N)
				}
				return nil
			})
			// The receiver may see a request before its outcome is
			// recorded; wait for the last record too.
			servicetest.Eventually(b, time.Minute, func() error {
				if len(r.deliveries(b, "status=pending&limit=1")) != 0 {
					return errors.New("pending deliveries remain")
				}
				return nil
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
		})
	}
}
