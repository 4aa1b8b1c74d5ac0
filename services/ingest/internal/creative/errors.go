package creative

import (
	"errors"
	"strings"
)

// AdCP error codes ingest returns. The 3.0 docs' task-specific names
// (INVALID_FORMAT, FORMAT_MISMATCH, CREATIVE_IN_ACTIVE_DELIVERY) are not in
// the 3.0 error enum; we send the canonical enum codes they map to. Which
// HTTP status or MCP result a code becomes is decided at the edge
// (internal/adcp), never here.
const (
	CodeInvalidRequest      = "INVALID_REQUEST"
	CodeValidation          = "VALIDATION_ERROR"
	CodeAuthRequired        = "AUTH_REQUIRED"
	CodeAccountNotFound     = "ACCOUNT_NOT_FOUND"
	CodeAccountAmbiguous    = "ACCOUNT_AMBIGUOUS"
	CodeCreativeRejected    = "CREATIVE_REJECTED"
	CodeAccountSuspended    = "ACCOUNT_SUSPENDED"
	CodeUnsupportedFeature  = "UNSUPPORTED_FEATURE"
	CodePackageNotFound     = "PACKAGE_NOT_FOUND"
	CodeMediaBuyNotFound    = "MEDIA_BUY_NOT_FOUND"
	CodeInvalidState        = "INVALID_STATE"
	CodeIdempotencyConflict = "IDEMPOTENCY_CONFLICT"
	CodeIdempotencyExpired  = "IDEMPOTENCY_EXPIRED"
	CodeVersionUnsupported  = "VERSION_UNSUPPORTED"
	CodeReferenceNotFound   = "REFERENCE_NOT_FOUND"
	CodeCreativeNotFound    = "CREATIVE_NOT_FOUND"
	CodeServiceUnavailable  = "SERVICE_UNAVAILABLE"
	CodeRateLimited         = "RATE_LIMITED"
)

// RecoveryOf gives each code the recovery class the 3.0 enum describes.
func RecoveryOf(code string) string {
	switch code {
	case CodeServiceUnavailable, CodeRateLimited:
		return "transient"
	case CodeAccountNotFound, CodeIdempotencyExpired:
		return "terminal"
	default:
		return "correctable"
	}
}

// Rejection refuses a whole request: nothing was applied. It renders as the
// error branch of a task response ({"errors": [...]}).
type Rejection struct {
	Errors []Error
}

func (e *Rejection) Error() string { return Summary(e.Errors) }

// Summary is a list of AdCP errors as one line, for logs and Go errors.
func Summary(errs []Error) string {
	msgs := make([]string, len(errs))
	for i, er := range errs {
		msgs[i] = er.Code + ": " + er.Message
	}
	return strings.Join(msgs, "; ")
}

// Code is the code of the first error, which decides how the edge answers.
func (e *Rejection) Code() string {
	if len(e.Errors) == 0 {
		return CodeInvalidRequest
	}
	return e.Errors[0].Code
}

// Reject builds a Rejection with one error.
func Reject(code, field, msg string) *Rejection {
	return &Rejection{Errors: []Error{{Code: code, Field: field, Message: msg, Recovery: RecoveryOf(code)}}}
}

// RejectAll builds a Rejection from several errors, filling in recovery.
func RejectAll(errs []Error) *Rejection {
	for i := range errs {
		if errs[i].Recovery == "" {
			errs[i].Recovery = RecoveryOf(errs[i].Code)
		}
	}
	return &Rejection{Errors: errs}
}

// AsRejection returns the Rejection in err, or nil.
func AsRejection(err error) *Rejection {
	var re *Rejection
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// ErrNotFound is returned by stores for a missing row; the domain turns it
// into the right AdCP code for the thing looked up.
var ErrNotFound = errors.New("not found")

// ErrLimit is returned by stores when a bounded collection is full.
var ErrLimit = errors.New("limit reached")
