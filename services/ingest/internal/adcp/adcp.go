// Package adcp is ingest's wire layer: it decodes AdCP requests (3.0, the
// 2.x shapes buyers still send and the sales-agent route) into the typed
// commands of package creative, defines the response bodies, and maps the
// domain's coded errors to HTTP statuses and MCP results in one place.
// REST and MCP both go through it; neither builds JSON by hand.
package adcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

// Error is the AdCP error object (core/error.json).
type Error = creative.Error

// RequestError is a request the wire layer could not decode into a
// command: malformed JSON, a missing or mistyped field. Nothing was
// looked at or applied; the buyer must correct the request.
type RequestError struct {
	Errors []Error
}

func (e *RequestError) Error() string { return creative.Summary(e.Errors) }

// invalid builds a RequestError with one error.
func invalid(code, field, msg string) *RequestError {
	return &RequestError{Errors: []Error{{Code: code, Field: field, Message: msg, Recovery: creative.RecoveryOf(code)}}}
}

// invalidAll builds a RequestError from several errors.
func invalidAll(errs []Error) *RequestError {
	for i := range errs {
		if errs[i].Recovery == "" {
			errs[i].Recovery = creative.RecoveryOf(errs[i].Code)
		}
	}
	return &RequestError{Errors: errs}
}

// Object decodes a request body that must be a JSON object, after the
// strict checks every outside input gets (see checkJSON).
func Object(body []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, invalid(creative.CodeInvalidRequest, "", "request body is empty; send a JSON object")
	}
	if p := checkJSON(trimmed, MaxDepth); p != nil {
		return nil, invalid(creative.CodeInvalidRequest, p.field(), p.message)
	}
	if trimmed[0] != '{' {
		return nil, invalid(creative.CodeInvalidRequest, "", "request body must be a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return nil, invalid(creative.CodeInvalidRequest, "", "request body is not valid JSON: "+err.Error())
	}
	return raw, nil
}

// ContextOf extracts the context object from a request body without
// validating anything else, so even a rejected request gets it echoed.
func ContextOf(body []byte) json.RawMessage {
	var m struct {
		Context json.RawMessage `json:"context"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.Context) == 0 || m.Context[0] != '{' || len(m.Context) > creative.MaxContextBytes {
		return nil
	}
	return m.Context
}

// fields decodes the top-level fields of a request, collecting every
// problem so one answer names them all.
type fields struct {
	raw  map[string]json.RawMessage
	errs []Error
}

func (d *fields) bad(code, field, msg string) {
	d.errs = append(d.errs, Error{Code: code, Field: field, Message: msg})
}

func (d *fields) has(name string) (json.RawMessage, bool) {
	v, ok := d.raw[name]
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

func (d *fields) str(name string, dst *string, required bool) bool {
	v, ok := d.has(name)
	if !ok {
		if required {
			d.bad(creative.CodeInvalidRequest, name, name+" is required")
			return false
		}
		return true
	}
	if json.Unmarshal(v, dst) != nil {
		d.bad(creative.CodeValidation, name, name+" must be a string")
		return false
	}
	return true
}

func (d *fields) boolean(name string, dst *bool) {
	if v, ok := d.has(name); ok && json.Unmarshal(v, dst) != nil {
		d.bad(creative.CodeValidation, name, name+" must be true or false")
	}
}

func (d *fields) strings(name string, dst *[]string) {
	if v, ok := d.has(name); ok && json.Unmarshal(v, dst) != nil {
		d.bad(creative.CodeValidation, name, name+" must be an array of strings")
	}
}

// context reads the opaque context object, bounded so that echoing it in
// a response, a stored task and a webhook stays small.
func (d *fields) context() json.RawMessage {
	v, ok := d.has("context")
	if !ok {
		return nil
	}
	switch {
	case v[0] != '{':
		d.bad(creative.CodeValidation, "context", "context must be an object")
	case len(v) > creative.MaxContextBytes:
		d.bad(creative.CodeValidation, "context", fmt.Sprintf("context is %d bytes; at most %d are echoed back", len(v), creative.MaxContextBytes))
	default:
		return v
	}
	return nil
}

// majorVersion reads adcp_major_version (default 3, the highest we speak:
// a request without it is a 3.0 request).
func (d *fields) majorVersion() (int, *RequestError) {
	v, ok := d.has("adcp_major_version")
	if !ok {
		return 3, nil
	}
	var n int
	if json.Unmarshal(v, &n) != nil {
		d.bad(creative.CodeValidation, "adcp_major_version", "adcp_major_version must be an integer")
		return 3, nil
	}
	for _, m := range creative.SupportedMajorVersions {
		if m == n {
			return n, nil
		}
	}
	return 0, invalid(creative.CodeVersionUnsupported, "adcp_major_version",
		fmt.Sprintf("AdCP major version %d is not supported; supported: 2, 3 (call get_adcp_capabilities)", n))
}

func (d *fields) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return invalidAll(d.errs)
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// DecodeAccountRef reads an account reference: {account_id} or the natural
// key {brand: {domain}, operator, sandbox?}. field names it in errors.
func DecodeAccountRef(v json.RawMessage, field string) (creative.AccountRef, *Error) {
	var ref creative.AccountRef
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return ref, &Error{Code: creative.CodeValidation, Field: field, Message: field + " must be an object: {account_id} or {brand, operator}"}
	}
	if id, ok := m["account_id"]; ok {
		if json.Unmarshal(id, &ref.AccountID) != nil || ref.AccountID == "" {
			return ref, &Error{Code: creative.CodeValidation, Field: field + ".account_id", Message: "account_id must be a non-empty string"}
		}
		if len(m) > 1 {
			return ref, &Error{Code: creative.CodeValidation, Field: field, Message: field + " takes either account_id or the brand + operator natural key, not both"}
		}
		return ref, nil
	}
	brand, hasBrand := m["brand"]
	op, hasOp := m["operator"]
	if !hasBrand || !hasOp {
		return ref, &Error{Code: creative.CodeValidation, Field: field, Message: field + " needs account_id, or brand and operator"}
	}
	if json.Unmarshal(op, &ref.Operator) != nil || strings.TrimSpace(ref.Operator) == "" {
		return ref, &Error{Code: creative.CodeValidation, Field: field + ".operator", Message: "operator must be a domain string"}
	}
	ref.Operator = strings.ToLower(strings.TrimSpace(ref.Operator))
	var b struct {
		Domain  string `json:"domain"`
		BrandID string `json:"brand_id"`
	}
	if json.Unmarshal(brand, &b) != nil || strings.TrimSpace(b.Domain) == "" {
		return ref, &Error{Code: creative.CodeValidation, Field: field + ".brand", Message: "brand must be {domain, brand_id?} (a brand reference)"}
	}
	ref.BrandDomain = strings.ToLower(strings.TrimSpace(b.Domain))
	ref.BrandID = b.BrandID
	if sb, ok := m["sandbox"]; ok && !isNull(sb) {
		if json.Unmarshal(sb, &ref.Sandbox) != nil {
			return ref, &Error{Code: creative.CodeValidation, Field: field + ".sandbox", Message: "sandbox must be true or false"}
		}
	}
	return ref, nil
}
