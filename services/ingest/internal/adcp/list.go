package adcp

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/creativesync/services/ingest/internal/creative"
)

type listFilters struct {
	Accounts      []json.RawMessage   `json:"accounts"`
	Statuses      []string            `json:"statuses"`
	Tags          []string            `json:"tags"`
	TagsAny       []string            `json:"tags_any"`
	NameContains  string              `json:"name_contains"`
	CreativeIDs   []string            `json:"creative_ids"`
	FormatIDs     []creative.FormatID `json:"format_ids"`
	CreatedAfter  *time.Time          `json:"created_after"`
	CreatedBefore *time.Time          `json:"created_before"`
	UpdatedAfter  *time.Time          `json:"updated_after"`
	UpdatedBefore *time.Time          `json:"updated_before"`
}

// listRequest is list_creatives' request as far as we act on it.
type listRequest struct {
	Filters *listFilters `json:"filters"`
	Sort    *struct {
		Field     string `json:"field"`
		Direction string `json:"direction"`
	} `json:"sort"`
	Pagination         *pagination     `json:"pagination"`
	IncludeAssignments *bool           `json:"include_assignments"`
	Account            json.RawMessage `json:"account"`
	Context            json.RawMessage `json:"context"`
}

type pagination struct {
	MaxResults *int   `json:"max_results"`
	Cursor     string `json:"cursor"`
}

// DecodeList decodes a list_creatives body.
func DecodeList(body []byte) (creative.ListQuery, error) {
	if _, err := Object(body); err != nil {
		return creative.ListQuery{}, err
	}
	var req listRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return creative.ListQuery{}, invalid(creative.CodeValidation, "", "list_creatives request has a field of the wrong type: "+typeProblem(err))
	}
	return req.query()
}

func (req listRequest) query() (creative.ListQuery, error) {
	q := creative.ListQuery{SortField: "created_date", SortDesc: true, Limit: 50, IncludeAssignments: true, FiltersApplied: []string{}}
	if len(req.Context) > 0 && !isNull(req.Context) {
		if req.Context[0] != '{' || len(req.Context) > creative.MaxContextBytes {
			return q, invalid(creative.CodeValidation, "context", fmt.Sprintf("context must be an object of at most %d bytes", creative.MaxContextBytes))
		}
		q.Context = req.Context
	}
	// Accounts: an explicit account or filters.accounts narrow to those;
	// otherwise every account of the principal.
	var refs []json.RawMessage
	if len(req.Account) > 0 && !isNull(req.Account) {
		refs = append(refs, req.Account)
	}
	if req.Filters != nil {
		refs = append(refs, req.Filters.Accounts...)
	}
	for i, r := range refs {
		ref, e := DecodeAccountRef(r, fmt.Sprintf("accounts[%d]", i))
		if e != nil {
			return q, invalidAll([]Error{*e})
		}
		q.Accounts = append(q.Accounts, ref)
	}
	if f := req.Filters; f != nil {
		for _, st := range f.Statuses {
			if !creative.ValidStatus(st) {
				return q, invalid(creative.CodeValidation, "filters.statuses", "unknown creative status "+st)
			}
		}
		q.Statuses, q.Tags, q.TagsAny, q.NameContains, q.CreativeIDs = f.Statuses, f.Tags, f.TagsAny, f.NameContains, f.CreativeIDs
		q.IncludeArchived = slices.Contains(f.Statuses, creative.StatusArchived)
		for _, fid := range f.FormatIDs {
			q.FormatIDs = append(q.FormatIDs, fid.ID)
		}
		q.CreatedAfter, q.CreatedBefore, q.UpdatedAfter, q.UpdatedBefore = f.CreatedAfter, f.CreatedBefore, f.UpdatedAfter, f.UpdatedBefore
		for _, applied := range []struct {
			name string
			on   bool
		}{
			{"statuses", len(f.Statuses) > 0}, {"tags", len(f.Tags) > 0}, {"tags_any", len(f.TagsAny) > 0},
			{"name_contains", f.NameContains != ""}, {"creative_ids", len(f.CreativeIDs) > 0}, {"format_ids", len(f.FormatIDs) > 0},
			{"accounts", len(f.Accounts) > 0}, {"created_after", f.CreatedAfter != nil}, {"created_before", f.CreatedBefore != nil},
			{"updated_after", f.UpdatedAfter != nil}, {"updated_before", f.UpdatedBefore != nil},
		} {
			if applied.on {
				q.FiltersApplied = append(q.FiltersApplied, applied.name)
			}
		}
	}
	if st := req.Sort; st != nil {
		if st.Field != "" {
			if !slices.Contains(creative.SortFields(), st.Field) {
				return q, invalid(creative.CodeValidation, "sort.field", "sort.field must be one of "+strings.Join(creative.SortFields(), ", "))
			}
			q.SortField = st.Field
		}
		switch st.Direction {
		case "", "desc":
		case "asc":
			q.SortDesc = false
		default:
			return q, invalid(creative.CodeValidation, "sort.direction", `sort.direction must be "asc" or "desc"`)
		}
	}
	limit, after, err := readPage(req.Pagination, creative.DecodeCursor, "list_creatives")
	if err != nil {
		return q, err
	}
	if limit > 0 {
		q.Limit = limit
	}
	if after != nil {
		q.After = after
	}
	if req.IncludeAssignments != nil {
		q.IncludeAssignments = *req.IncludeAssignments
	}
	return q, nil
}

// readPage reads a pagination request: the page size (0: the task's
// default) and, through decode, the position the cursor names (nil: the
// first page). A cursor decode rejects is one this seller did not issue
// for task.
func readPage[C any](pg *pagination, decode func(string) (C, error), task string) (int, *C, error) {
	if pg == nil {
		return 0, nil, nil
	}
	limit, err := pg.limit()
	if err != nil || pg.Cursor == "" {
		return limit, nil, err
	}
	c, err := decode(pg.Cursor)
	if err != nil {
		return 0, nil, invalid(creative.CodeInvalidRequest, "pagination.cursor", "cursor is not a "+task+" cursor this seller issued")
	}
	return limit, &c, nil
}

func (pg *pagination) limit() (int, error) {
	if pg.MaxResults == nil {
		return 0, nil
	}
	if *pg.MaxResults < 1 || *pg.MaxResults > 100 {
		return 0, invalid(creative.CodeValidation, "pagination.max_results", "max_results must be between 1 and 100")
	}
	return *pg.MaxResults, nil
}

// ListFromQuery maps REST query parameters onto list_creatives: account_id,
// creative_ids, statuses, format_ids, tags, tags_any (comma separated),
// name_contains, created_/updated_ after/before, sort, direction,
// max_results, cursor, include_assignments.
func ListFromQuery(v url.Values) (creative.ListQuery, error) {
	var req listRequest
	req.Filters = &listFilters{}
	f := req.Filters
	if id := v.Get("account_id"); id != "" {
		ref, err := json.Marshal(map[string]string{"account_id": id})
		if err != nil {
			return creative.ListQuery{}, err
		}
		req.Account = ref
	}
	f.CreativeIDs, f.Statuses, f.Tags, f.TagsAny = list(v, "creative_ids"), list(v, "statuses"), list(v, "tags"), list(v, "tags_any")
	for _, id := range list(v, "format_ids") {
		f.FormatIDs = append(f.FormatIDs, creative.FormatID{ID: id})
	}
	f.NameContains = v.Get("name_contains")
	for name, dst := range map[string]**time.Time{"created_after": &f.CreatedAfter, "created_before": &f.CreatedBefore,
		"updated_after": &f.UpdatedAfter, "updated_before": &f.UpdatedBefore} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return creative.ListQuery{}, invalid(creative.CodeValidation, name, name+" must be an RFC 3339 date-time")
			}
			*dst = &t
		}
	}
	if s := v.Get("sort"); s != "" || v.Get("direction") != "" {
		req.Sort = &struct {
			Field     string `json:"field"`
			Direction string `json:"direction"`
		}{s, v.Get("direction")}
	}
	pg, err := paginationFrom(v)
	if err != nil {
		return creative.ListQuery{}, err
	}
	req.Pagination = pg
	if s := v.Get("include_assignments"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return creative.ListQuery{}, invalid(creative.CodeValidation, "include_assignments", "include_assignments must be true or false")
		}
		req.IncludeAssignments = &b
	}
	return req.query()
}

func list(v url.Values, name string) []string {
	var out []string
	for _, s := range v[name] {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// paginationFrom reads max_results and cursor query parameters.
func paginationFrom(v url.Values) (*pagination, error) {
	pg := &pagination{Cursor: v.Get("cursor")}
	if s := v.Get("max_results"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, invalid(creative.CodeValidation, "max_results", "max_results must be an integer")
		}
		pg.MaxResults = &n
	}
	return pg, nil
}

func typeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errorsAs(err, &te) {
		return fmt.Sprintf("%s must be %s, got %s", te.Field, te.Type.String(), te.Value)
	}
	return err.Error()
}
