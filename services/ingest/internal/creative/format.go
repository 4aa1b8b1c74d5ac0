package creative

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"example.com/creativesync/events"
)

// Format is a registry entry: the AdCP format object (served verbatim by
// list_creative_formats) and the parts of it validation needs.
type Format struct {
	ID         string
	Definition json.RawMessage
	Name       string
	Type       string
	Assets     []FormatAsset
}

// FormatAsset is one individual asset slot of a format.
type FormatAsset struct {
	ItemType     string       `json:"item_type"`
	AssetID      string       `json:"asset_id"`
	AssetType    string       `json:"asset_type"`
	Required     bool         `json:"required"`
	Requirements Requirements `json:"requirements"`
}

// Requirements is the subset of core/requirements/*.json the registry
// checks against the buyer's declared asset values.
type Requirements struct {
	MinWidth      *int     `json:"min_width"`
	MaxWidth      *int     `json:"max_width"`
	MinHeight     *int     `json:"min_height"`
	MaxHeight     *int     `json:"max_height"`
	MinDurationMS *int     `json:"min_duration_ms"`
	MaxDurationMS *int     `json:"max_duration_ms"`
	Formats       []string `json:"formats"`
	Containers    []string `json:"containers"`
	MaxFileSizeKB *int     `json:"max_file_size_kb"`
	MinLength     *int     `json:"min_length"`
	MaxLength     *int     `json:"max_length"`
	Protocols     []string `json:"protocols"`
}

// ParseFormat reads an AdCP format object.
func ParseFormat(def json.RawMessage) (Format, error) {
	var f struct {
		FormatID FormatID      `json:"format_id"`
		Name     string        `json:"name"`
		Type     string        `json:"type"`
		Assets   []FormatAsset `json:"assets"`
	}
	if err := json.Unmarshal(def, &f); err != nil {
		return Format{}, fmt.Errorf("format definition: %w", err)
	}
	if f.FormatID.ID == "" || f.Name == "" {
		return Format{}, fmt.Errorf("format definition lacks format_id.id or name")
	}
	return Format{ID: f.FormatID.ID, Definition: def, Name: f.Name, Type: f.Type, Assets: f.Assets}, nil
}

// Slots returns f's individual asset slots in the format's order.
func (f Format) Slots() []FormatAsset {
	out := make([]FormatAsset, 0, len(f.Assets))
	for _, a := range f.Assets {
		if a.AssetID != "" {
			out = append(out, a)
		}
	}
	return out
}

// Slot returns the slot of f with the given asset id.
func (f Format) Slot(id string) (FormatAsset, bool) { return f.asset(id) }

// asset returns the slot of f with the given asset id.
func (f Format) asset(id string) (FormatAsset, bool) {
	for _, a := range f.Assets {
		if a.AssetID == id {
			return a, true
		}
	}
	return FormatAsset{}, false
}

// Registry resolves format references for validation.
type Registry struct {
	formats   map[string]Format
	ordered   []Format
	agentURLs []string // canonical
	// outside are the trusted outside creative agents' formats, shared
	// by every catalog (nil: none trusted).
	outside *AgentFormats
}

// NewRegistry builds a registry of formats served by the given agent URLs.
func NewRegistry(formats []Format, agentURLs []string) *Registry {
	r := &Registry{formats: make(map[string]Format, len(formats))}
	for _, f := range formats {
		r.formats[f.ID] = f
	}
	r.ordered = formats
	for _, u := range agentURLs {
		r.agentURLs = append(r.agentURLs, CanonicalAgentURL(u))
	}
	return r
}

// Lookup returns the format named by id.
func (r *Registry) Lookup(id string) (Format, bool) {
	f, ok := r.formats[id]
	return f, ok
}

// withAgents returns r also resolving the trusted outside agents' formats.
func (r *Registry) withAgents(a *AgentFormats) *Registry {
	r.outside = a
	return r
}

// Resolve returns the format fid names: one of ours, or one a trusted
// outside creative agent serves.
func (r *Registry) Resolve(fid FormatID) (Format, bool) {
	if r.Serves(fid.AgentURL) {
		return r.Lookup(fid.ID)
	}
	return r.outside.Lookup(fid.AgentURL, fid.ID)
}

// Trusts reports whether formats of agentURL are accepted: ours or a
// trusted outside creative agent's.
func (r *Registry) Trusts(agentURL string) bool {
	return r.Serves(agentURL) || r.outside.Trusts(agentURL)
}

// Serves reports whether agentURL is one of ours.
func (r *Registry) Serves(agentURL string) bool {
	return slices.Contains(r.agentURLs, CanonicalAgentURL(agentURL))
}

// AgentURLs returns the canonical agent URLs this seller answers for.
func (r *Registry) AgentURLs() []string { return slices.Clone(r.agentURLs) }

// CanonicalAgentURL lowercases scheme and host, drops a default port and a
// trailing slash, so equivalent spellings of one agent compare equal.
func CanonicalAgentURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.ToLower(strings.TrimSpace(raw)), "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, ":443")
	if u.Scheme == "http" {
		host = strings.TrimSuffix(host, ":80")
	}
	u.Host = host
	u.User = nil
	u.Fragment = ""
	return strings.TrimRight(u.String(), "/")
}

// assetValue is the part of an asset payload validation reads. Numbers are
// float64 so a fractional width is caught instead of failing to decode;
// fields only checked for presence are raw.
type assetValue struct {
	AssetType    *string         `json:"asset_type"`
	URL          *string         `json:"url"`
	Width        *float64        `json:"width"`
	Height       *float64        `json:"height"`
	DurationMS   *float64        `json:"duration_ms"`
	Content      *string         `json:"content"`
	DeliveryType *string         `json:"delivery_type"`
	FileSize     *float64        `json:"file_size_bytes"`
	Format       *string         `json:"format"`
	Container    *string         `json:"container_format"`
	ResponseType json.RawMessage `json:"response_type"`
	Security     json.RawMessage `json:"security"`
}

// has reports whether the asset carries field (a JSON null counts as
// absent).
func (v assetValue) has(field string) bool {
	switch field {
	case "url":
		return v.URL != nil
	case "width":
		return v.Width != nil
	case "height":
		return v.Height != nil
	case "content":
		return v.Content != nil
	case "delivery_type":
		return v.DeliveryType != nil
	case "response_type":
		return len(v.ResponseType) > 0 && string(v.ResponseType) != "null"
	case "security":
		return len(v.Security) > 0 && string(v.Security) != "null"
	}
	return false
}

// requiredFields lists, per asset type, what core/assets/*.json requires
// besides asset_type.
var requiredFields = map[string][]string{
	"image":      {"url", "width", "height"},
	"video":      {"url", "width", "height"},
	"audio":      {"url"},
	"vast":       {"delivery_type"},
	"daast":      {"delivery_type"},
	"html":       {"content"},
	"javascript": {"content"},
	"css":        {"content"},
	"markdown":   {"content"},
	"text":       {"content"},
	"url":        {"url"},
	"webhook":    {"url", "response_type", "security"},
	"brief":      {},
	"catalog":    {},
}

// validateAssets checks a manifest against its format and returns one error
// per problem. path is the creative's JSON path, e.g. creatives[2].
func validateAssets(path string, fid FormatID, f Format, assets map[string]json.RawMessage) []Error {
	var errs []Error
	for _, slot := range f.Assets {
		if slot.Required && slot.AssetID != "" {
			if _, ok := assets[slot.AssetID]; !ok {
				errs = append(errs, Error{Code: CodeValidation, Field: path + ".assets." + slot.AssetID,
					Message: fmt.Sprintf("format %s requires asset %q (%s)", f.ID, slot.AssetID, slot.AssetType)})
			}
		}
	}
	for _, id := range sortedKeys(assets) {
		field := path + ".assets." + id
		slot, ok := f.asset(id)
		if !ok {
			errs = append(errs, Error{Code: CodeValidation, Field: field,
				Message: fmt.Sprintf("format %s has no asset %q; its assets are %s", f.ID, id, strings.Join(f.assetIDs(), ", "))})
			continue
		}
		var v assetValue
		if raw := bytes.TrimSpace(assets[id]); len(raw) == 0 || raw[0] != '{' {
			errs = append(errs, Error{Code: CodeValidation, Field: field, Message: "asset must be an object with asset_type"})
			continue
		}
		if err := json.Unmarshal(assets[id], &v); err != nil {
			errs = append(errs, Error{Code: CodeValidation, Field: field, Message: "asset has a field of the wrong type: " + jsonTypeProblem(err)})
			continue
		}
		if v.AssetType == nil || *v.AssetType == "" {
			errs = append(errs, Error{Code: CodeValidation, Field: field + ".asset_type", Message: "asset_type is required"})
			continue
		}
		if *v.AssetType != slot.AssetType {
			errs = append(errs, Error{Code: CodeValidation, Field: field + ".asset_type",
				Message: fmt.Sprintf("asset %q of format %s must be %s, got %s", id, f.ID, slot.AssetType, *v.AssetType)})
			continue
		}
		for _, req := range requiredFields[slot.AssetType] {
			if !v.has(req) {
				errs = append(errs, Error{Code: CodeValidation, Field: field + "." + req,
					Message: fmt.Sprintf("%s asset requires %s", slot.AssetType, req)})
			}
		}
		errs = append(errs, checkValue(field, fid, slot, v)...)
	}
	return errs
}

func checkValue(field string, fid FormatID, slot FormatAsset, v assetValue) []Error {
	var errs []Error
	bad := func(sub, msg string, args ...any) {
		errs = append(errs, Error{Code: CodeValidation, Field: field + sub, Message: fmt.Sprintf(msg, args...)})
	}
	if v.URL != nil {
		u, err := url.Parse(*v.URL)
		switch {
		case len(*v.URL) > MaxURLLength:
			bad(".url", "url is %d characters; at most %d are accepted", len(*v.URL), MaxURLLength)
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			bad(".url", "url must be an absolute http(s) URL")
		case u.User != nil:
			// Credentials in an asset URL would be stored, shown in
			// list_creatives and sent to reviewers and ad servers.
			bad(".url", "url must not carry credentials (user:password@); use a signed or public URL")
		}
	}
	req := slot.Requirements
	dim := func(name string, got *float64, lo, hi *int, exact int) {
		if got == nil {
			return
		}
		if *got != float64(int(*got)) || *got < 1 {
			bad("."+name, "%s must be a positive integer", name)
			return
		}
		n := int(*got)
		if exact > 0 && n != exact {
			bad("."+name, "%s is %d but format_id asks for %d", name, n, exact)
		}
		if lo != nil && n < *lo {
			bad("."+name, "%s %d is below the format's minimum %d", name, n, *lo)
		}
		if hi != nil && n > *hi {
			bad("."+name, "%s %d is above the format's maximum %d", name, n, *hi)
		}
	}
	if slot.AssetType == "image" || slot.AssetType == "video" {
		dim("width", v.Width, req.MinWidth, req.MaxWidth, fid.Width)
		dim("height", v.Height, req.MinHeight, req.MaxHeight, fid.Height)
	}
	if v.DurationMS != nil {
		d := *v.DurationMS
		switch {
		case d <= 0:
			bad(".duration_ms", "duration_ms must be positive")
		case req.MinDurationMS != nil && d < float64(*req.MinDurationMS):
			bad(".duration_ms", "duration %.0f ms is shorter than the format's minimum %d ms", d, *req.MinDurationMS)
		case req.MaxDurationMS != nil && d > float64(*req.MaxDurationMS):
			bad(".duration_ms", "duration %.0f ms is longer than the format's maximum %d ms", d, *req.MaxDurationMS)
		case fid.DurationMS > 0 && int(d) != fid.DurationMS:
			bad(".duration_ms", "duration %.0f ms does not match format_id duration %d ms", d, fid.DurationMS)
		}
	}
	if v.FileSize != nil && req.MaxFileSizeKB != nil && *v.FileSize > float64(*req.MaxFileSizeKB)*1024 {
		bad(".file_size_bytes", "file is %.0f bytes; the format allows %d KB", *v.FileSize, *req.MaxFileSizeKB)
	}
	if v.Format != nil && len(req.Formats) > 0 && !slices.Contains(req.Formats, strings.ToLower(*v.Format)) {
		bad(".format", "format %q is not one of %s", *v.Format, strings.Join(req.Formats, ", "))
	}
	if v.Container != nil && len(req.Containers) > 0 && !slices.Contains(req.Containers, strings.ToLower(*v.Container)) {
		bad(".container_format", "container %q is not one of %s", *v.Container, strings.Join(req.Containers, ", "))
	}
	if v.Content != nil {
		n := len([]rune(*v.Content))
		if req.MaxLength != nil && n > *req.MaxLength {
			bad(".content", "text is %d characters; the format allows %d", n, *req.MaxLength)
		}
		if req.MinLength != nil && n < *req.MinLength {
			bad(".content", "text is %d characters; the format needs at least %d", n, *req.MinLength)
		}
	}
	return errs
}

func (f Format) assetIDs() []string {
	ids := make([]string, 0, len(f.Assets))
	for _, a := range f.Assets {
		ids = append(ids, a.AssetID)
	}
	return ids
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func jsonTypeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s must be %s, got %s", te.Field, te.Type.String(), te.Value)
	}
	return err.Error()
}

// All returns every format in registry order.
func (r *Registry) All() []Format { return r.ordered }

// HasAssetType reports whether f has an asset of any of the given types.
func (f Format) HasAssetType(types []string) bool {
	for _, a := range f.Assets {
		if slices.Contains(types, a.AssetType) {
			return true
		}
	}
	return false
}

// snapshot is the part of f a creative_synced_v1 event carries, so review
// can judge a manifest without asking us for the format.
func (f Format) snapshot() *events.FormatSnapshot {
	snap := &events.FormatSnapshot{Name: f.Name}
	for _, a := range f.Assets {
		snap.Assets = append(snap.Assets, events.FormatAsset{AssetID: a.AssetID, AssetType: a.AssetType, Required: a.Required})
	}
	return snap
}

// FormatsResponse is list_creative_formats' response.
type FormatsResponse struct {
	Formats []json.RawMessage `json:"formats"`
	// CreativeAgents points buyers at the trusted outside creative agents,
	// whose formats this seller accepts but does not list as its own.
	CreativeAgents []CreativeAgentRef `json:"creative_agents,omitempty"`
	Pagination     Pagination         `json:"pagination"`
	Status         string             `json:"status"`
	Context        json.RawMessage    `json:"context,omitempty"`
}

// CreativeAgentRef is an item of list_creative_formats' creative_agents.
type CreativeAgentRef struct {
	AgentURL string `json:"agent_url"`
}

// formatsCursor is the opaque list_creative_formats cursor: the id of the
// last format returned. The catalog order is fixed, so the next page starts
// right after it.
type formatsCursor struct {
	After string `json:"after"`
}

// DecodeFormatsCursor reads a list_creative_formats cursor.
func DecodeFormatsCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	var c formatsCursor
	if err := json.Unmarshal(b, &c); err != nil || c.After == "" {
		return "", errors.New("not a cursor this seller issued")
	}
	return c.After, nil
}

// ListFormats answers list_creative_formats. The public catalog needs no
// principal; naming an account (which needs credentials, p) narrows it to
// the catalog that account sees.
func (s *Service) ListFormats(ctx context.Context, p *Principal, q FormatsQuery) (FormatsResponse, error) {
	catalog := s.registry
	if q.Account != nil {
		if p == nil {
			return FormatsResponse{}, Reject(CodeAuthRequired, "account",
				"listing an account's formats needs credentials; omit account for the public catalog")
		}
		acct, err := s.ResolveAccount(ctx, *p, *q.Account)
		if err != nil {
			return FormatsResponse{}, err
		}
		if catalog, err = s.Catalog(ctx, acct); err != nil {
			return FormatsResponse{}, err
		}
	}
	var matched []Format
	for _, f := range catalog.All() {
		if len(q.FormatIDs) > 0 && !slices.Contains(q.FormatIDs, f.ID) {
			continue
		}
		if len(q.AssetTypes) > 0 && !f.HasAssetType(q.AssetTypes) {
			continue
		}
		if q.Type != "" && f.Type != q.Type {
			continue
		}
		matched = append(matched, f)
	}
	start := 0
	if q.After != "" {
		i := slices.IndexFunc(matched, func(f Format) bool { return f.ID == q.After })
		if i < 0 {
			return FormatsResponse{}, Reject(CodeInvalidRequest, "pagination.cursor",
				"the cursor's format is no longer listed; start again without a cursor")
		}
		start = i + 1
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	end := min(start+limit, len(matched))
	resp := FormatsResponse{Status: "completed", Context: q.Context, Formats: make([]json.RawMessage, 0, end-start),
		Pagination: Pagination{HasMore: end < len(matched), TotalCount: len(matched)}}
	for _, f := range matched[start:end] {
		resp.Formats = append(resp.Formats, f.Definition)
	}
	for _, u := range catalog.outside.URLs() {
		resp.CreativeAgents = append(resp.CreativeAgents, CreativeAgentRef{AgentURL: u})
	}
	if resp.Pagination.HasMore {
		// Marshalling a struct of one string cannot fail.
		b, _ := json.Marshal(formatsCursor{After: matched[end-1].ID})
		resp.Pagination.Cursor = base64.RawURLEncoding.EncodeToString(b)
	}
	return resp, nil
}
