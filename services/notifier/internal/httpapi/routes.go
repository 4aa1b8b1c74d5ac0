// Package httpapi is the notifier's HTTP surface: operations endpoints, the
// public JWKS buyers verify signatures with, and a small operator API over
// deliveries.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/notifier/internal/notify"
)

// Deliveries is what the operator API needs from storage.
type Deliveries interface {
	List(ctx context.Context, f notify.Filter) ([]notify.Delivery, error)
	Get(ctx context.Context, id int64) (notify.Delivery, []notify.Attempt, error)
	Requeue(ctx context.Context, id int64, now time.Time) (notify.Delivery, error)
}

// Deps are the API's dependencies.
type Deps struct {
	Deliveries Deliveries
	// Wake is called after a re-queue so the delivery goes out at once.
	Wake func()
	// JWKS is the public key set published for buyers.
	JWKS signing.JWKS
	// AdminToken guards /api/v1; empty disables those routes (404).
	AdminToken string
	Logger     *slog.Logger
}

// API is the notifier's HTTP surface; the ops endpoints (/healthz, /readyz
// with Postgres, NATS and consumer checks, /metrics) are added by
// httpserver.Handler, which mounts Routes.
type API struct{ h *handlers }

// New returns the API.
func New(d Deps) *API {
	if d.Deliveries == nil || d.Wake == nil || d.Logger == nil {
		panic("httpapi: missing dependency")
	}
	return &API{h: &handlers{d: d, now: time.Now}}
}

// Routes mounts every route of the API on mux:
//
//	GET  /.well-known/jwks.json            webhook verification key (public)
//	GET  /api/v1/deliveries                list, ?status=&account_id=&limit=     (admin)
//	GET  /api/v1/deliveries/{id}           one delivery with its attempts        (admin)
//	POST /api/v1/deliveries/{id}/retry     re-queue a failed or dead delivery    (admin)
func (a *API) Routes(mux *http.ServeMux) {
	h := a.h
	mux.HandleFunc("GET /.well-known/jwks.json", h.jwks)
	if h.d.AdminToken != "" {
		mux.Handle("GET /api/v1/deliveries", h.admin(h.listDeliveries))
		mux.Handle("GET /api/v1/deliveries/{id}", h.admin(h.getDelivery))
		mux.Handle("POST /api/v1/deliveries/{id}/retry", h.admin(h.retryDelivery))
	}
}
