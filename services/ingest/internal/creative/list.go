package creative

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Sort fields list_creatives supports (enums/creative-sort-field.json).
var sortFields = []string{"created_date", "updated_date", "name", "status", "assignment_count"}

// ListQuery is a resolved list_creatives request.
type ListQuery struct {
	PrincipalID        string // only this principal's accounts are ever visible
	AccountIDs         []string
	CreativeIDs        []string
	Statuses           []string
	FormatIDs          []string
	Tags               []string // all must match
	TagsAny            []string
	NameContains       string
	CreatedAfter       *time.Time
	CreatedBefore      *time.Time
	UpdatedAfter       *time.Time
	UpdatedBefore      *time.Time
	IncludeArchived    bool
	SortField          string
	SortDesc           bool
	Limit              int
	After              *Cursor
	IncludeAssignments bool
	FiltersApplied     []string
}

// Cursor is the keyset position after the last row of a page.
type Cursor struct {
	Value      string `json:"v"`
	AccountID  string `json:"a"`
	CreativeID string `json:"c"`
}

// Encode renders the cursor as an opaque token.
func (c Cursor) Encode() string {
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

type listRequest struct {
	Filters *struct {
		Accounts      []json.RawMessage `json:"accounts"`
		Statuses      []string          `json:"statuses"`
		Tags          []string          `json:"tags"`
		TagsAny       []string          `json:"tags_any"`
		NameContains  string            `json:"name_contains"`
		CreativeIDs   []string          `json:"creative_ids"`
		FormatIDs     []FormatID        `json:"format_ids"`
		CreatedAfter  *time.Time        `json:"created_after"`
		CreatedBefore *time.Time        `json:"created_before"`
		UpdatedAfter  *time.Time        `json:"updated_after"`
		UpdatedBefore *time.Time        `json:"updated_before"`
	} `json:"filters"`
	Sort *struct {
		Field     string `json:"field"`
		Direction string `json:"direction"`
	} `json:"sort"`
	Pagination *struct {
		MaxResults *int   `json:"max_results"`
		Cursor     string `json:"cursor"`
	} `json:"pagination"`
	IncludeAssignments *bool           `json:"include_assignments"`
	Account            json.RawMessage `json:"account"`
	Context            json.RawMessage `json:"context"`
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

// List runs list_creatives for p. body is the raw request.
func (s *Service) List(ctx context.Context, p Principal, body []byte) (ListResponse, error) {
	raw, rerr := decodeObject(body)
	if rerr != nil {
		return ListResponse{}, rerr
	}
	b, _ := json.Marshal(raw)
	var req listRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return ListResponse{}, Reject(http.StatusBadRequest, CodeValidation, "", "list_creatives request has a field of the wrong type: "+jsonTypeProblem(err))
	}
	q := ListQuery{SortField: "created_date", SortDesc: true, Limit: 50, IncludeAssignments: true}
	// Accounts: an explicit account or filters.accounts narrow to those;
	// otherwise every account of the principal.
	var refs []json.RawMessage
	if len(req.Account) > 0 && !isJSONNull(req.Account) {
		refs = append(refs, req.Account)
	}
	if req.Filters != nil {
		refs = append(refs, req.Filters.Accounts...)
	}
	for i, r := range refs {
		var ref AccountRef
		if e := decodeAccountRef(r, &ref); e != nil {
			e.Field = fmt.Sprintf("accounts[%d]", i)
			return ListResponse{}, rejectAll(http.StatusBadRequest, []Error{*e})
		}
		a, err := s.ResolveAccount(ctx, p, ref)
		if err != nil {
			return ListResponse{}, err
		}
		q.AccountIDs = append(q.AccountIDs, a.ID)
	}
	if len(refs) == 0 {
		q.AccountIDs = nil // store scopes to the principal
	}
	if f := req.Filters; f != nil {
		for _, st := range f.Statuses {
			if !slices.Contains(validStatuses, st) {
				return ListResponse{}, Reject(http.StatusBadRequest, CodeValidation, "filters.statuses", "unknown creative status "+st)
			}
		}
		q.Statuses, q.Tags, q.TagsAny, q.NameContains, q.CreativeIDs = f.Statuses, f.Tags, f.TagsAny, f.NameContains, f.CreativeIDs
		q.IncludeArchived = slices.Contains(f.Statuses, StatusArchived)
		for _, fid := range f.FormatIDs {
			q.FormatIDs = append(q.FormatIDs, fid.ID)
		}
		q.CreatedAfter, q.CreatedBefore, q.UpdatedAfter, q.UpdatedBefore = f.CreatedAfter, f.CreatedBefore, f.UpdatedAfter, f.UpdatedBefore
		add := func(name string, on bool) {
			if on {
				q.FiltersApplied = append(q.FiltersApplied, name)
			}
		}
		add("statuses", len(f.Statuses) > 0)
		add("tags", len(f.Tags) > 0)
		add("tags_any", len(f.TagsAny) > 0)
		add("name_contains", f.NameContains != "")
		add("creative_ids", len(f.CreativeIDs) > 0)
		add("format_ids", len(f.FormatIDs) > 0)
		add("accounts", len(f.Accounts) > 0)
		add("created_after", f.CreatedAfter != nil)
		add("created_before", f.CreatedBefore != nil)
		add("updated_after", f.UpdatedAfter != nil)
		add("updated_before", f.UpdatedBefore != nil)
	}
	if q.FiltersApplied == nil {
		q.FiltersApplied = []string{}
	}
	if st := req.Sort; st != nil {
		if st.Field != "" {
			if !slices.Contains(sortFields, st.Field) {
				return ListResponse{}, Reject(http.StatusBadRequest, CodeValidation, "sort.field", "sort.field must be one of created_date, updated_date, name, status, assignment_count")
			}
			q.SortField = st.Field
		}
		switch st.Direction {
		case "", "desc":
		case "asc":
			q.SortDesc = false
		default:
			return ListResponse{}, Reject(http.StatusBadRequest, CodeValidation, "sort.direction", `sort.direction must be "asc" or "desc"`)
		}
	}
	if pg := req.Pagination; pg != nil {
		if pg.MaxResults != nil {
			if *pg.MaxResults < 1 || *pg.MaxResults > 100 {
				return ListResponse{}, Reject(http.StatusBadRequest, CodeValidation, "pagination.max_results", "max_results must be between 1 and 100")
			}
			q.Limit = *pg.MaxResults
		}
		if pg.Cursor != "" {
			c, err := decodeCursor(pg.Cursor)
			if err != nil {
				return ListResponse{}, Reject(http.StatusBadRequest, CodeInvalidRequest, "pagination.cursor", "cursor is not one this seller issued")
			}
			q.After = &c
		}
	}
	if req.IncludeAssignments != nil {
		q.IncludeAssignments = *req.IncludeAssignments
	}
	page, err := s.store.ListCreatives(ctx, principalScope(p, q))
	if err != nil {
		return ListResponse{}, err
	}
	resp := ListResponse{Status: "completed", Context: req.Context, Creatives: make([]ListedCreative, 0, len(page.Creatives)),
		StatusSummary: page.StatusCounts}
	resp.QuerySummary.TotalMatching = page.Total
	resp.QuerySummary.Returned = len(page.Creatives)
	resp.QuerySummary.FiltersApplied = q.FiltersApplied
	resp.QuerySummary.SortApplied.Field = q.SortField
	resp.QuerySummary.SortApplied.Direction = map[bool]string{true: "desc", false: "asc"}[q.SortDesc]
	resp.Pagination = Pagination{HasMore: page.HasMore, TotalCount: page.Total}
	if page.HasMore && page.Next != nil {
		resp.Pagination.Cursor = page.Next.Encode()
	}
	for _, c := range page.Creatives {
		resp.Creatives = append(resp.Creatives, listed(c, q.IncludeAssignments))
	}
	return resp, nil
}

func principalScope(p Principal, q ListQuery) ListQuery {
	q.PrincipalID = p.ID
	return q
}

func decodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, err
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.CreativeID == "" {
		return Cursor{}, fmt.Errorf("bad cursor")
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
