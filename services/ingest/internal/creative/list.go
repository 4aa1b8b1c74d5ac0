package creative

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// Sort fields list_creatives supports (enums/creative-sort-field.json).
var sortFields = []string{"created_date", "updated_date", "name", "status", "assignment_count"}

// Cursor is the keyset position after the last row of a page.
type Cursor struct {
	Value      string `json:"v"`
	AccountID  string `json:"a"`
	CreativeID string `json:"c"`
}

// Encode renders the cursor as an opaque token.
func (c Cursor) Encode() string {
	// Marshalling a struct of three strings cannot fail.
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ListPage is one page of creatives plus totals over the whole match.
type ListPage struct {
	Creatives    []Creative
	Total        int
	StatusCounts map[string]int
	HasMore      bool
	Next         *Cursor
}

var validStatuses = []string{StatusProcessing, StatusPendingReview, StatusApproved, StatusRejected, StatusArchived}

// ListResponse is list_creatives' response body.
type ListResponse struct {
	QuerySummary  QuerySummary     `json:"query_summary"`
	Pagination    Pagination       `json:"pagination"`
	Creatives     []ListedCreative `json:"creatives"`
	StatusSummary map[string]int   `json:"status_summary"`
	Status        string           `json:"status"`
	Context       json.RawMessage  `json:"context,omitempty"`
}

// QuerySummary describes the executed query.
type QuerySummary struct {
	TotalMatching  int      `json:"total_matching"`
	Returned       int      `json:"returned"`
	FiltersApplied []string `json:"filters_applied"`
	SortApplied    struct {
		Field     string `json:"field"`
		Direction string `json:"direction"`
	} `json:"sort_applied"`
}

// Pagination is core/pagination-response.json.
type Pagination struct {
	HasMore    bool   `json:"has_more"`
	Cursor     string `json:"cursor,omitempty"`
	TotalCount int    `json:"total_count"`
}

// ListedCreative is one creative in list_creatives.
type ListedCreative struct {
	CreativeID      string              `json:"creative_id"`
	AccountID       string              `json:"account_id"`
	Name            string              `json:"name"`
	FormatID        FormatID            `json:"format_id"`
	Status          string              `json:"status"`
	CreatedDate     time.Time           `json:"created_date"`
	UpdatedDate     time.Time           `json:"updated_date"`
	Assets          json.RawMessage     `json:"assets,omitempty"`
	Tags            []string            `json:"tags,omitempty"`
	PlatformID      string              `json:"platform_id"`
	Revision        int64               `json:"revision"`
	Provenance      json.RawMessage     `json:"provenance,omitempty"`
	RejectionReason string              `json:"rejection_reason,omitempty"`
	ReviewReasons   []map[string]string `json:"review_reasons,omitempty"`
	Assignments     *ListedAssignments  `json:"assignments,omitempty"`
}

// ListedAssignments is the assignments block of a listed creative.
type ListedAssignments struct {
	AssignmentCount  int                 `json:"assignment_count"`
	AssignedPackages []map[string]string `json:"assigned_packages"`
}

// SortFields are the list_creatives sort fields we support
// (enums/creative-sort-field.json).
func SortFields() []string { return slices.Clone(sortFields) }

// ValidStatus reports whether s is a creative status.
func ValidStatus(s string) bool { return slices.Contains(validStatuses, s) }

// List runs list_creatives for p: q's account references narrow the
// listing to those accounts (each must be p's); without any, every account
// of p is listed.
func (s *Service) List(ctx context.Context, p Principal, q ListQuery) (ListResponse, error) {
	q.PrincipalID = p.ID
	q.AccountIDs = nil
	for _, ref := range q.Accounts {
		a, err := s.ResolveAccount(ctx, p, ref)
		if err != nil {
			return ListResponse{}, err
		}
		q.AccountIDs = append(q.AccountIDs, a.ID)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.SortField == "" {
		q.SortField = "created_date"
	}
	if q.FiltersApplied == nil {
		q.FiltersApplied = []string{}
	}
	page, err := s.store.ListCreatives(ctx, q)
	if err != nil {
		return ListResponse{}, err
	}
	resp := ListResponse{Status: "completed", Context: q.Context, Creatives: make([]ListedCreative, 0, len(page.Creatives)),
		StatusSummary: page.StatusCounts}
	resp.QuerySummary.TotalMatching = page.Total
	resp.QuerySummary.Returned = len(page.Creatives)
	resp.QuerySummary.FiltersApplied = q.FiltersApplied
	resp.QuerySummary.SortApplied.Field = q.SortField
	resp.QuerySummary.SortApplied.Direction = "asc"
	if q.SortDesc {
		resp.QuerySummary.SortApplied.Direction = "desc"
	}
	resp.Pagination = Pagination{HasMore: page.HasMore, TotalCount: page.Total}
	if page.HasMore && page.Next != nil {
		resp.Pagination.Cursor = page.Next.Encode()
	}
	for _, c := range page.Creatives {
		resp.Creatives = append(resp.Creatives, listed(c, q.IncludeAssignments))
	}
	return resp, nil
}

// DecodeCursor reads a cursor Encode made.
func DecodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, err
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.CreativeID == "" {
		return Cursor{}, errors.New("not a cursor this seller issued")
	}
	return c, nil
}

func listed(c Creative, withAssignments bool) ListedCreative {
	l := ListedCreative{
		CreativeID: c.CreativeID, AccountID: c.AccountID, Name: c.Name, FormatID: c.FormatID,
		Status: c.Status, CreatedDate: c.CreatedAt, UpdatedDate: c.UpdatedAt, Assets: c.Body["assets"], Tags: c.Tags,
		PlatformID: c.PlatformID, Revision: c.Revision, Provenance: c.Body["provenance"],
	}
	if c.Status == StatusRejected && len(c.ReviewReasons) > 0 {
		l.RejectionReason = c.ReviewReasons[0].Message
	}
	for _, r := range c.ReviewReasons {
		l.ReviewReasons = append(l.ReviewReasons, map[string]string{"code": r.Code, "message": r.Message})
	}
	if withAssignments {
		l.Assignments = &ListedAssignments{AssignmentCount: len(c.Assignments), AssignedPackages: []map[string]string{}}
		for _, a := range c.Assignments {
			l.Assignments.AssignedPackages = append(l.Assignments.AssignedPackages, map[string]string{"package_id": a.PackageID, "assigned_date": a.CreatedAt.UTC().Format(time.RFC3339)})
		}
	}
	return l
}

// GetCreative returns one creative of p's in any status, from the account
// ref names or, without one, whichever of p's accounts holds it.
func (s *Service) GetCreative(ctx context.Context, p Principal, creativeID string, ref *AccountRef) (ListedCreative, error) {
	q := ListQuery{CreativeIDs: []string{creativeID}, Statuses: slices.Clone(validStatuses), IncludeArchived: true,
		IncludeAssignments: true, SortDesc: true, Limit: 2}
	if ref != nil {
		q.Accounts = []AccountRef{*ref}
	}
	resp, err := s.List(ctx, p, q)
	if err != nil {
		return ListedCreative{}, err
	}
	switch len(resp.Creatives) {
	case 0:
		return ListedCreative{}, Reject(CodeCreativeNotFound, "creative_id", "no such creative")
	case 1:
		return resp.Creatives[0], nil
	default:
		return ListedCreative{}, Reject(CodeInvalidRequest, "account_id", "this creative_id exists in several of your accounts; pass account_id")
	}
}
