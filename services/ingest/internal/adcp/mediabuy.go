package adcp

import "example.com/creativesync/services/ingest/internal/creative"

// SalesAgentResult is one item of the sales-agent response shape.
type SalesAgentResult struct {
	CreativeID string   `json:"creative_id"`
	Action     string   `json:"action"`
	Status     string   `json:"status"`
	PlatformID string   `json:"platform_id,omitempty"`
	AssignedTo []string `json:"assigned_to,omitempty"`
	Errors     []Error  `json:"errors"`
}

// SalesAgentResponse is POST /api/v1/media-buys/{id}/creatives' answer.
type SalesAgentResponse struct {
	Created int                `json:"created"`
	Updated int                `json:"updated"`
	Deleted int                `json:"deleted"`
	DryRun  bool               `json:"dry_run,omitempty"`
	Results []SalesAgentResult `json:"results"`
}

// SalesAgent renders a sync result in the sales-agent shape.
func SalesAgent(resp creative.SyncResponse) SalesAgentResponse {
	out := SalesAgentResponse{DryRun: resp.DryRun, Results: []SalesAgentResult{}}
	if resp.Creatives == nil {
		return out
	}
	for _, c := range *resp.Creatives {
		res := SalesAgentResult{CreativeID: c.CreativeID, Action: c.Action, Status: c.Status, PlatformID: c.PlatformID,
			AssignedTo: c.AssignedTo, Errors: c.Errors}
		if res.Errors == nil {
			res.Errors = []Error{}
		}
		for _, pkg := range sortedKeys(c.AssignmentErrors) {
			res.Errors = append(res.Errors, Error{Code: creative.CodePackageNotFound, Field: "package_id", Message: pkg + ": " + c.AssignmentErrors[pkg]})
		}
		switch c.Action {
		case creative.ActionCreated:
			out.Created++
		case creative.ActionUpdated:
			out.Updated++
		case creative.ActionDeleted:
			out.Deleted++
			res.Status = creative.StatusArchived
		case creative.ActionFailed:
			res.Status = "failed"
		}
		out.Results = append(out.Results, res)
	}
	return out
}
