package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads a capped body. An oversized body is a precise 413.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Errors: []creative.Error{{
				Code: creative.CodeInvalidRequest, Recovery: "correctable",
				Message: fmt.Sprintf("request body exceeds %d bytes; send fewer creatives per sync", a.cfg.MaxBodyBytes)}}})
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, errorBody{Errors: []creative.Error{{Code: creative.CodeInvalidRequest, Message: "could not read the request body", Recovery: "correctable"}}})
		return nil, false
	}
	return body, true
}

func (a *API) write(w http.ResponseWriter, o outcome) {
	writeJSON(w, o.status, o.body)
}

func (a *API) handleSync(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	p, _ := principalFrom(r.Context())
	a.write(w, a.syncCreatives(r.Context(), p, body))
}

// handleListPost takes the list_creatives body as JSON.
func (a *API) handleListPost(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	p, _ := principalFrom(r.Context())
	a.write(w, a.listCreatives(r.Context(), p, body))
}

// handleListGet maps query parameters onto a list_creatives request:
// account_id, creative_ids, statuses, format_ids, tags, tags_any (comma
// separated), name_contains, updated_after, created_after, sort, direction,
// max_results, cursor, include_assignments.
func (a *API) handleListGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := map[string]any{}
	filters := map[string]any{}
	list := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		}
		return out
	}
	if v := q.Get("account_id"); v != "" {
		req["account"] = map[string]string{"account_id": v}
	}
	for _, name := range []string{"creative_ids", "statuses", "tags", "tags_any"} {
		if l := list(name); len(l) > 0 {
			filters[name] = l
		}
	}
	if l := list("format_ids"); len(l) > 0 {
		var fids []map[string]string
		for _, id := range l {
			fids = append(fids, map[string]string{"agent_url": "", "id": id})
		}
		filters["format_ids"] = fids
	}
	for _, name := range []string{"name_contains", "updated_after", "updated_before", "created_after", "created_before"} {
		if v := q.Get(name); v != "" {
			filters[name] = v
		}
	}
	if len(filters) > 0 {
		req["filters"] = filters
	}
	if v := q.Get("sort"); v != "" {
		req["sort"] = map[string]string{"field": v, "direction": q.Get("direction")}
	}
	if !paginationFromQuery(w, q, req) {
		return
	}
	if v := q.Get("include_assignments"); v != "" {
		req["include_assignments"] = v == "true"
	}
	body, _ := json.Marshal(req)
	p, _ := principalFrom(r.Context())
	a.write(w, a.listCreatives(r.Context(), p, body))
}

func (a *API) handleGetCreative(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	req := map[string]any{"filters": map[string]any{"creative_ids": []string{r.PathValue("creative_id")},
		"statuses": []string{"processing", "pending_review", "approved", "rejected", "archived"}}}
	if v := r.URL.Query().Get("account_id"); v != "" {
		req["account"] = map[string]string{"account_id": v}
	}
	body, _ := json.Marshal(req)
	o := a.listCreatives(r.Context(), p, body)
	if o.failed {
		a.write(w, o)
		return
	}
	resp := o.body.(creative.ListResponse)
	switch len(resp.Creatives) {
	case 0:
		writeJSON(w, http.StatusNotFound, errorBody{Errors: []creative.Error{{Code: creative.CodeCreativeNotFound, Message: "no such creative", Recovery: "correctable"}}})
	case 1:
		writeJSON(w, http.StatusOK, resp.Creatives[0])
	default:
		writeJSON(w, http.StatusConflict, errorBody{Errors: []creative.Error{{Code: creative.CodeInvalidRequest, Field: "account_id",
			Message: "this creative_id exists in several of your accounts; pass account_id", Recovery: "correctable"}}})
	}
}

func (a *API) handleGetTask(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	body, _ := json.Marshal(map[string]string{"task_id": r.PathValue("task_id")})
	a.write(w, a.getTask(r.Context(), p, body))
}

// handleFormats is the public catalog: format_ids (comma separated),
// max_results and cursor map onto list_creative_formats.
func (a *API) handleFormats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := map[string]any{}
	if ids := q.Get("format_ids"); ids != "" {
		var fids []map[string]string
		for _, id := range strings.Split(ids, ",") {
			fids = append(fids, map[string]string{"id": strings.TrimSpace(id)})
		}
		req["format_ids"] = fids
	}
	if !paginationFromQuery(w, q, req) {
		return
	}
	body, _ := json.Marshal(req)
	a.write(w, a.listFormats(r.Context(), creative.Principal{}, body))
}

func (a *API) handleCapabilities(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.capabilities(nil))
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{Errors: []creative.Error{{Code: creative.CodeInvalidRequest, Message: "no such endpoint: " + r.Method + " " + r.URL.Path, Recovery: "correctable"}}})
}

// paginationFromQuery copies max_results and cursor into an AdCP request's
// pagination object; a non-integer max_results is answered with a 400.
func paginationFromQuery(w http.ResponseWriter, q url.Values, req map[string]any) bool {
	pg := map[string]any{}
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Errors: []creative.Error{{Code: creative.CodeValidation, Field: "max_results", Message: "max_results must be an integer", Recovery: "correctable"}}})
			return false
		}
		pg["max_results"] = n
	}
	if v := q.Get("cursor"); v != "" {
		pg["cursor"] = v
	}
	if len(pg) > 0 {
		req["pagination"] = pg
	}
	return true
}
