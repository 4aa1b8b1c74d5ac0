package adcp

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }

// DecodeFormats decodes a list_creative_formats body (empty means {}).
func DecodeFormats(body []byte) (creative.FormatsQuery, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if _, err := Object(body); err != nil {
		return creative.FormatsQuery{}, err
	}
	var req struct {
		FormatIDs  []creative.FormatID `json:"format_ids"`
		AssetTypes []string            `json:"asset_types"`
		Type       string              `json:"type"`
		Account    json.RawMessage     `json:"account"`
		Pagination *pagination         `json:"pagination"`
		Context    json.RawMessage     `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return creative.FormatsQuery{}, invalid(creative.CodeValidation, "", "list_creative_formats request has a field of the wrong type: "+typeProblem(err))
	}
	q := creative.FormatsQuery{AssetTypes: req.AssetTypes, Type: req.Type}
	if err := checkFormatType(q.Type); err != nil {
		return q, err
	}
	if len(req.Context) > 0 && !isNull(req.Context) {
		if req.Context[0] != '{' || len(req.Context) > creative.MaxContextBytes {
			return q, invalid(creative.CodeValidation, "context", "context must be an object of at most 16384 bytes")
		}
		q.Context = req.Context
	}
	for _, f := range req.FormatIDs {
		q.FormatIDs = append(q.FormatIDs, f.ID)
	}
	if len(req.Account) > 0 && !isNull(req.Account) {
		ref, e := DecodeAccountRef(req.Account, "account")
		if e != nil {
			return q, invalidAll([]Error{*e})
		}
		q.Account = &ref
	}
	return q, formatsPage(&q, req.Pagination)
}

// FormatsFromQuery is the public REST catalog: format_ids (comma
// separated), type, asset_types, max_results and cursor.
func FormatsFromQuery(v url.Values) (creative.FormatsQuery, error) {
	q := creative.FormatsQuery{FormatIDs: list(v, "format_ids"), AssetTypes: list(v, "asset_types"), Type: v.Get("type")}
	if err := checkFormatType(q.Type); err != nil {
		return q, err
	}
	pg, err := paginationFrom(v)
	if err != nil {
		return q, err
	}
	return q, formatsPage(&q, pg)
}

func formatsPage(q *creative.FormatsQuery, pg *pagination) error {
	limit, after, err := readPage(pg, creative.DecodeFormatsCursor, "list_creative_formats")
	if err == nil {
		q.Limit = limit
		if after != nil {
			q.After = *after
		}
	}
	return err
}

// GetTask is a decoded tasks/get request.
type GetTask struct {
	TaskID  string
	Context json.RawMessage
}

// DecodeGetTask decodes a tasks/get body.
func DecodeGetTask(body []byte) (GetTask, error) {
	raw, err := Object(body)
	if err != nil {
		return GetTask{}, err
	}
	d := &fields{raw: raw}
	var t GetTask
	d.str("task_id", &t.TaskID, true)
	t.Context = d.context()
	return t, d.err()
}

// formatTypes are the 3.0 format categories plus native, which our catalog
// also serves.
var formatTypes = []string{"audio", "video", "display", "dooh", "native"}

func checkFormatType(t string) error {
	if t != "" && !slices.Contains(formatTypes, t) {
		return invalid(creative.CodeValidation, "type", "type must be one of "+strings.Join(formatTypes, ", "))
	}
	return nil
}
