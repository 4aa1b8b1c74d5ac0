package httpapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/ingest/internal/adcp"
	"example.com/creativesync/services/ingest/internal/creative"
)

// controllerResponse is comply-test-controller-response.json.
type controllerResponse struct {
	Success       bool            `json:"success"`
	Message       string          `json:"message,omitempty"`
	Scenarios     []string        `json:"scenarios,omitempty"`
	PreviousState string          `json:"previous_state,omitempty"`
	CurrentState  string          `json:"current_state,omitempty"`
	Error         string          `json:"error,omitempty"`
	ErrorDetail   string          `json:"error_detail,omitempty"`
	Context       json.RawMessage `json:"context,omitempty"`
}

// complyTestController is AdCP's sandbox-only deterministic-testing tool.
func (a *API) complyTestController(ctx context.Context, p creative.Principal, body []byte) *mcp.CallToolResult {
	req, err := adcp.DecodeController(body)
	var resp controllerResponse
	if err == nil {
		resp, err = a.runScenario(ctx, p, req)
	}
	if err != nil {
		var ce *creative.ControllerError
		if !errors.As(err, &ce) {
			a.log.ErrorContext(ctx, "comply_test_controller failed", "scenario", req.Scenario, "err", err)
			ce = &creative.ControllerError{Code: creative.ControllerInternal, Detail: "the controller could not complete the scenario; retry shortly"}
		}
		resp = controllerResponse{Error: ce.Code, ErrorDetail: ce.Detail, CurrentState: ce.CurrentState}
	}
	resp.Context = req.Context
	if resp.Context == nil {
		resp.Context = adcp.ContextOf(body)
	}
	text, err := json.Marshal(resp)
	if err != nil {
		a.log.ErrorContext(ctx, "encoding controller response", "err", err)
	}
	return &mcp.CallToolResult{IsError: !resp.Success, Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: resp}
}

// runScenario runs a decoded call. The sandbox check comes before any
// lookup, so a production account never learns whether an id exists.
// force_creative_status finds the creative among the caller's sandbox
// accounts when the request names none (the AdCP request has no account).
func (a *API) runScenario(ctx context.Context, p creative.Principal, req adcp.ControllerRequest) (controllerResponse, error) {
	seeded := func(replayed bool) controllerResponse {
		if replayed {
			return controllerResponse{Success: true, Message: "Fixture re-seeded (equivalent)"}
		}
		return controllerResponse{Success: true, Message: "Fixture seeded"}
	}
	switch req.Scenario {
	case "list_scenarios":
		// Discovery repeats what get_adcp_capabilities already says, so it
		// needs no sandbox account.
		return controllerResponse{Success: true, Scenarios: adcp.ListedScenarios}, nil
	case "force_creative_status":
		acct, err := a.svc.CreativeAccount(ctx, p, req.Account, req.CreativeID)
		if err != nil {
			return controllerResponse{}, err
		}
		prev, err := a.svc.ForceCreativeStatus(ctx, acct, req.CreativeID, req.Status, req.RejectionReason, logging.CorrelationID(ctx))
		if err != nil {
			return controllerResponse{}, err
		}
		return controllerResponse{Success: true, PreviousState: prev, CurrentState: req.Status,
			Message: "creative " + req.CreativeID + " moved from " + prev + " to " + req.Status}, nil
	case "force_account_status":
		prev, err := a.svc.ForceAccountStatus(ctx, p, req.AccountID, req.Status)
		if err != nil {
			return controllerResponse{}, err
		}
		return controllerResponse{Success: true, PreviousState: prev, CurrentState: req.Status,
			Message: "account " + req.AccountID + " moved from " + prev + " to " + req.Status}, nil
	case "seed_creative":
		acct, err := a.svc.SandboxAccount(ctx, p, req.Account)
		if err != nil {
			return controllerResponse{}, err
		}
		replayed, err := a.svc.SeedCreative(ctx, acct, req.Creative)
		return seeded(replayed), err
	case "seed_creative_format":
		acct, err := a.svc.SandboxAccount(ctx, p, req.Account)
		if err != nil {
			return controllerResponse{}, err
		}
		replayed, err := a.svc.SeedFormat(ctx, acct, req.Format)
		return seeded(replayed), err
	default:
		return controllerResponse{}, &creative.ControllerError{Code: creative.ControllerUnknownScenario,
			Detail: "scenario " + req.Scenario + " is not supported; list_scenarios names the supported ones"}
	}
}
