// Package httpapi is ingest's edge: REST under /api/v1, MCP at /mcp, and
// the Scalemate-style job API. Every transport decodes the same AdCP bodies
// and renders the same results and error shapes; only here do domain errors
// become HTTP statuses or MCP results.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/creative"
)

// Config is what the edge needs besides the domain service.
type Config struct {
	// MaxBodyBytes caps every request body.
	MaxBodyBytes int64
	// Version is reported by MCP's initialize.
	Version string
	// Admin, when non-nil, backs the admin endpoints and the sandbox-only
	// compliance test controller.
	Admin Admin
}

// Admin is the provisioning the compliance controller and the sales-agent
// media-buy route need.
type Admin interface {
	// MediaBuyPackages returns the account of a media buy the principal
	// owns and its package ids (creative.ErrNotFound otherwise).
	MediaBuyPackages(ctx context.Context, principalID, mediaBuyID string) (accountID string, packageIDs []string, err error)
}

// API holds the handlers.
type API struct {
	svc *creative.Service
	cfg Config
	log *slog.Logger
}

// New returns the API.
func New(svc *creative.Service, cfg Config, log *slog.Logger) *API {
	if svc == nil {
		panic("httpapi.New: nil service")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	return &API{svc: svc, cfg: cfg, log: log}
}

// outcome is a rendered task result: the HTTP status and the AdCP body.
type outcome struct {
	status int
	body   any
	failed bool
}

// errorBody is the AdCP error branch: errors plus the echoed context.
type errorBody struct {
	Errors  []creative.Error `json:"errors"`
	Context json.RawMessage  `json:"context,omitempty"`
}

// render turns a domain result or error into an outcome. Unknown errors are
// logged and reported as SERVICE_UNAVAILABLE without internals.
func (a *API) render(ctx context.Context, okStatus int, v any, err error, reqContext json.RawMessage) outcome {
	if err == nil {
		return outcome{status: okStatus, body: v}
	}
	if re := creative.AsRequestError(err); re != nil {
		st := re.Status
		if st == 0 {
			st = http.StatusBadRequest
		}
		return outcome{status: st, body: errorBody{Errors: re.Errors, Context: reqContext}, failed: true}
	}
	if errors.Is(err, context.Canceled) {
		return outcome{status: 499, body: errorBody{Errors: []creative.Error{{Code: creative.CodeServiceUnavailable, Message: "request canceled", Recovery: "transient"}}, Context: reqContext}, failed: true}
	}
	a.log.ErrorContext(ctx, "request failed", "err", err)
	return outcome{status: http.StatusServiceUnavailable, failed: true, body: errorBody{Context: reqContext, Errors: []creative.Error{{
		Code: creative.CodeServiceUnavailable, Message: "the seller could not complete the request; retry shortly", Recovery: "transient", RetryAfter: 5}}}}
}

func (a *API) syncCreatives(ctx context.Context, p creative.Principal, body []byte) outcome {
	reqCtx := creative.ContextOf(body)
	req, err := creative.ParseSyncRequest(body)
	if err != nil {
		return a.render(ctx, 0, nil, err, reqCtx)
	}
	resp, err := a.svc.Sync(ctx, p, req, logging.CorrelationID(ctx))
	status := http.StatusOK
	if resp.Status == "submitted" {
		status = http.StatusAccepted
	}
	return a.render(ctx, status, resp, err, reqCtx)
}

func (a *API) listCreatives(ctx context.Context, p creative.Principal, body []byte) outcome {
	resp, err := a.svc.List(ctx, p, body)
	return a.render(ctx, http.StatusOK, resp, err, creative.ContextOf(body))
}

func (a *API) getTask(ctx context.Context, p creative.Principal, body []byte) outcome {
	var req struct {
		TaskID  string          `json:"task_id"`
		Context json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return a.render(ctx, 0, nil, creative.Reject(http.StatusBadRequest, creative.CodeInvalidRequest, "", "request must be a JSON object with task_id"), nil)
	}
	resp, err := a.svc.GetTask(ctx, p, req.TaskID)
	resp.Context = req.Context
	return a.render(ctx, http.StatusOK, resp, err, req.Context)
}

// formatsResponse is list_creative_formats' response.
type formatsResponse struct {
	Formats    []json.RawMessage   `json:"formats"`
	Pagination creative.Pagination `json:"pagination"`
	Status     string              `json:"status"`
	Context    json.RawMessage     `json:"context,omitempty"`
}

// formatsCursor is the opaque list_creative_formats cursor: the id of the
// last format returned. The catalog order is fixed, so the next page starts
// right after it.
type formatsCursor struct {
	After string `json:"after"`
}

// listFormats answers list_creative_formats. It is public; an account (which
// needs credentials, p) narrows the catalog to the one that account sees.
func (a *API) listFormats(ctx context.Context, p creative.Principal, body []byte) outcome {
	var req struct {
		FormatIDs  []creative.FormatID `json:"format_ids"`
		AssetTypes []string            `json:"asset_types"`
		Account    json.RawMessage     `json:"account"`
		Pagination *struct {
			MaxResults *int   `json:"max_results"`
			Cursor     string `json:"cursor"`
		} `json:"pagination"`
		Context json.RawMessage `json:"context"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return a.render(ctx, 0, nil, creative.Reject(http.StatusBadRequest, creative.CodeValidation, "", "list_creative_formats request has a field of the wrong type"), creative.ContextOf(body))
		}
	}
	catalog := a.svc.Registry()
	if len(req.Account) > 0 && string(req.Account) != "null" {
		if p.ID == "" {
			return a.render(ctx, 0, nil, creative.Reject(http.StatusUnauthorized, creative.CodeAuthRequired, "account",
				"listing an account's formats needs credentials; omit account for the public catalog"), req.Context)
		}
		acct, err := a.svc.AccountFromRef(ctx, p, req.Account)
		if err != nil {
			return a.render(ctx, 0, nil, err, req.Context)
		}
		if catalog, err = a.svc.Catalog(ctx, acct); err != nil {
			return a.render(ctx, 0, nil, err, req.Context)
		}
	}
	limit, after := 50, ""
	if pg := req.Pagination; pg != nil {
		if pg.MaxResults != nil {
			if *pg.MaxResults < 1 || *pg.MaxResults > 100 {
				return a.render(ctx, 0, nil, creative.Reject(http.StatusBadRequest, creative.CodeValidation, "pagination.max_results", "max_results must be between 1 and 100"), req.Context)
			}
			limit = *pg.MaxResults
		}
		if pg.Cursor != "" {
			var c formatsCursor
			b, err := base64.RawURLEncoding.DecodeString(pg.Cursor)
			if err != nil || json.Unmarshal(b, &c) != nil || c.After == "" {
				return a.render(ctx, 0, nil, creative.Reject(http.StatusBadRequest, creative.CodeInvalidRequest, "pagination.cursor", "cursor is not one this seller issued"), req.Context)
			}
			after = c.After
		}
	}
	want := map[string]bool{}
	for _, f := range req.FormatIDs {
		want[f.ID] = true
	}
	var matched []creative.Format
	for _, f := range catalog.All() {
		if len(want) > 0 && !want[f.ID] {
			continue
		}
		if len(req.AssetTypes) > 0 && !f.HasAssetType(req.AssetTypes) {
			continue
		}
		matched = append(matched, f)
	}
	start := 0
	if after != "" {
		i := slices.IndexFunc(matched, func(f creative.Format) bool { return f.ID == after })
		if i < 0 {
			return a.render(ctx, 0, nil, creative.Reject(http.StatusBadRequest, creative.CodeInvalidRequest, "pagination.cursor",
				"the cursor's format is no longer listed; start again without a cursor"), req.Context)
		}
		start = i + 1
	}
	end := min(start+limit, len(matched))
	resp := formatsResponse{Status: "completed", Context: req.Context, Formats: []json.RawMessage{},
		Pagination: creative.Pagination{HasMore: end < len(matched), TotalCount: len(matched)}}
	for _, f := range matched[start:end] {
		resp.Formats = append(resp.Formats, f.Definition)
	}
	if resp.Pagination.HasMore {
		b, _ := json.Marshal(formatsCursor{After: matched[end-1].ID})
		resp.Pagination.Cursor = base64.RawURLEncoding.EncodeToString(b)
	}
	return outcome{status: http.StatusOK, body: resp}
}

// capabilities is get_adcp_capabilities' response.
func (a *API) capabilities(reqContext json.RawMessage) map[string]any {
	c := map[string]any{
		"status": "completed",
		"adcp": map[string]any{
			"major_versions": creative.SupportedMajorVersions,
			"idempotency": map[string]any{
				"supported":          true,
				"replay_ttl_seconds": int(a.svc.IdempotencyTTL() / time.Second),
			},
		},
		"supported_protocols": []string{"media_buy", "creative"},
		"media_buy": map[string]any{
			"features": map[string]any{"inline_creative_management": true},
		},
		"creative": map[string]any{
			"has_creative_library": true,
		},
		"compliance_testing": complianceTesting(),
		"last_updated":       time.Now().UTC().Format(time.RFC3339),
	}
	if len(reqContext) > 0 {
		c["context"] = reqContext
	}
	return c
}
