// Package httpapi is the review service's HTTP edge: the reviewer JSON API,
// the server-rendered reviewer page and the mapping of error codes to
// statuses.
package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// Config configures New.
type Config struct {
	Reviews Reviews
	// Token is REVIEWER_TOKEN. Empty disables the reviewer API and page:
	// their routes are not registered and answer 404, so a deployment that
	// forgot the token exposes nothing rather than an open decision API.
	Token  string
	Logger *slog.Logger
}

// API is the service's HTTP surface; the ops endpoints (/healthz, /readyz,
// /metrics) are added by httpserver.Handler, which mounts Routes.
type API struct{ cfg Config }

// New returns the API.
func New(cfg Config) *API {
	if cfg.Reviews == nil || cfg.Logger == nil {
		panic("httpapi: Reviews and Logger are required")
	}
	return &API{cfg: cfg}
}

// Routes mounts every route of the API on mux.
func (a *API) Routes(mux *http.ServeMux) { addRoutes(mux, a.cfg) }

// addRoutes lists every route the service serves.
func addRoutes(mux *http.ServeMux, cfg Config) {
	if cfg.Token == "" {
		cfg.Logger.Warn("REVIEWER_TOKEN is not set: the reviewer API and page are disabled")
		return
	}
	a := auth{token: []byte(cfg.Token), now: time.Now}
	api := api{reviews: cfg.Reviews, logger: cfg.Logger}
	mux.Handle("GET /api/v1/reviews", a.requireBearer(http.HandlerFunc(api.listReviews)))
	mux.Handle("GET /api/v1/reviews/{account_id}/{creative_id}/{revision}", a.requireBearer(http.HandlerFunc(api.getReview)))
	mux.Handle("POST /api/v1/reviews/{account_id}/{creative_id}/{revision}/decision", a.requireBearer(http.HandlerFunc(api.decide)))
	mux.Handle("GET /api/v1/policies/{account_id}", a.requireBearer(http.HandlerFunc(api.getPolicy)))
	mux.Handle("PUT /api/v1/policies/{account_id}", a.requireBearer(http.HandlerFunc(api.putPolicy)))

	// The page authenticates with a session cookie, so its state-changing
	// posts are also checked for cross-origin requests (Sec-Fetch-Site /
	// Origin), on top of the SameSite=Strict cookie.
	p := page{reviews: cfg.Reviews, auth: a, logger: cfg.Logger}
	csrf := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /reviews", p.queue)
	mux.Handle("POST /reviews/login", csrf.Handler(http.HandlerFunc(p.login)))
	mux.Handle("POST /reviews/logout", csrf.Handler(http.HandlerFunc(p.logout)))
	mux.Handle("POST /reviews/{account_id}/{creative_id}/{revision}/decision", csrf.Handler(http.HandlerFunc(p.decide)))
}
