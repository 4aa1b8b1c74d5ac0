package adcp

import (
	"encoding/json"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

// ControllerRequest is a decoded comply_test_controller call. Its answer
// has its own shape (comply-test-controller-response.json), not a task
// response: {success: true, …} or {success: false, error: CODE}.
type ControllerRequest struct {
	Scenario string
	Account  *creative.AccountRef
	Context  json.RawMessage
	// Scenario parameters, by scenario.
	CreativeID      string
	AccountID       string
	Status          string
	RejectionReason string
	Creative        creative.CreativeFixture
	Format          creative.FormatFixture
}

// DecodeController decodes a comply_test_controller call; a problem is a
// ControllerError with INVALID_PARAMS, which the tool answers in its shape.
func DecodeController(body []byte) (ControllerRequest, error) {
	var req ControllerRequest
	if _, err := Object(body); err != nil {
		return req, paramsErr("request must be {scenario, params?, account, context?}: " + err.Error())
	}
	var raw struct {
		Scenario string                     `json:"scenario"`
		Params   map[string]json.RawMessage `json:"params"`
		Account  json.RawMessage            `json:"account"`
		Context  json.RawMessage            `json:"context"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return req, paramsErr("request must be {scenario, params?, account, context?} with params an object")
	}
	req.Scenario = raw.Scenario
	if len(raw.Context) > 0 && raw.Context[0] == '{' && len(raw.Context) <= creative.MaxContextBytes {
		req.Context = raw.Context
	}
	if req.Scenario == "" {
		return req, paramsErr("scenario is required")
	}
	p := params{raw: raw.Params, scenario: req.Scenario}
	var err error
	switch req.Scenario {
	case "force_creative_status":
		if req.CreativeID, err = p.str("creative_id", true); err != nil {
			return req, err
		}
		if req.Status, err = p.str("status", true); err != nil {
			return req, err
		}
		req.RejectionReason, err = p.str("rejection_reason", false)
	case "force_account_status":
		if req.AccountID, err = p.str("account_id", true); err != nil {
			return req, err
		}
		req.Status, err = p.str("status", true)
	case "seed_creative":
		req.Creative, err = p.creativeFixture()
	case "seed_creative_format":
		req.Format, err = p.formatFixture()
	}
	if err != nil {
		return req, err
	}
	// The account comes last: a malformed call is reported as such before
	// anything is said about accounts.
	if len(raw.Account) > 0 && !isNull(raw.Account) {
		ref, e := DecodeAccountRef(raw.Account, "account")
		if e != nil {
			// An unusable account reference is one the controller cannot
			// act on; it says so without telling what exists.
			return req, &creative.ControllerError{Code: creative.ControllerForbidden,
				Detail: "comply_test_controller only acts on your sandbox accounts: " + e.Message}
		}
		req.Account = &ref
	}
	return req, nil
}

func paramsErr(detail string) *creative.ControllerError {
	return &creative.ControllerError{Code: creative.ControllerInvalidParams, Detail: detail}
}

type params struct {
	raw      map[string]json.RawMessage
	scenario string
}

func (p params) str(name string, required bool) (string, error) {
	var v string
	raw, ok := p.raw[name]
	if !ok || isNull(raw) {
		if required {
			return "", paramsErr(p.scenario + " requires params." + name)
		}
		return "", nil
	}
	if json.Unmarshal(raw, &v) != nil || (required && v == "") {
		return "", paramsErr("params." + name + " must be a non-empty string")
	}
	return v, nil
}

func (p params) fixture() (map[string]json.RawMessage, error) {
	var f map[string]json.RawMessage
	if raw, ok := p.raw["fixture"]; ok && !isNull(raw) {
		if json.Unmarshal(raw, &f) != nil {
			return nil, paramsErr("params.fixture must be an object")
		}
	}
	return f, nil
}

func (p params) creativeFixture() (creative.CreativeFixture, error) {
	var fx creative.CreativeFixture
	id, err := p.str("creative_id", true)
	if err != nil {
		return fx, err
	}
	if strings.TrimSpace(id) == "" || len(id) > creative.MaxIDLength {
		return fx, paramsErr("params.creative_id must be a non-empty string of at most 255 characters")
	}
	body, err := p.fixture()
	if err != nil {
		return fx, err
	}
	fx = creative.CreativeFixture{CreativeID: id, Name: id, Body: body}
	if v, ok := body["status"]; ok && !isNull(v) {
		if json.Unmarshal(v, &fx.Status) != nil {
			return fx, paramsErr("params.fixture.status must be a creative status")
		}
	}
	v, ok := body["format_id"]
	if !ok || json.Unmarshal(v, &fx.FormatID) != nil || !formatIDPattern.MatchString(fx.FormatID.ID) {
		return fx, paramsErr("params.fixture.format_id must be an object with an id")
	}
	if v, ok := body["name"]; ok && (json.Unmarshal(v, &fx.Name) != nil || strings.TrimSpace(fx.Name) == "") {
		return fx, paramsErr("params.fixture.name must be a non-empty string")
	}
	if v, ok := body["tags"]; ok && json.Unmarshal(v, &fx.Tags) != nil {
		return fx, paramsErr("params.fixture.tags must be an array of strings")
	}
	return fx, nil
}

func (p params) formatFixture() (creative.FormatFixture, error) {
	id, err := p.str("format_id", true)
	if err != nil {
		return creative.FormatFixture{}, err
	}
	if !formatIDPattern.MatchString(id) || len(id) > creative.MaxIDLength {
		return creative.FormatFixture{}, paramsErr("params.format_id must be 1-255 letters, digits, _ or -")
	}
	def, err := p.fixture()
	return creative.FormatFixture{FormatID: id, Definition: def}, err
}
