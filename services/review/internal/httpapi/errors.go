package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/services/review/internal/review"
	"example.com/creativesync/services/review/internal/staff"
)

// Codes only the HTTP edge produces.
const (
	codeUnauthorized = "UNAUTHORIZED"
	codeInternal     = "INTERNAL_ERROR"
)

// statusOf is the one place where error codes become HTTP statuses.
func statusOf(code string) int {
	switch code {
	case review.CodeInvalidRequest:
		return http.StatusBadRequest
	case codeUnauthorized:
		return http.StatusUnauthorized
	case staff.CodeForbidden:
		return http.StatusForbidden
	case review.CodeNotFound, staff.CodeNotFound:
		return http.StatusNotFound
	case review.CodeAlreadyDecided, review.CodeSuperseded, review.CodeClaimed, staff.CodeExists:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// publicError returns what a caller may see of err. Errors without a code
// are internal: they are logged in full and shown as a bare code, because
// their text can carry SQL or connection details.
func publicError(r *http.Request, logger *slog.Logger, err error) (int, errorJSON) {
	e := apperr.As(err)
	if e == nil || statusOf(e.Code) == http.StatusInternalServerError {
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		return http.StatusInternalServerError, errorJSON{Code: codeInternal, Message: "internal error; see the service log"}
	}
	return statusOf(e.Code), errorJSON{Code: e.Code, Message: e.Message, Field: e.Field}
}

func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	status, body := publicError(r, logger, err)
	writeJSON(w, status, errorBody{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
