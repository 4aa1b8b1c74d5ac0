// Package httpapi is the review service's HTTP edge: the reviewer JSON API,
// the server-rendered reviewer page and the mapping of error codes to
// statuses.
package httpapi

import (
	"log/slog"
	"net/http"

	"example.com/creativesync/services/review/internal/staff"
)

// Config configures New.
type Config struct {
	Reviews Reviews
	Staff   Staff
	// DevToken is REVIEWER_TOKEN, a development-only switch: when set the
	// API also accepts it, as an admin recorded as "shared-token
	// (development)". Production uses per-reviewer tokens and accounts.
	DevToken string
	// OIDC, when set, adds sign-in through an OpenID Connect provider.
	OIDC   *OIDCConfig
	Logger *slog.Logger
}

// API is the service's HTTP surface; the ops endpoints (/healthz, /readyz,
// /metrics) are added by httpserver.Handler, which mounts Routes.
type API struct{ cfg Config }

// New returns the API.
func New(cfg Config) *API {
	if cfg.Reviews == nil || cfg.Staff == nil || cfg.Logger == nil {
		panic("httpapi: Reviews, Staff and Logger are required")
	}
	return &API{cfg: cfg}
}

// Routes mounts every route of the API on mux.
func (a *API) Routes(mux *http.ServeMux) { addRoutes(mux, a.cfg) }

// addRoutes lists every route the service serves, with the least role each
// needs.
func addRoutes(mux *http.ServeMux, cfg Config) {
	if cfg.DevToken != "" {
		cfg.Logger.Warn("REVIEWER_TOKEN is set: the API accepts it as an admin; use it for development only")
	}
	a := auth{staff: cfg.Staff, devToken: []byte(cfg.DevToken), logger: cfg.Logger}
	api := api{reviews: cfg.Reviews, staff: cfg.Staff, logger: cfg.Logger}
	const rev = "/api/v1/reviews/{account_id}/{creative_id}/{revision}"
	mux.Handle("GET /api/v1/me", a.requireBearer(staff.RoleReviewer, "reading your account", api.me))
	mux.Handle("GET /api/v1/reviews", a.requireBearer(staff.RoleReviewer, "listing reviews", api.listReviews))
	mux.Handle("GET "+rev, a.requireBearer(staff.RoleReviewer, "reading a review", api.getReview))
	mux.Handle("POST "+rev+"/decision", a.requireBearer(staff.RoleReviewer, "deciding", api.decide))
	mux.Handle("POST "+rev+"/claim", a.requireBearer(staff.RoleReviewer, "claiming", api.claim))
	mux.Handle("DELETE "+rev+"/claim", a.requireBearer(staff.RoleReviewer, "releasing a claim", api.release))
	mux.Handle("GET /api/v1/creatives/{account_id}/{creative_id}/history", a.requireBearer(staff.RoleReviewer, "reading history", api.history))
	mux.Handle("GET /api/v1/policies/{account_id}", a.requireBearer(staff.RoleReviewer, "reading content standards", api.getPolicy))
	mux.Handle("PUT /api/v1/policies/{account_id}", a.requireBearer(staff.RoleLead, "changing content standards", api.putPolicy))
	mux.Handle("GET /api/v1/audit", a.requireBearer(staff.RoleAdmin, "reading the audit log", api.audit))
	mux.Handle("POST /api/v1/reviewers/{email}/revoke-sessions", a.requireBearer(staff.RoleAdmin, "revoking sessions", api.revokeSessions))

	// The page authenticates with a session cookie, so its state-changing
	// posts are also checked for cross-origin requests (Sec-Fetch-Site /
	// Origin), on top of the SameSite=Strict cookie.
	p := page{reviews: cfg.Reviews, staff: cfg.Staff, auth: a, logger: cfg.Logger}
	if cfg.OIDC != nil {
		p.oidcName = cfg.OIDC.Name
		if p.oidcName == "" {
			p.oidcName = "your identity provider"
		}
		o := &oidcLogin{cfg: *cfg.OIDC, staff: cfg.Staff, page: p}
		mux.HandleFunc("GET /reviews/oidc/login", o.start)
		mux.HandleFunc("GET /reviews/oidc/callback", o.callback)
	}
	csrf := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /reviews", p.queue)
	mux.Handle("POST /reviews/login", csrf.Handler(http.HandlerFunc(p.login)))
	mux.Handle("POST /reviews/logout", csrf.Handler(http.HandlerFunc(p.logout)))
	mux.Handle("POST /reviews/{account_id}/{creative_id}/{revision}/decision", csrf.Handler(http.HandlerFunc(p.decide)))
	mux.Handle("POST /reviews/{account_id}/{creative_id}/{revision}/claim", csrf.Handler(http.HandlerFunc(p.claim)))
	mux.HandleFunc("GET /reviews/{account_id}/{creative_id}/history", p.history)
	mux.HandleFunc("GET /reviews/static/page.js", p.script)
	mux.HandleFunc("GET /reviews/standards", p.standards)
	mux.Handle("POST /reviews/standards", csrf.Handler(http.HandlerFunc(p.saveStandards)))
	mux.HandleFunc("GET /reviews/state", p.state)
}
