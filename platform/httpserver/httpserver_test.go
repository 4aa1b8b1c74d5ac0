package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"example.com/creativesync/platform/httpserver"
)

func TestReadyzReportsDegradedChecksWithoutFailing(t *testing.T) {
	t.Parallel()
	down := func(context.Context) error { return errors.New("agent down") }
	up := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name   string
		checks []httpserver.Check
		status int
		want   map[string]string
	}{
		{"degraded", []httpserver.Check{{Name: "db", Fn: up}, {Name: "agents", Fn: down, Degraded: true}}, 200,
			map[string]string{"db": "ok", "agents": "degraded: agent down"}},
		{"failing", []httpserver.Check{{Name: "db", Fn: down}, {Name: "agents", Fn: up, Degraded: true}}, 503,
			map[string]string{"db": "agent down", "agents": "ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := httpserver.Handler(httpserver.NewRegistry(), tc.checks, func(*http.ServeMux) {})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || len(got) != len(tc.want) {
				t.Fatalf("%d %v", rec.Code, got)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
