package httpapi

import "net/http"

// Routes mounts ingest's whole API surface on mux.
func (a *API) Routes(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.Handler { return correlate(a.authenticate(h)) }

	mcpH := correlate(a.mcpHandler())
	mux.Handle("/mcp", mcpH)
	mux.Handle("/mcp/", mcpH)

	mux.Handle("GET /api/v1/capabilities", correlate(http.HandlerFunc(a.handleCapabilities)))
	mux.Handle("GET /api/v1/formats", correlate(http.HandlerFunc(a.handleFormats)))
	mux.Handle("POST /api/v1/creatives/sync", auth(a.handleSync))
	mux.Handle("GET /api/v1/creatives", auth(a.handleListGet))
	mux.Handle("POST /api/v1/creatives/list", auth(a.handleListPost))
	mux.Handle("GET /api/v1/creatives/{creative_id}", auth(a.handleGetCreative))
	mux.Handle("GET /api/v1/tasks/{task_id}", auth(a.handleGetTask))
	mux.Handle("POST /api/v1/media-buys/{media_buy_id}/creatives", auth(a.handleMediaBuyCreatives))
	// The Drive-link job API keeps the seed's path.
	mux.Handle("POST /api/external/creative_sync", auth(a.handleCreateJob))
	mux.Handle("GET /api/external/creative_sync/{job_id}", auth(a.handleGetJob))
	if a.cfg.Assets != nil {
		mux.Handle("GET /assets/{key}", a.cfg.Assets)
	}
	mux.Handle("/api/", http.HandlerFunc(a.notFound))
}
