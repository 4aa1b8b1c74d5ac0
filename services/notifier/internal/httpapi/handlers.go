package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/services/notifier/internal/notify"
)

type handlers struct {
	d   Deps
	now func() time.Time
}

func (h *handlers) jwks(w http.ResponseWriter, r *http.Request) {
	// Verifiers cache the set; a short max-age keeps a key rotation visible
	// within minutes.
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, h.d.JWKS)
}

// admin requires Authorization: Bearer <ADMIN_TOKEN>. Hashing both sides
// first makes the comparison constant-time regardless of length.
func (h *handlers) admin(next http.HandlerFunc) http.Handler {
	want := sha256.Sum256([]byte(h.d.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="notifier"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "a valid admin bearer token is required")
			return
		}
		next(w, r)
	})
}

const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

func (h *handlers) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := notify.Filter{Status: notify.Status(q.Get("status")), AccountID: q.Get("account_id"), Limit: defaultListLimit}
	if f.Status != "" && !f.Status.Valid() {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "status must be pending, delivered, failed or dead")
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "limit must be between 1 and 1000")
			return
		}
		f.Limit = n
	}
	ds, err := h.d.Deliveries.List(r.Context(), f)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	out := make([]deliveryView, len(ds))
	for i, d := range ds {
		out[i] = toView(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
}

func (h *handlers) getDelivery(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	d, attempts, err := h.d.Deliveries.Get(r.Context(), id)
	if err != nil {
		h.domainError(w, r, err)
		return
	}
	detail := detailView{deliveryView: toView(d), Payload: d.PayloadJSON(), AttemptLog: make([]attemptView, len(attempts))}
	for i, a := range attempts {
		detail.AttemptLog[i] = toAttemptView(a)
	}
	writeJSON(w, http.StatusOK, detail)
}

func (h *handlers) retryDelivery(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	d, err := h.d.Deliveries.Requeue(r.Context(), id, h.now())
	if err != nil {
		h.domainError(w, r, err)
		return
	}
	h.d.Logger.InfoContext(r.Context(), "delivery re-queued by operator", "delivery_id", id, "idempotency_key", d.IdempotencyKey)
	h.d.Wake()
	writeJSON(w, http.StatusAccepted, toView(d))
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "delivery id must be a positive integer")
		return 0, false
	}
	return id, true
}

func (h *handlers) domainError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, notify.ErrNotFound):
		writeError(w, http.StatusNotFound, "NOT_FOUND", "delivery not found")
	case errors.Is(err, notify.ErrNotRetryable):
		writeError(w, http.StatusConflict, "INVALID_STATE", err.Error())
	default:
		h.internal(w, r, err)
	}
}

// internal logs the cause and tells the caller nothing about it.
func (h *handlers) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.d.Logger.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error")
}

// deliveryView is the operator's view of a delivery. Credentials and the
// buyer's token are never shown.
type deliveryView struct {
	ID             int64      `json:"id"`
	IdempotencyKey string     `json:"idempotency_key"`
	EventID        string     `json:"event_id"`
	CorrelationID  string     `json:"correlation_id,omitempty"`
	AccountID      string     `json:"account_id"`
	TaskID         string     `json:"task_id,omitempty"`
	Kind           string     `json:"kind"`
	URL            string     `json:"url"`
	Signing        string     `json:"signing"` // rfc9421 | HMAC-SHA256 | Bearer
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
}

type detailView struct {
	deliveryView
	Payload    json.RawMessage `json:"payload"`
	AttemptLog []attemptView   `json:"attempt_log"`
}

type attemptView struct {
	Attempt    int       `json:"attempt"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	Outcome    string    `json:"outcome"`
}

func toView(d notify.Delivery) deliveryView {
	v := deliveryView{
		ID: d.ID, IdempotencyKey: d.IdempotencyKey, EventID: d.EventID, CorrelationID: d.CorrelationID,
		AccountID: d.AccountID, TaskID: d.TaskID, Kind: d.Kind, URL: d.URL, Signing: d.AuthScheme,
		Status: string(d.Status), Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastError: d.LastError,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if v.Signing == notify.SchemeRFC9421 {
		v.Signing = "rfc9421"
	}
	if d.Status == notify.StatusPending {
		t := d.NextAttemptAt.UTC()
		v.NextAttemptAt = &t
	}
	if d.FinishedAt != nil {
		t := d.FinishedAt.UTC()
		v.FinishedAt = &t
	}
	return v
}

func toAttemptView(a notify.Attempt) attemptView {
	return attemptView{Attempt: a.Number, StartedAt: a.StartedAt.UTC(), DurationMS: float64(a.Duration) / float64(time.Millisecond),
		StatusCode: a.StatusCode, Error: a.Error, Outcome: string(a.Outcome)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
