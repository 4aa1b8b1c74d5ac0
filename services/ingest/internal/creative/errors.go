package creative

import (
	"errors"
	"strings"
)

// AdCP error codes ingest returns. The 3.0 docs' task-specific names
// (INVALID_FORMAT, FORMAT_MISMATCH, CREATIVE_IN_ACTIVE_DELIVERY) are not in
// the 3.0 error enum; we send the canonical enum codes they map to.
const (
	CodeInvalidRequest      = "INVALID_REQUEST"
	CodeValidation          = "VALIDATION_ERROR"
	CodeAuthRequired        = "AUTH_REQUIRED"
	CodeAccountNotFound     = "ACCOUNT_NOT_FOUND"
	CodeAccountSuspended    = "ACCOUNT_SUSPENDED"
	CodeUnsupportedFeature  = "UNSUPPORTED_FEATURE"
	CodePackageNotFound     = "PACKAGE_NOT_FOUND"
	CodeInvalidState        = "INVALID_STATE"
	CodeIdempotencyConflict = "IDEMPOTENCY_CONFLICT"
	CodeIdempotencyExpired  = "IDEMPOTENCY_EXPIRED"
	CodeVersionUnsupported  = "VERSION_UNSUPPORTED"
	CodeReferenceNotFound   = "REFERENCE_NOT_FOUND"
	CodeCreativeNotFound    = "CREATIVE_NOT_FOUND"
	CodeServiceUnavailable  = "SERVICE_UNAVAILABLE"
	CodeRateLimited         = "RATE_LIMITED"
)

// recoveryOf gives each code the recovery class the 3.0 enum describes.
func recoveryOf(code string) string {
	switch code {
	case CodeServiceUnavailable, CodeRateLimited:
		return "transient"
	case CodeAccountNotFound, CodeIdempotencyExpired:
		return "terminal"
	default:
		return "correctable"
	}
}

// RequestError rejects a whole request: nothing was applied. It renders as
// the error branch of a task response ({"errors": [...]}).
type RequestError struct {
	Errors []Error
	// Status is the HTTP status the REST edge should use.
	Status int
}

func (e *RequestError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, er := range e.Errors {
		msgs[i] = er.Code + ": " + er.Message
	}
	return strings.Join(msgs, "; ")
}

// Reject builds a RequestError with one error.
func Reject(status int, code, field, msg string) *RequestError {
	return &RequestError{Status: status, Errors: []Error{{Code: code, Field: field, Message: msg, Recovery: recoveryOf(code)}}}
}

// rejectAll builds a RequestError from several errors.
func rejectAll(status int, errs []Error) *RequestError {
	for i := range errs {
		if errs[i].Recovery == "" {
			errs[i].Recovery = recoveryOf(errs[i].Code)
		}
	}
	return &RequestError{Status: status, Errors: errs}
}

// AsRequestError returns the RequestError in err, or nil.
func AsRequestError(err error) *RequestError {
	var re *RequestError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

func asType[T any](err error, target *T) bool { return errors.As(err, target) }

// ErrNotFound is returned by stores for a missing row; the domain turns it
// into the right AdCP code for the thing looked up.
var ErrNotFound = errors.New("not found")

// ErrLimit is returned by stores when a bounded collection is full.
var ErrLimit = errors.New("limit reached")
