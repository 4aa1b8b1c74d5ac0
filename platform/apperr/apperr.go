// Package apperr defines errors that carry a machine-readable code. Domain
// code returns them; only the transport edge (HTTP, MCP, message handlers)
// turns a code into a status, an AdCP error object or an ack decision.
package apperr

import (
	"errors"
	"fmt"
)

// Recovery tells a caller what to do about an error, in AdCP's vocabulary.
type Recovery string

const (
	Transient   Recovery = "transient"
	Correctable Recovery = "correctable"
	Terminal    Recovery = "terminal"
)

// Error is an application error with a code. Code values are AdCP error
// codes (INVALID_REQUEST, ACCOUNT_NOT_FOUND, …) so the edge can pass them on.
type Error struct {
	Code       string
	Message    string
	Field      string
	Recovery   Recovery
	Suggestion string
	RetryAfter int
	Details    map[string]any
	Err        error // wrapped cause; never shown to callers
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a message; recovery defaults to
// correctable, which is right for almost every input problem.
func New(code, msg string) *Error {
	return &Error{Code: code, Message: msg, Recovery: Correctable}
}

// Newf is New with formatting.
func Newf(code, format string, args ...any) *Error {
	return New(code, fmt.Sprintf(format, args...))
}

// WithField sets the JSON path of the offending field.
func (e *Error) WithField(field string) *Error { e.Field = field; return e }

// WithRecovery overrides the recovery class.
func (e *Error) WithRecovery(r Recovery) *Error { e.Recovery = r; return e }

// As returns the *Error inside err, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Code returns the code of err, or INTERNAL_ERROR for errors without one.
func Code(err error) string {
	if e := As(err); e != nil {
		return e.Code
	}
	return "INTERNAL_ERROR"
}

// permanent marks an error that retrying cannot fix: a message handler that
// returns one sends the message to the poison stream instead of redelivery.
type permanent struct{ err error }

func (p permanent) Error() string { return "permanent: " + p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that message handling gives up on it at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err (or anything it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
