package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"example.com/creativesync/platform/httpserver"
	"example.com/creativesync/platform/natstest"
)

type pinger struct{ err error }

func (p pinger) PingContext(context.Context) error { return p.err }

func readyz(t *testing.T, checks []httpserver.Check) (int, map[string]string) {
	t.Helper()
	h := httpserver.Handler(prometheus.NewRegistry(), checks, func(*http.ServeMux) {})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return rec.Code, body
}

// Readiness tells the truth: a replica without NATS still does its HTTP
// job (the outbox holds the events), so it stays ready and says NATS is
// degraded; without Postgres it can do nothing and is not ready.
func TestReadinessWithNATSDownIsDegradedNotFailing(t *testing.T) {
	nc, err := nats.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(&journal{})
	close(r.running)
	code, body := readyz(t, Checks(pinger{}, nc, r))
	if code != 200 || body["nats"] != "ok" || body["postgres"] != "ok" || body["consumer"] != "ok" {
		t.Fatalf("all up: %d %v", code, body)
	}
	nc.Close()
	code, body = readyz(t, Checks(pinger{}, nc, newRouter(&journal{})))
	if code != 200 || !strings.HasPrefix(body["nats"], "degraded: ") || !strings.HasPrefix(body["consumer"], "degraded: ") {
		t.Fatalf("NATS down: %d %v", code, body)
	}
	code, body = readyz(t, Checks(pinger{errors.New("connection refused")}, nc))
	if code != 503 || body["postgres"] != "connection refused" {
		t.Fatalf("Postgres down: %d %v", code, body)
	}
}
