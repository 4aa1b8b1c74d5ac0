package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/creative"
)

// comply_test_controller is AdCP's sandbox-only deterministic-testing tool.
// It answers in its own shape (comply-test-controller-response.json):
// {success: true, …} or {success: false, error: CODE, error_detail}, with
// the request's context echoed, rather than as an AdCP task response.

// declaredScenarios go into get_adcp_capabilities' compliance_testing block,
// whose enum only names force_* and simulate_* scenarios.
var declaredScenarios = []string{"force_creative_status"}

// listedScenarios are what list_scenarios reports: the declared ones plus
// the seed scenarios, which the controller implements as well.
var listedScenarios = []string{"force_creative_status", "seed_creative", "seed_creative_format"}

type controllerRequest struct {
	Scenario string                     `json:"scenario"`
	Params   map[string]json.RawMessage `json:"params"`
	Account  json.RawMessage            `json:"account"`
	Context  json.RawMessage            `json:"context"`
}

func (a *API) complyTestController(ctx context.Context, p creative.Principal, body []byte) *mcp.CallToolResult {
	var req controllerRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return controllerResult(creative.ContextOf(body), controllerFailure(creative.ControllerInvalidParams, "request must be {scenario, params?, account, context?} with params an object"))
	}
	resp, err := a.runScenario(ctx, p, req)
	if err != nil {
		var ce *creative.ControllerError
		if !errors.As(err, &ce) {
			a.log.ErrorContext(ctx, "comply_test_controller failed", "scenario", req.Scenario, "err", err)
			ce = &creative.ControllerError{Code: creative.ControllerInternal, Detail: "the controller could not complete the scenario; retry shortly"}
		}
		resp = controllerFailure(ce.Code, ce.Detail)
		if ce.CurrentState != "" {
			resp["current_state"] = ce.CurrentState
		}
	}
	return controllerResult(req.Context, resp)
}

// runScenario checks the scenario and its params before the account, so a
// malformed call is reported as such; the sandbox check comes before any
// lookup, so a production account never learns whether an id exists. Seeds
// need a target account; force_creative_status finds the creative among the
// caller's sandbox accounts when the request names none.
func (a *API) runScenario(ctx context.Context, p creative.Principal, req controllerRequest) (map[string]any, error) {
	str := func(name string, required bool) (string, error) {
		var v string
		raw, ok := req.Params[name]
		if !ok || string(raw) == "null" {
			if required {
				return "", &creative.ControllerError{Code: creative.ControllerInvalidParams, Detail: req.Scenario + " requires params." + name}
			}
			return "", nil
		}
		if json.Unmarshal(raw, &v) != nil || (required && v == "") {
			return "", &creative.ControllerError{Code: creative.ControllerInvalidParams, Detail: "params." + name + " must be a non-empty string"}
		}
		return v, nil
	}
	fixture := func() (map[string]json.RawMessage, error) {
		var f map[string]json.RawMessage
		if raw, ok := req.Params["fixture"]; ok && string(raw) != "null" {
			if json.Unmarshal(raw, &f) != nil {
				return nil, &creative.ControllerError{Code: creative.ControllerInvalidParams, Detail: "params.fixture must be an object"}
			}
		}
		return f, nil
	}
	seeded := func(replayed bool) map[string]any {
		if replayed {
			return map[string]any{"success": true, "message": "Fixture re-seeded (equivalent)"}
		}
		return map[string]any{"success": true, "message": "Fixture seeded"}
	}

	// seed runs a seed scenario: the id param names the fixture in the
	// caller's sandbox account.
	seed := func(idParam string, fn func(context.Context, creative.Account, string, map[string]json.RawMessage) (bool, error)) (map[string]any, error) {
		id, err := str(idParam, true)
		if err != nil {
			return nil, err
		}
		f, err := fixture()
		if err != nil {
			return nil, err
		}
		acct, err := a.svc.SandboxAccount(ctx, p, req.Account)
		if err != nil {
			return nil, err
		}
		replayed, err := fn(ctx, acct, id, f)
		if err != nil {
			return nil, err
		}
		return seeded(replayed), nil
	}
	switch req.Scenario {
	case "":
		return nil, &creative.ControllerError{Code: creative.ControllerInvalidParams, Detail: "scenario is required"}
	case "list_scenarios":
		// Discovery repeats what get_adcp_capabilities already says, so it
		// needs no sandbox account.
		return map[string]any{"success": true, "scenarios": listedScenarios}, nil
	case "force_creative_status":
		id, err := str("creative_id", true)
		if err != nil {
			return nil, err
		}
		status, err := str("status", true)
		if err != nil {
			return nil, err
		}
		reason, err := str("rejection_reason", false)
		if err != nil {
			return nil, err
		}
		// The AdCP request carries no account; when the caller names one
		// anyway it must be a sandbox account of theirs.
		var acct creative.Account
		if len(req.Account) == 0 || string(req.Account) == "null" {
			acct, err = a.svc.SandboxAccountOf(ctx, p, id)
		} else {
			acct, err = a.svc.SandboxAccount(ctx, p, req.Account)
		}
		if err != nil {
			return nil, err
		}
		prev, err := a.svc.ForceCreativeStatus(ctx, acct, id, status, reason, logging.CorrelationID(ctx))
		if err != nil {
			return nil, err
		}
		return map[string]any{"success": true, "previous_state": prev, "current_state": status,
			"message": "creative " + id + " moved from " + prev + " to " + status}, nil
	case "seed_creative":
		return seed("creative_id", a.svc.SeedCreative)
	case "seed_creative_format":
		return seed("format_id", a.svc.SeedFormat)
	default:
		return nil, &creative.ControllerError{Code: creative.ControllerUnknownScenario,
			Detail: "scenario " + req.Scenario + " is not supported; list_scenarios names the supported ones"}
	}
}

func controllerFailure(code, detail string) map[string]any {
	return map[string]any{"success": false, "error": code, "error_detail": detail}
}

// controllerResult renders a controller response: structuredContent is the
// response, the text carries the same JSON for clients that read content,
// and a failure is an isError result.
func controllerResult(reqContext json.RawMessage, resp map[string]any) *mcp.CallToolResult {
	if len(reqContext) > 0 && reqContext[0] == '{' {
		resp["context"] = reqContext
	}
	b, _ := json.Marshal(resp)
	ok, _ := resp["success"].(bool)
	return &mcp.CallToolResult{IsError: !ok, Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}, StructuredContent: json.RawMessage(b)}
}

// complianceTesting is the capabilities block declaring the controller.
func complianceTesting() map[string]any {
	return map[string]any{"scenarios": slices.Clone(declaredScenarios)}
}
