package httpapi

import (
	"net/http"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/adcp"
)

// handleCreateJob is POST /api/external/creative_sync: 202 with the
// seed's {job_id, status, message}; the same Idempotency-Key and body
// answer the same job.
func (a *API) handleCreateJob(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	cmd, err := adcp.DecodeJob(body, r.Header.Get("Idempotency-Key"), a.cfg.Jobs)
	if err != nil {
		a.write(w, r, a.fail(r.Context(), err, nil))
		return
	}
	job, err := a.svc.CreateJob(r.Context(), mustPrincipal(r), cmd, logging.CorrelationID(r.Context()))
	if err != nil {
		a.write(w, r, a.fail(r.Context(), err, nil))
		return
	}
	a.writeJSON(w, r, http.StatusAccepted, adcp.JobAccepted{JobID: job.JobID, Status: job.Status, Message: job.Message})
}

// handleGetJob is GET /api/external/creative_sync/{job_id}: status,
// counts and per-file results.
func (a *API) handleGetJob(w http.ResponseWriter, r *http.Request) {
	job, err := a.svc.GetJob(r.Context(), mustPrincipal(r), r.PathValue("job_id"))
	if err != nil {
		a.write(w, r, a.fail(r.Context(), err, nil))
		return
	}
	a.writeJSON(w, r, http.StatusOK, job)
}
