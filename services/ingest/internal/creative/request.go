package creative

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Limits on what one request may carry. They protect Postgres and the
// review pipeline from a single oversized sync.
const (
	MaxCreativesPerSync  = 100
	MaxIDLength          = 255
	MaxNameLength        = 1024
	MaxTags              = 50
	MaxTagLength         = 255
	MaxAssetsPerCreative = 50
)

var (
	idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{16,255}$`)
	assetKeyPattern       = regexp.MustCompile(`^[a-z0-9_]+$`)
	formatIDPattern       = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// SupportedMajorVersions are the AdCP majors this seller speaks; 2 is
// accepted for the older assignments map shape buyers still send.
var SupportedMajorVersions = []int{2, 3}

// PushConfig is push_notification_config.
type PushConfig struct {
	URL            string    `json:"url"`
	Token          string    `json:"token,omitempty"`
	Authentication *PushAuth `json:"authentication,omitempty"`
}

// PushAuth is the legacy authentication block.
type PushAuth struct {
	Schemes     []string `json:"schemes"`
	Credentials string   `json:"credentials"`
}

// SyncRequest is a decoded sync_creatives request.
type SyncRequest struct {
	MajorVersion   int
	Account        AccountRef
	Creatives      []CreativeInput
	CreativeIDs    []string
	Assignments    []Assignment
	IdempotencyKey string
	DeleteMissing  bool
	DryRun         bool
	Lenient        bool
	Push           *PushConfig
	Context        json.RawMessage
	// Raw is the request as received, for the idempotency hash.
	Raw map[string]json.RawMessage
}

// CreativeInput is one item of creatives[], decoded enough to route it;
// Body keeps every field the buyer sent.
type CreativeInput struct {
	Index      int
	CreativeID string
	Name       string
	FormatID   FormatID
	Assets     map[string]json.RawMessage
	Tags       []string
	Body       map[string]json.RawMessage
	Errors     []Error // structural problems found while decoding
}

// ContextOf extracts the context object from a request body without
// validating anything else, so even a rejected request gets it echoed.
func ContextOf(body []byte) json.RawMessage {
	var m struct {
		Context json.RawMessage `json:"context"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.Context) == 0 || m.Context[0] != '{' {
		return nil
	}
	return m.Context
}

// ParseSyncRequest decodes and checks a sync_creatives body. Problems that
// make the whole request unusable come back as a RequestError; problems of
// a single creative stay on that creative so lenient mode can report them.
func ParseSyncRequest(body []byte) (SyncRequest, error) {
	raw, rerr := decodeObject(body)
	if rerr != nil {
		return SyncRequest{}, rerr
	}
	req := SyncRequest{Raw: raw, MajorVersion: 3}
	var errs []Error
	d := fieldDecoder{raw: raw, errs: &errs}

	if v, ok := raw["adcp_major_version"]; ok {
		var n int
		if json.Unmarshal(v, &n) != nil {
			errs = append(errs, Error{Code: CodeValidation, Field: "adcp_major_version", Message: "adcp_major_version must be an integer"})
		} else if !containsInt(SupportedMajorVersions, n) {
			return req, Reject(http.StatusBadRequest, CodeVersionUnsupported, "adcp_major_version",
				fmt.Sprintf("AdCP major version %d is not supported; supported: 2, 3 (call get_adcp_capabilities)", n))
		} else {
			req.MajorVersion = n
		}
	}
	if v, ok := raw["context"]; ok && !isJSONNull(v) {
		if len(bytes.TrimSpace(v)) == 0 || bytes.TrimSpace(v)[0] != '{' {
			errs = append(errs, Error{Code: CodeValidation, Field: "context", Message: "context must be an object"})
		} else {
			req.Context = v
		}
	}

	if !d.str("idempotency_key", &req.IdempotencyKey, true) {
		// reported by str
	} else if !idempotencyKeyPattern.MatchString(req.IdempotencyKey) {
		errs = append(errs, Error{Code: CodeInvalidRequest, Field: "idempotency_key",
			Message: "idempotency_key must be 16-255 characters of A-Z a-z 0-9 _ . : - (use a fresh UUID per request)"})
	}
	if v, ok := raw["account"]; !ok {
		errs = append(errs, Error{Code: CodeInvalidRequest, Field: "account", Message: "account is required: {account_id} or {brand, operator}"})
	} else if err := decodeAccountRef(v, &req.Account); err != nil {
		errs = append(errs, *err)
	}
	d.boolean("delete_missing", &req.DeleteMissing)
	d.boolean("dry_run", &req.DryRun)
	var mode string
	if d.str("validation_mode", &mode, false) {
		switch mode {
		case "", "strict":
		case "lenient":
			req.Lenient = true
		default:
			errs = append(errs, Error{Code: CodeValidation, Field: "validation_mode", Message: `validation_mode must be "strict" or "lenient"`})
		}
	}
	if v, ok := raw["creative_ids"]; ok {
		if json.Unmarshal(v, &req.CreativeIDs) != nil {
			errs = append(errs, Error{Code: CodeValidation, Field: "creative_ids", Message: "creative_ids must be an array of strings"})
		} else if len(req.CreativeIDs) == 0 || len(req.CreativeIDs) > MaxCreativesPerSync {
			errs = append(errs, Error{Code: CodeValidation, Field: "creative_ids", Message: fmt.Sprintf("creative_ids must list 1 to %d ids", MaxCreativesPerSync)})
		}
	}
	if req.DeleteMissing && req.CreativeIDs != nil {
		errs = append(errs, Error{Code: CodeInvalidRequest, Field: "delete_missing",
			Message: "delete_missing applies to the whole library and cannot be combined with creative_ids"})
	}
	if v, ok := raw["push_notification_config"]; ok && !isJSONNull(v) {
		pc, perr := decodePushConfig(v)
		if perr != nil {
			errs = append(errs, *perr)
		} else {
			req.Push = pc
		}
	}
	if v, ok := raw["creatives"]; !ok {
		errs = append(errs, Error{Code: CodeInvalidRequest, Field: "creatives", Message: "creatives is required (1 to 100 creatives)"})
	} else {
		var items []json.RawMessage
		switch {
		case json.Unmarshal(v, &items) != nil:
			errs = append(errs, Error{Code: CodeValidation, Field: "creatives", Message: "creatives must be an array of creative objects"})
		case len(items) == 0:
			errs = append(errs, Error{Code: CodeValidation, Field: "creatives", Message: "creatives must hold at least one creative"})
		case len(items) > MaxCreativesPerSync:
			errs = append(errs, Error{Code: CodeValidation, Field: "creatives",
				Message: fmt.Sprintf("a sync carries at most %d creatives; got %d (split it into several syncs)", MaxCreativesPerSync, len(items))})
		default:
			seen := map[string]int{}
			for i, item := range items {
				ci, err := decodeCreative(i, item)
				if err != nil {
					errs = append(errs, *err)
					continue
				}
				if first, dup := seen[ci.CreativeID]; dup {
					errs = append(errs, Error{Code: CodeValidation, Field: fmt.Sprintf("creatives[%d].creative_id", i),
						Message: fmt.Sprintf("creative_id %q appears twice (also creatives[%d])", ci.CreativeID, first)})
					continue
				}
				seen[ci.CreativeID] = i
				req.Creatives = append(req.Creatives, ci)
			}
		}
	}
	if v, ok := raw["assignments"]; ok && !isJSONNull(v) {
		as, aerrs := decodeAssignments(v, req.MajorVersion)
		errs = append(errs, aerrs...)
		req.Assignments = as
	}
	if len(errs) > 0 {
		return req, rejectAll(http.StatusBadRequest, errs)
	}
	return req, nil
}

func decodeObject(body []byte) (map[string]json.RawMessage, *RequestError) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, Reject(http.StatusBadRequest, CodeInvalidRequest, "", "request body is empty; send a JSON object")
	}
	if !json.Valid(trimmed) {
		var probe any
		err := json.Unmarshal(trimmed, &probe)
		return nil, Reject(http.StatusBadRequest, CodeInvalidRequest, "", "request body is not valid JSON: "+describeSyntax(err))
	}
	if trimmed[0] != '{' {
		return nil, Reject(http.StatusBadRequest, CodeInvalidRequest, "", "request body must be a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return nil, Reject(http.StatusBadRequest, CodeInvalidRequest, "", "request body is not valid JSON: "+err.Error())
	}
	return raw, nil
}

func describeSyntax(err error) string {
	var se *json.SyntaxError
	if asType(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	if err == nil {
		return "unexpected end of input"
	}
	return err.Error()
}

type fieldDecoder struct {
	raw  map[string]json.RawMessage
	errs *[]Error
}

func (d fieldDecoder) str(name string, dst *string, required bool) bool {
	v, ok := d.raw[name]
	if !ok || isJSONNull(v) {
		if required {
			*d.errs = append(*d.errs, Error{Code: CodeInvalidRequest, Field: name, Message: name + " is required"})
			return false
		}
		return true
	}
	if json.Unmarshal(v, dst) != nil {
		*d.errs = append(*d.errs, Error{Code: CodeValidation, Field: name, Message: name + " must be a string"})
		return false
	}
	return true
}

func (d fieldDecoder) boolean(name string, dst *bool) {
	v, ok := d.raw[name]
	if !ok || isJSONNull(v) {
		return
	}
	if json.Unmarshal(v, dst) != nil {
		*d.errs = append(*d.errs, Error{Code: CodeValidation, Field: name, Message: name + " must be true or false"})
	}
}

func isJSONNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func containsInt(xs []int, n int) bool {
	for _, x := range xs {
		if x == n {
			return true
		}
	}
	return false
}

func decodeAccountRef(v json.RawMessage, dst *AccountRef) *Error {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return &Error{Code: CodeValidation, Field: "account", Message: "account must be an object: {account_id} or {brand, operator}"}
	}
	if id, ok := m["account_id"]; ok {
		if json.Unmarshal(id, &dst.AccountID) != nil || dst.AccountID == "" {
			return &Error{Code: CodeValidation, Field: "account.account_id", Message: "account_id must be a non-empty string"}
		}
		if len(m) > 1 {
			return &Error{Code: CodeValidation, Field: "account", Message: "account takes either account_id or the brand + operator natural key, not both"}
		}
		return nil
	}
	brand, hasBrand := m["brand"]
	op, hasOp := m["operator"]
	if !hasBrand || !hasOp {
		return &Error{Code: CodeValidation, Field: "account", Message: "account needs account_id, or brand and operator"}
	}
	dst.Brand = brand
	if json.Unmarshal(op, &dst.Operator) != nil || dst.Operator == "" {
		return &Error{Code: CodeValidation, Field: "account.operator", Message: "operator must be a domain string"}
	}
	if BrandDomain(brand) == "" {
		return &Error{Code: CodeValidation, Field: "account.brand", Message: "brand must be {domain} (a brand reference)"}
	}
	if sb, ok := m["sandbox"]; ok {
		var b bool
		if json.Unmarshal(sb, &b) != nil {
			return &Error{Code: CodeValidation, Field: "account.sandbox", Message: "sandbox must be true or false"}
		}
		dst.Sandbox = &b
	}
	return nil
}

// BrandDomain returns the domain of a brand reference ({"domain": …}).
func BrandDomain(brand json.RawMessage) string {
	var b struct {
		Domain string `json:"domain"`
	}
	if json.Unmarshal(brand, &b) != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(b.Domain))
}

func decodePushConfig(v json.RawMessage) (*PushConfig, *Error) {
	var pc PushConfig
	if err := json.Unmarshal(v, &pc); err != nil {
		return nil, &Error{Code: CodeValidation, Field: "push_notification_config", Message: "push_notification_config must be {url, token?, authentication?}"}
	}
	u, err := url.Parse(pc.URL)
	if pc.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &Error{Code: CodeValidation, Field: "push_notification_config.url", Message: "push_notification_config.url must be an absolute https URL"}
	}
	if pc.Token != "" && len(pc.Token) < 16 {
		return nil, &Error{Code: CodeValidation, Field: "push_notification_config.token", Message: "token must be at least 16 characters"}
	}
	if a := pc.Authentication; a != nil {
		if len(a.Schemes) != 1 || (a.Schemes[0] != "Bearer" && a.Schemes[0] != "HMAC-SHA256") {
			return nil, &Error{Code: CodeValidation, Field: "push_notification_config.authentication.schemes", Message: `schemes must be exactly one of ["Bearer"] or ["HMAC-SHA256"]`}
		}
		if len(a.Credentials) < 32 {
			return nil, &Error{Code: CodeValidation, Field: "push_notification_config.authentication.credentials", Message: "credentials must be at least 32 characters"}
		}
	}
	return &pc, nil
}

// deliveryOnlyFields belong to inline uploads in media buys and are not part
// of the library entry (see creative-asset.json).
var deliveryOnlyFields = []string{"weight", "placement_ids"}

func decodeCreative(i int, item json.RawMessage) (CreativeInput, *Error) {
	path := fmt.Sprintf("creatives[%d]", i)
	var body map[string]json.RawMessage
	if json.Unmarshal(item, &body) != nil {
		return CreativeInput{}, &Error{Code: CodeValidation, Field: path, Message: "each creative must be an object"}
	}
	ci := CreativeInput{Index: i, Body: body}
	if v, ok := body["creative_id"]; !ok || json.Unmarshal(v, &ci.CreativeID) != nil || strings.TrimSpace(ci.CreativeID) == "" {
		return ci, &Error{Code: CodeValidation, Field: path + ".creative_id", Message: "creative_id is required and must be a non-empty string"}
	}
	if len(ci.CreativeID) > MaxIDLength {
		return ci, &Error{Code: CodeValidation, Field: path + ".creative_id", Message: fmt.Sprintf("creative_id is longer than %d characters", MaxIDLength)}
	}
	for _, f := range deliveryOnlyFields {
		delete(body, f)
	}
	bad := func(field, msg string) {
		ci.Errors = append(ci.Errors, Error{Code: CodeValidation, Field: path + field, Message: msg})
	}
	if v, ok := body["name"]; !ok {
		bad(".name", "name is required")
	} else if json.Unmarshal(v, &ci.Name) != nil || strings.TrimSpace(ci.Name) == "" {
		bad(".name", "name must be a non-empty string")
	} else if len(ci.Name) > MaxNameLength {
		bad(".name", fmt.Sprintf("name is longer than %d characters", MaxNameLength))
	}
	if v, ok := body["format_id"]; !ok {
		bad(".format_id", "format_id is required: {agent_url, id}")
	} else if trimmed := bytes.TrimSpace(v); len(trimmed) > 0 && trimmed[0] == '"' {
		bad(".format_id", "format_id must be an object {agent_url, id}, not a string")
	} else if json.Unmarshal(v, &ci.FormatID) != nil {
		bad(".format_id", "format_id must be an object {agent_url, id, width?, height?, duration_ms?} with integer dimensions")
	} else if ci.FormatID.AgentURL == "" || ci.FormatID.ID == "" {
		bad(".format_id", "format_id needs both agent_url and id")
	} else if !formatIDPattern.MatchString(ci.FormatID.ID) {
		bad(".format_id.id", "format id may only contain letters, digits, _ and -")
	} else if (ci.FormatID.Width == 0) != (ci.FormatID.Height == 0) {
		bad(".format_id", "format_id width and height must be given together")
	}
	if v, ok := body["assets"]; !ok {
		bad(".assets", "assets is required: an object keyed by asset_id")
	} else if json.Unmarshal(v, &ci.Assets) != nil {
		bad(".assets", "assets must be an object keyed by asset_id")
	} else {
		if len(ci.Assets) > MaxAssetsPerCreative {
			bad(".assets", fmt.Sprintf("a creative has at most %d assets", MaxAssetsPerCreative))
		}
		for k := range ci.Assets {
			if !assetKeyPattern.MatchString(k) {
				bad(".assets."+k, "asset ids may only contain a-z, 0-9 and _")
			}
		}
	}
	if v, ok := body["tags"]; ok && !isJSONNull(v) {
		if json.Unmarshal(v, &ci.Tags) != nil {
			bad(".tags", "tags must be an array of strings")
		} else if len(ci.Tags) > MaxTags {
			bad(".tags", fmt.Sprintf("at most %d tags", MaxTags))
		} else {
			for _, t := range ci.Tags {
				if len(t) > MaxTagLength {
					bad(".tags", fmt.Sprintf("a tag is longer than %d characters", MaxTagLength))
					break
				}
			}
		}
	}
	if v, ok := body["provenance"]; ok && !isJSONNull(v) {
		var p map[string]json.RawMessage
		if json.Unmarshal(v, &p) != nil {
			bad(".provenance", "provenance must be an object")
		}
	}
	if v, ok := body["status"]; ok && !isJSONNull(v) {
		var s string
		if json.Unmarshal(v, &s) != nil || (s != StatusApproved && s != StatusRejected && s != StatusArchived && s != StatusProcessing && s != StatusPendingReview) {
			bad(".status", "status must be a creative status (approved, rejected, archived, processing, pending_review)")
		}
	}
	return ci, nil
}

func decodeAssignments(v json.RawMessage, major int) ([]Assignment, []Error) {
	trimmed := bytes.TrimSpace(v)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if major != 2 {
			return nil, []Error{{Code: CodeValidation, Field: "assignments",
				Message: "assignments must be an array of {creative_id, package_id}; the map form is AdCP 2 (send adcp_major_version: 2 to use it)"}}
		}
		var m map[string][]string
		if json.Unmarshal(trimmed, &m) != nil {
			return nil, []Error{{Code: CodeValidation, Field: "assignments", Message: "assignments (AdCP 2) must map creative_id to an array of package ids"}}
		}
		var out []Assignment
		for _, cid := range sortedKeys(m) {
			for _, pid := range m[cid] {
				out = append(out, Assignment{CreativeID: cid, PackageID: pid})
			}
		}
		return out, nil
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(trimmed, &items) != nil || len(items) == 0 {
		return nil, []Error{{Code: CodeValidation, Field: "assignments", Message: "assignments must be a non-empty array of {creative_id, package_id, weight?, placement_ids?}"}}
	}
	var out []Assignment
	var errs []Error
	for i, it := range items {
		path := fmt.Sprintf("assignments[%d]", i)
		var a Assignment
		for k := range it {
			switch k {
			case "creative_id", "package_id", "weight", "placement_ids":
			default:
				errs = append(errs, Error{Code: CodeValidation, Field: path + "." + k, Message: "unknown assignment field " + k})
			}
		}
		if json.Unmarshal(it["creative_id"], &a.CreativeID) != nil || a.CreativeID == "" {
			errs = append(errs, Error{Code: CodeValidation, Field: path + ".creative_id", Message: "creative_id is required"})
		}
		if json.Unmarshal(it["package_id"], &a.PackageID) != nil || a.PackageID == "" {
			errs = append(errs, Error{Code: CodeValidation, Field: path + ".package_id", Message: "package_id is required"})
		}
		if w, ok := it["weight"]; ok {
			var f float64
			if json.Unmarshal(w, &f) != nil || f < 0 || f > 100 {
				errs = append(errs, Error{Code: CodeValidation, Field: path + ".weight", Message: "weight must be a number from 0 to 100"})
			} else {
				a.Weight = &f
			}
		}
		if p, ok := it["placement_ids"]; ok {
			if json.Unmarshal(p, &a.PlacementIDs) != nil || len(a.PlacementIDs) == 0 {
				errs = append(errs, Error{Code: CodeValidation, Field: path + ".placement_ids", Message: "placement_ids must be a non-empty array of strings"})
			}
		}
		out = append(out, a)
	}
	return out, errs
}
