package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"example.com/creativesync/services/ingest/internal/creative"
)

// salesAgentResult is one item of the sales-agent response shape.
type salesAgentResult struct {
	CreativeID string           `json:"creative_id"`
	Action     string           `json:"action"`
	Status     string           `json:"status"`
	PlatformID string           `json:"platform_id,omitempty"`
	AssignedTo []string         `json:"assigned_to,omitempty"`
	Errors     []creative.Error `json:"errors"`
}

type salesAgentResponse struct {
	Created int                `json:"created"`
	Updated int                `json:"updated"`
	Deleted int                `json:"deleted"`
	DryRun  bool               `json:"dry_run,omitempty"`
	Results []salesAgentResult `json:"results"`
}

// handleMediaBuyCreatives is the sales-agent REST shape
// (POST /api/v1/media-buys/{id}/creatives): an AdCP sync scoped to the media
// buy's account that also assigns every synced creative to the buy's
// packages. idempotency_key is optional here because that API predates it;
// without one the request simply is not replay-protected.
func (a *API) handleMediaBuyCreatives(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	p, _ := principalFrom(r.Context())
	mbID := r.PathValue("media_buy_id")
	accountID, pkgs, err := a.cfg.Admin.MediaBuyPackages(r.Context(), p.ID, mbID)
	if errors.Is(err, creative.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, errorBody{Errors: []creative.Error{{Code: "MEDIA_BUY_NOT_FOUND", Field: "media_buy_id", Message: "no such media buy", Recovery: "correctable"}}})
		return
	}
	if err != nil {
		a.write(w, a.render(r.Context(), 0, nil, err, nil))
		return
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		a.write(w, a.render(r.Context(), 0, nil, creative.Reject(http.StatusBadRequest, creative.CodeInvalidRequest, "", "request body must be a JSON object"), nil))
		return
	}
	raw["account"], _ = json.Marshal(map[string]string{"account_id": accountID})
	if _, ok := raw["idempotency_key"]; !ok {
		var b [16]byte
		_, _ = rand.Read(b[:])
		raw["idempotency_key"], _ = json.Marshal("mb_" + hex.EncodeToString(b[:]))
	}
	if _, ok := raw["assignments"]; !ok {
		var creatives []struct {
			CreativeID string `json:"creative_id"`
		}
		_ = json.Unmarshal(raw["creatives"], &creatives)
		var as []map[string]string
		for _, c := range creatives {
			for _, pkg := range pkgs {
				as = append(as, map[string]string{"creative_id": c.CreativeID, "package_id": pkg})
			}
		}
		if len(as) > 0 {
			raw["assignments"], _ = json.Marshal(as)
		}
	}
	delete(raw, "push_notification_config") // this shape has no async answer
	adcpBody, _ := json.Marshal(raw)
	o := a.syncCreatives(r.Context(), p, adcpBody)
	if o.failed {
		a.write(w, o)
		return
	}
	resp := o.body.(creative.SyncResponse)
	out := salesAgentResponse{DryRun: resp.DryRun, Results: []salesAgentResult{}}
	if resp.Creatives != nil {
		for _, c := range *resp.Creatives {
			res := salesAgentResult{CreativeID: c.CreativeID, Action: c.Action, Status: c.Status, PlatformID: c.PlatformID,
				AssignedTo: c.AssignedTo, Errors: c.Errors}
			if res.Errors == nil {
				res.Errors = []creative.Error{}
			}
			for pkg, msg := range c.AssignmentErrors {
				res.Errors = append(res.Errors, creative.Error{Code: creative.CodePackageNotFound, Field: "package_id", Message: pkg + ": " + msg})
			}
			switch c.Action {
			case creative.ActionCreated:
				out.Created++
			case creative.ActionUpdated:
				out.Updated++
			case creative.ActionDeleted:
				out.Deleted++
				res.Status = creative.StatusArchived
			case creative.ActionFailed:
				res.Status = "failed"
			}
			out.Results = append(out.Results, res)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
