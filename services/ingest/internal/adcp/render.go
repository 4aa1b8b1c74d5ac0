package adcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"example.com/creativesync/services/ingest/internal/creative"
)

// Outcome is a task's rendered answer: the HTTP status, the AdCP body, and
// whether it is the error branch (an isError result over MCP).
type Outcome struct {
	Status int
	Body   any
	Failed bool
	// Summary is the one-line text MCP clients that do not read
	// structuredContent see.
	Summary string
}

// ErrorBody is the AdCP error branch: errors plus the echoed context.
type ErrorBody struct {
	// Status is "failed" in AdCP 2 answers (its operation-level failure);
	// AdCP 3's error branch has none.
	Status  string          `json:"status,omitempty"`
	Errors  []Error         `json:"errors"`
	Context json.RawMessage `json:"context,omitempty"`
}

// statusOf is the one mapping from AdCP error codes to HTTP statuses. A
// code not listed is a content problem the buyer can fix (422).
var statusOf = map[string]int{
	creative.CodeInvalidRequest:      http.StatusBadRequest,
	creative.CodeVersionUnsupported:  http.StatusBadRequest,
	creative.CodeAuthRequired:        http.StatusUnauthorized,
	creative.CodeAccountSuspended:    http.StatusForbidden,
	creative.CodeAccountNotFound:     http.StatusNotFound,
	creative.CodeReferenceNotFound:   http.StatusNotFound,
	creative.CodeCreativeNotFound:    http.StatusNotFound,
	creative.CodeMediaBuyNotFound:    http.StatusNotFound,
	creative.CodeIdempotencyConflict: http.StatusConflict,
	creative.CodeIdempotencyExpired:  http.StatusConflict,
	creative.CodeInvalidState:        http.StatusConflict,
	creative.CodeAccountAmbiguous:    http.StatusBadRequest,
	codeV2InActiveDelivery:           http.StatusConflict,
	creative.CodeRateLimited:         http.StatusTooManyRequests,
	creative.CodeServiceUnavailable:  http.StatusServiceUnavailable,
}

// salesAgentStatusOf is where the sales-agent route's statuses differ:
// its documentation answers every validation problem with 400.
var salesAgentStatusOf = map[string]int{
	creative.CodeValidation: http.StatusBadRequest,
}

// StatusOf returns the HTTP status an error code answers with.
func StatusOf(code string) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusUnprocessableEntity
}

// Failure renders err as the AdCP error branch. A RequestError (the body
// could not be decoded) is always 400; a domain Rejection takes the status
// of its first code; anything else is our failure, logged by the caller
// and reported as SERVICE_UNAVAILABLE without internals. ok reports
// whether err was the buyer's (false means: log it).
func Failure(err error, reqContext json.RawMessage) (o Outcome, ours bool) {
	var de *RequestError
	if errors.As(err, &de) {
		return Outcome{Status: http.StatusBadRequest, Failed: true, Body: ErrorBody{Errors: de.Errors, Context: reqContext}}, false
	}
	if re := creative.AsRejection(err); re != nil {
		return Outcome{Status: StatusOf(re.Code()), Failed: true, Body: ErrorBody{Errors: re.Errors, Context: reqContext}}, false
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this answer.
		return Outcome{Status: 499, Failed: true, Body: ErrorBody{Context: reqContext, Errors: []Error{{
			Code: creative.CodeServiceUnavailable, Message: "request canceled", Recovery: "transient"}}}}, false
	}
	return Outcome{Status: http.StatusServiceUnavailable, Failed: true, Body: ErrorBody{Context: reqContext, Errors: []Error{{
		Code: creative.CodeServiceUnavailable, Message: "the seller could not complete the request; retry shortly",
		Recovery: "transient", RetryAfter: 5}}}}, true
}

// SyncFailure renders a failed sync_creatives in the dialect of AdCP
// major version major: AdCP 2 gets its own codes and status "failed".
func SyncFailure(major int, err error, reqContext json.RawMessage) (Outcome, bool) {
	o, ours := Failure(err, reqContext)
	if major != 2 {
		return o, ours
	}
	eb, _ := o.Body.(ErrorBody) // Failure always renders an ErrorBody
	eb.Status, eb.Errors = "failed", v2Errors(eb.Errors)
	o.Body = eb
	if creative.AsRejection(err) != nil && len(eb.Errors) > 0 {
		o.Status = StatusOf(eb.Errors[0].Code)
	}
	return o, ours
}

// SalesAgentFailure renders a failed request on the sales-agent route:
// AdCP's error shape with that API's codes and statuses (400 for
// validation, 404 for a format unknown at its agent or an untrusted agent,
// and for a media buy that is not the caller's).
func SalesAgentFailure(err error) (Outcome, bool) {
	o, ours := Failure(err, nil)
	eb, _ := o.Body.(ErrorBody) // Failure always renders an ErrorBody
	eb.Errors = salesAgentErrors(eb.Errors)
	o.Body = eb
	if creative.AsRejection(err) != nil && len(eb.Errors) > 0 {
		code := eb.Errors[0].Code
		if st, ok := salesAgentStatusOf[code]; ok {
			o.Status = st
		} else {
			o.Status = StatusOf(code)
		}
	}
	return o, ours
}

// Success renders a task's success branch.
func Success(status int, taskStatus string, body any) Outcome {
	return Outcome{Status: status, Body: body, Summary: "status: " + taskStatus}
}

// SyncOutcome renders the response to cmd in the dialect of its AdCP major
// version: 202 when submitted.
func SyncOutcome(cmd creative.SyncCommand, r creative.SyncResponse) Outcome {
	st := http.StatusOK
	if r.Status == "submitted" {
		st = http.StatusAccepted
	}
	if cmd.MajorVersion == 2 {
		return Success(st, r.Status, v2Sync(cmd, v2Response(r, false)))
	}
	return Success(st, r.Status, r)
}

// MCPError is the structuredContent of a failed MCP tool call: the error
// branch plus adcp_error, which AdCP MCP clients read first.
type MCPError struct {
	Errors    []Error         `json:"errors"`
	Status    string          `json:"status"`
	AdcpError *Error          `json:"adcp_error,omitempty"`
	Context   json.RawMessage `json:"context,omitempty"`
}

// MCPErrorOf converts a failed outcome's body for MCP.
func MCPErrorOf(o Outcome) MCPError {
	eb, _ := o.Body.(ErrorBody) // failed outcomes always carry an ErrorBody
	m := MCPError{Errors: eb.Errors, Status: "failed", Context: eb.Context}
	if len(eb.Errors) > 0 {
		m.AdcpError = &eb.Errors[0]
	}
	return m
}
