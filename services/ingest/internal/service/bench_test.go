package service_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSyncREST measures POST /api/v1/creatives/sync end to end (HTTP,
// validation, idempotency record, upserts and outbox rows in one
// transaction) with 10 new creatives per request.
func BenchmarkSyncREST(b *testing.B) {
	s := startIngestB(b)
	const perSync = 100
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cs := make([]map[string]any, perSync)
		for j := range cs {
			cs[j] = banner(fmt.Sprintf("bench_%d_%d", i, j))
		}
		body, _ := json.Marshal(syncReq(cs...))
		if st, out := s.do("POST", "/api/v1/creatives/sync", s.key, body); st != 200 {
			b.Fatalf("%d %s", st, out)
		}
	}
	b.ReportMetric(float64(b.N*perSync)/time.Since(start).Seconds(), "creatives/s")
}
