package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/adcp"
	"example.com/creativesync/services/ingest/internal/creative"
)

func (a *API) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The client has gone or the connection broke; the status is sent.
		a.log.DebugContext(r.Context(), "writing response", "err", err)
	}
}

func (a *API) write(w http.ResponseWriter, r *http.Request, o adcp.Outcome) {
	a.writeJSON(w, r, o.Status, o.Body)
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, status int, e adcp.Error) {
	e.Recovery = creative.RecoveryOf(e.Code)
	a.writeJSON(w, r, status, adcp.ErrorBody{Errors: []adcp.Error{e}})
}

// readBody reads a capped body. An oversized body is a precise 413.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.writeError(w, r, http.StatusRequestEntityTooLarge, adcp.Error{Code: creative.CodeInvalidRequest,
				Message: fmt.Sprintf("request body exceeds %d bytes; send fewer creatives per sync", a.cfg.MaxBodyBytes)})
			return nil, false
		}
		a.writeError(w, r, http.StatusBadRequest, adcp.Error{Code: creative.CodeInvalidRequest, Message: "could not read the request body"})
		return nil, false
	}
	return body, true
}

func (a *API) handleSync(w http.ResponseWriter, r *http.Request) {
	if body, ok := a.readBody(w, r); ok {
		a.write(w, r, a.syncCreatives(r.Context(), mustPrincipal(r), body))
	}
}

// handleListPost takes the list_creatives body as JSON.
func (a *API) handleListPost(w http.ResponseWriter, r *http.Request) {
	if body, ok := a.readBody(w, r); ok {
		a.write(w, r, a.listCreatives(r.Context(), mustPrincipal(r), body))
	}
}

// handleListGet maps query parameters onto list_creatives.
func (a *API) handleListGet(w http.ResponseWriter, r *http.Request) {
	q, err := adcp.ListFromQuery(r.URL.Query())
	if err != nil {
		a.write(w, r, a.fail(r.Context(), err, nil))
		return
	}
	a.write(w, r, a.list(r.Context(), mustPrincipal(r), q))
}

func (a *API) handleGetCreative(w http.ResponseWriter, r *http.Request) {
	var ref *creative.AccountRef
	if id := r.URL.Query().Get("account_id"); id != "" {
		ref = &creative.AccountRef{AccountID: id}
	}
	c, err := a.svc.GetCreative(r.Context(), mustPrincipal(r), r.PathValue("creative_id"), ref)
	if err != nil {
		a.write(w, r, a.fail(r.Context(), err, nil))
		return
	}
	a.writeJSON(w, r, http.StatusOK, c)
}

func (a *API) handleGetTask(w http.ResponseWriter, r *http.Request) {
	a.write(w, r, a.task(r.Context(), mustPrincipal(r), adcp.GetTask{TaskID: r.PathValue("task_id")}))
}

// handleFormats is the public catalog.
func (a *API) handleFormats(w http.ResponseWriter, r *http.Request) {
	q, err := adcp.FormatsFromQuery(r.URL.Query())
	if err != nil {
		a.write(w, r, a.fail(r.Context(), err, nil))
		return
	}
	a.write(w, r, a.formats(r.Context(), nil, q))
}

func (a *API) handleCapabilities(w http.ResponseWriter, r *http.Request) {
	a.write(w, r, a.capabilities(nil))
}

// handleMediaBuyCreatives is the sales-agent REST shape
// (POST /api/v1/media-buys/{id}/creatives).
func (a *API) handleMediaBuyCreatives(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	cmd, err := adcp.DecodeSalesAgentSync(r.PathValue("media_buy_id"), body)
	if err != nil {
		a.write(w, r, a.logged(r.Context(), err)(adcp.SalesAgentFailure(err)))
		return
	}
	resp, err := a.svc.SyncMediaBuy(r.Context(), mustPrincipal(r), cmd, logging.CorrelationID(r.Context()))
	if err != nil {
		a.write(w, r, a.logged(r.Context(), err)(adcp.SalesAgentFailure(err)))
		return
	}
	a.writeJSON(w, r, http.StatusOK, adcp.SalesAgent(resp))
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	a.writeError(w, r, http.StatusNotFound, adcp.Error{Code: creative.CodeInvalidRequest, Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
}
