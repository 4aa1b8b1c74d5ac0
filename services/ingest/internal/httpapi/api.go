// Package httpapi is ingest's HTTP edge: REST under /api/v1 and MCP at
// /mcp. Both decode with internal/adcp, call the domain, and render the
// domain's results and coded errors through adcp's one mapping.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/adcp"
	"example.com/creativesync/services/ingest/internal/creative"
)

// Config is what the edge needs besides the domain service.
type Config struct {
	// MaxBodyBytes caps every request body.
	MaxBodyBytes int64
	// Version is reported by MCP's initialize.
	Version string
	// Jobs are the creative_sync intake rules.
	Jobs adcp.JobRules
	// Assets serves GET /assets/{key} (nil: not mounted).
	Assets http.Handler
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

// fail renders err, logging it when it is ours rather than the buyer's.
func (a *API) fail(ctx context.Context, err error, reqContext json.RawMessage) adcp.Outcome {
	o, ours := adcp.Failure(err, reqContext)
	if ours {
		a.log.ErrorContext(ctx, "request failed", "err", err)
	}
	return o
}

// logged passes on a rendered failure, logging err when it is ours.
func (a *API) logged(ctx context.Context, err error) func(adcp.Outcome, bool) adcp.Outcome {
	return func(o adcp.Outcome, ours bool) adcp.Outcome {
		if ours {
			a.log.ErrorContext(ctx, "request failed", "err", err)
		}
		return o
	}
}

// The task functions below are shared by REST and MCP: each takes the raw
// AdCP request body and returns the rendered outcome.

func (a *API) syncCreatives(ctx context.Context, p creative.Principal, body []byte) adcp.Outcome {
	cmd, err := adcp.DecodeSync(body)
	if err != nil {
		return a.logged(ctx, err)(adcp.SyncFailure(cmd.MajorVersion, err, adcp.ContextOf(body)))
	}
	resp, err := a.svc.Sync(ctx, p, cmd, logging.CorrelationID(ctx))
	if err != nil {
		return a.logged(ctx, err)(adcp.SyncFailure(cmd.MajorVersion, err, cmd.Context))
	}
	return adcp.SyncOutcome(cmd, resp)
}

func (a *API) listCreatives(ctx context.Context, p creative.Principal, body []byte) adcp.Outcome {
	q, err := adcp.DecodeList(body)
	if err != nil {
		return a.fail(ctx, err, adcp.ContextOf(body))
	}
	return a.list(ctx, p, q)
}

func (a *API) list(ctx context.Context, p creative.Principal, q creative.ListQuery) adcp.Outcome {
	resp, err := a.svc.List(ctx, p, q)
	if err != nil {
		return a.fail(ctx, err, q.Context)
	}
	return adcp.Success(http.StatusOK, resp.Status, resp)
}

func (a *API) getTask(ctx context.Context, p creative.Principal, body []byte) adcp.Outcome {
	req, err := adcp.DecodeGetTask(body)
	if err != nil {
		return a.fail(ctx, err, adcp.ContextOf(body))
	}
	return a.task(ctx, p, req)
}

func (a *API) task(ctx context.Context, p creative.Principal, req adcp.GetTask) adcp.Outcome {
	resp, err := a.svc.GetTask(ctx, p, req.TaskID)
	if err != nil {
		return a.fail(ctx, err, req.Context)
	}
	resp.Context = req.Context
	return adcp.Success(http.StatusOK, resp.Status, resp)
}

// listFormats answers list_creative_formats; p is nil for a caller without
// credentials (the public catalog).
func (a *API) listFormats(ctx context.Context, p *creative.Principal, body []byte) adcp.Outcome {
	q, err := adcp.DecodeFormats(body)
	if err != nil {
		return a.fail(ctx, err, adcp.ContextOf(body))
	}
	return a.formats(ctx, p, q)
}

func (a *API) formats(ctx context.Context, p *creative.Principal, q creative.FormatsQuery) adcp.Outcome {
	resp, err := a.svc.ListFormats(ctx, p, q)
	if err != nil {
		return a.fail(ctx, err, q.Context)
	}
	return adcp.Success(http.StatusOK, resp.Status, resp)
}

func (a *API) capabilities(body []byte) adcp.Outcome {
	c := adcp.CapabilitiesOf(a.svc.IdempotencyTTL(), adcp.ContextOf(body))
	return adcp.Success(http.StatusOK, c.Status, c)
}
