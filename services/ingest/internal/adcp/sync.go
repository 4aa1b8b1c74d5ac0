package adcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

var (
	idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{16,255}$`)
	assetKeyPattern       = regexp.MustCompile(`^[a-z0-9_]+$`)
	formatIDPattern       = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// hashExclusions are the request fields AdCP leaves out of the idempotency
// payload hash.
var hashExclusions = []string{"idempotency_key", "context", "governance_context"}

// requestHash is the SHA-256 of the RFC 8785 canonical form of the request
// minus the excluded fields; push credentials are left out too, so a buyer
// rotating a secret between retries is not told its retry is a conflict.
func requestHash(raw map[string]json.RawMessage, push *creative.PushConfig) (string, error) {
	m := make(map[string]any, len(raw))
	for k, v := range raw {
		if !slices.Contains(hashExclusions, k) {
			m[k] = v
		}
	}
	if push != nil {
		pc := *push
		if pc.Authentication != nil {
			a := *pc.Authentication
			a.Credentials = ""
			pc.Authentication = &a
		}
		m["push_notification_config"] = pc
	}
	return creative.CanonicalHash(m)
}

// DecodeSync decodes and checks a sync_creatives body in the AdCP dialect
// its adcp_major_version names (3 when absent: the seller assumes its
// highest major). Problems that make the whole request unusable come back
// as a RequestError; problems of a single creative stay on that creative so
// lenient mode can report them. cmd.MajorVersion is set whenever the
// version could be read, even on error, so the error is rendered in the
// buyer's dialect.
func DecodeSync(body []byte) (creative.SyncCommand, error) {
	raw, err := Object(body)
	if err != nil {
		return creative.SyncCommand{MajorVersion: 3}, err
	}
	return decodeSync(raw, adcp)
}

// dialect is the request shape being decoded. The route and
// adcp_major_version decide it, never the shape of the fields.
type dialect int

const (
	adcp       dialect = iota // AdCP 3 or 2 (adcp_major_version) on the AdCP routes
	salesAgent                // POST /api/v1/media-buys/{id}/creatives
)

func decodeSync(raw map[string]json.RawMessage, dl dialect) (creative.SyncCommand, error) {
	d := &fields{raw: raw}
	cmd := creative.SyncCommand{MajorVersion: 3}
	if dl == adcp {
		major, verr := d.majorVersion()
		if verr != nil {
			return cmd, verr
		}
		cmd.MajorVersion = major
	}
	// AdCP 3 requires an idempotency key and an account. AdCP 2 has
	// neither (a key sent is still honoured with replay semantics; without
	// an account the credentials' one account is meant), and on the
	// sales-agent route the media buy names the account.
	v3 := dl == adcp && cmd.MajorVersion >= 3
	cmd.Context = d.context()
	if d.str("idempotency_key", &cmd.IdempotencyKey, v3) && cmd.IdempotencyKey != "" &&
		!idempotencyKeyPattern.MatchString(cmd.IdempotencyKey) {
		d.bad(creative.CodeInvalidRequest, "idempotency_key",
			"idempotency_key must be 16-255 characters of A-Z a-z 0-9 _ . : - (use a fresh UUID per request)")
	}
	if dl == adcp {
		if v, ok := d.has("account"); !ok {
			if v3 {
				d.bad(creative.CodeInvalidRequest, "account", "account is required: {account_id} or {brand, operator}")
			}
		} else if ref, e := DecodeAccountRef(v, "account"); e != nil {
			d.errs = append(d.errs, *e)
		} else {
			cmd.Account = ref
		}
	}
	d.boolean("delete_missing", &cmd.DeleteMissing)
	d.boolean("dry_run", &cmd.DryRun)
	var mode string
	if d.str("validation_mode", &mode, false) {
		switch mode {
		case "", "strict":
		case "lenient":
			cmd.Lenient = true
		default:
			d.bad(creative.CodeValidation, "validation_mode", `validation_mode must be "strict" or "lenient"`)
		}
	}
	if _, ok := d.has("creative_ids"); ok && dl == adcp {
		d.strings("creative_ids", &cmd.CreativeIDs)
		if len(cmd.CreativeIDs) == 0 || len(cmd.CreativeIDs) > creative.MaxCreativesPerSync {
			d.bad(creative.CodeValidation, "creative_ids", fmt.Sprintf("creative_ids must list 1 to %d ids", creative.MaxCreativesPerSync))
		}
		if cmd.DeleteMissing {
			d.bad(creative.CodeInvalidRequest, "delete_missing",
				"delete_missing applies to the whole library and cannot be combined with creative_ids")
		}
	}
	if v, ok := d.has("push_notification_config"); ok {
		pc, perr := decodePushConfig(v)
		if perr != nil {
			d.errs = append(d.errs, *perr)
		} else {
			cmd.Push = pc
		}
	}
	if v, ok := raw["creatives"]; ok && (dl == adcp || !isNull(v)) {
		cmd.Creatives = decodeCreatives(d, v)
	} else if dl == adcp {
		d.bad(creative.CodeInvalidRequest, "creatives", fmt.Sprintf("creatives is required (1 to %d creatives)", creative.MaxCreativesPerSync))
	}
	// The sales-agent route's creative_ids and assignments mean other
	// things; DecodeSalesAgentSync reads them.
	if v, ok := d.has("assignments"); ok && dl == adcp {
		as, aerrs := decodeAssignments(v, cmd.MajorVersion)
		d.errs = append(d.errs, aerrs...)
		cmd.Assignments = as
	}
	if err := d.err(); err != nil {
		return cmd, err
	}
	if cmd.IdempotencyKey != "" {
		h, err := requestHash(raw, cmd.Push)
		if err != nil {
			return cmd, invalid(creative.CodeInvalidRequest, "", "request cannot be canonicalised for idempotency: "+err.Error())
		}
		cmd.RequestHash = h
	}
	return cmd, nil
}

func decodeCreatives(d *fields, v json.RawMessage) []creative.Input {
	// Decoding straight into maps scans the creatives once; the slower
	// element-by-element path runs only to name a creative that is not an
	// object.
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		var raws []json.RawMessage
		if json.Unmarshal(v, &raws) != nil {
			d.bad(creative.CodeValidation, "creatives", "creatives must be an array of creative objects")
			return nil
		}
		for i, r := range raws {
			if t := bytes.TrimSpace(r); len(t) == 0 || t[0] != '{' {
				d.bad(creative.CodeValidation, fmt.Sprintf("creatives[%d]", i), "each creative must be an object")
			}
		}
		return nil
	}
	switch {
	case len(items) == 0:
		d.bad(creative.CodeValidation, "creatives", "creatives must hold at least one creative")
		return nil
	case len(items) > creative.MaxCreativesPerSync:
		d.bad(creative.CodeValidation, "creatives",
			fmt.Sprintf("a sync carries at most %d creatives; got %d (split it into several syncs)", creative.MaxCreativesPerSync, len(items)))
		return nil
	}
	out := make([]creative.Input, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, item := range items {
		in, err := decodeCreative(i, item)
		if err != nil {
			d.errs = append(d.errs, *err)
			continue
		}
		if first, dup := seen[in.CreativeID]; dup {
			d.bad(creative.CodeValidation, fmt.Sprintf("creatives[%d].creative_id", i),
				fmt.Sprintf("creative_id %q appears twice (also creatives[%d])", in.CreativeID, first))
			continue
		}
		seen[in.CreativeID] = i
		out = append(out, in)
	}
	return out
}

func decodePushConfig(v json.RawMessage) (*creative.PushConfig, *Error) {
	var pc creative.PushConfig
	if err := json.Unmarshal(v, &pc); err != nil {
		return nil, &Error{Code: creative.CodeValidation, Field: "push_notification_config", Message: "push_notification_config must be {url, token?, authentication?}"}
	}
	u, err := url.Parse(pc.URL)
	switch {
	case pc.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return nil, &Error{Code: creative.CodeValidation, Field: "push_notification_config.url", Message: "push_notification_config.url must be an absolute https URL"}
	case len(pc.URL) > creative.MaxURLLength:
		return nil, &Error{Code: creative.CodeValidation, Field: "push_notification_config.url", Message: fmt.Sprintf("push_notification_config.url is longer than %d characters", creative.MaxURLLength)}
	case len(pc.Token) > 4096:
		return nil, &Error{Code: creative.CodeValidation, Field: "push_notification_config.token", Message: "token is longer than 4096 characters"}
	}
	if pc.Token != "" && len(pc.Token) < 16 {
		return nil, &Error{Code: creative.CodeValidation, Field: "push_notification_config.token", Message: "token must be at least 16 characters"}
	}
	if a := pc.Authentication; a != nil {
		if len(a.Schemes) != 1 || (a.Schemes[0] != "Bearer" && a.Schemes[0] != "HMAC-SHA256") {
			return nil, &Error{Code: creative.CodeValidation, Field: "push_notification_config.authentication.schemes", Message: `schemes must be exactly one of ["Bearer"] or ["HMAC-SHA256"]`}
		}
		if len(a.Credentials) < 32 || len(a.Credentials) > 4096 {
			return nil, &Error{Code: creative.CodeValidation, Field: "push_notification_config.authentication.credentials", Message: "credentials must be 32 to 4096 characters"}
		}
	}
	return &pc, nil
}

// deliveryOnlyFields belong to inline uploads in media buys and are not part
// of the library entry (see creative-asset.json); sellerOwnedFields are
// ours to set (status), validated but not stored as the buyer's.
var (
	deliveryOnlyFields = []string{"weight", "placement_ids"}
	sellerOwnedFields  = []string{"status"}
)

// objectSize is about how many bytes an object of these members takes.
func objectSize(m map[string]json.RawMessage) int {
	n := 2
	for k, v := range m {
		n += len(k) + len(v) + 4
	}
	return n
}

func decodeCreative(i int, body map[string]json.RawMessage) (creative.Input, *Error) {
	path := fmt.Sprintf("creatives[%d]", i)
	if body == nil {
		return creative.Input{}, &Error{Code: creative.CodeValidation, Field: path, Message: "each creative must be an object"}
	}
	in := creative.Input{Index: i, Body: body}
	if v, ok := body["creative_id"]; !ok || json.Unmarshal(v, &in.CreativeID) != nil || strings.TrimSpace(in.CreativeID) == "" {
		return in, &Error{Code: creative.CodeValidation, Field: path + ".creative_id", Message: "creative_id is required and must be a non-empty string"}
	}
	if len(in.CreativeID) > creative.MaxIDLength {
		return in, &Error{Code: creative.CodeValidation, Field: path + ".creative_id", Message: fmt.Sprintf("creative_id is longer than %d characters", creative.MaxIDLength)}
	}
	bad := func(field, msg string) {
		in.Errors = append(in.Errors, Error{Code: creative.CodeValidation, Field: path + field, Message: msg})
	}
	if n := objectSize(body); n > creative.MaxCreativeBytes {
		bad("", fmt.Sprintf("creative is about %d bytes; at most %d are accepted (host large assets and send their URLs)", n, creative.MaxCreativeBytes))
		return in, nil
	}
	if v, ok := body["status"]; ok && !isNull(v) {
		var s string
		if json.Unmarshal(v, &s) != nil || !creative.ValidStatus(s) {
			bad(".status", "status must be a creative status (approved, rejected, archived, processing, pending_review)")
		}
	}
	for _, f := range slices.Concat(deliveryOnlyFields, sellerOwnedFields) {
		delete(body, f)
	}
	if v, ok := body["name"]; !ok {
		bad(".name", "name is required")
	} else if json.Unmarshal(v, &in.Name) != nil || strings.TrimSpace(in.Name) == "" {
		bad(".name", "name must be a non-empty string")
	} else if len(in.Name) > creative.MaxNameLength {
		bad(".name", fmt.Sprintf("name is longer than %d characters", creative.MaxNameLength))
	}
	if v, ok := body["format_id"]; !ok {
		bad(".format_id", "format_id is required: {agent_url, id}")
	} else if fid, msg, sub := decodeFormatID(v); msg != "" {
		bad(".format_id"+sub, msg)
	} else {
		in.FormatID = fid
	}
	if v, ok := body["assets"]; !ok {
		bad(".assets", "assets is required: an object keyed by asset_id")
	} else if json.Unmarshal(v, &in.Assets) != nil {
		bad(".assets", "assets must be an object keyed by asset_id")
	} else {
		if len(in.Assets) > creative.MaxAssetsPerCreative {
			bad(".assets", fmt.Sprintf("a creative has at most %d assets", creative.MaxAssetsPerCreative))
		}
		for _, k := range sortedKeys(in.Assets) {
			if !assetKeyPattern.MatchString(k) {
				bad(".assets."+k, "asset ids may only contain a-z, 0-9 and _")
			}
		}
	}
	if v, ok := body["tags"]; ok && !isNull(v) {
		if json.Unmarshal(v, &in.Tags) != nil {
			bad(".tags", "tags must be an array of strings")
		} else if len(in.Tags) > creative.MaxTags {
			bad(".tags", fmt.Sprintf("at most %d tags", creative.MaxTags))
		} else {
			for _, t := range in.Tags {
				if len(t) > creative.MaxTagLength {
					bad(".tags", fmt.Sprintf("a tag is longer than %d characters", creative.MaxTagLength))
					break
				}
			}
		}
	}
	if v, ok := body["provenance"]; ok && !isNull(v) {
		var p map[string]json.RawMessage
		if json.Unmarshal(v, &p) != nil {
			bad(".provenance", "provenance must be an object")
		}
	}
	if len(in.Errors) == 0 {
		h, err := creative.CanonicalHash(body)
		if err != nil {
			bad("", "creative cannot be canonicalised: "+err.Error())
		}
		in.ContentHash = h
	}
	return in, nil
}

// decodeFormatID reads a format_id object; msg is empty when it is usable,
// sub is the sub-field a problem is about.
func decodeFormatID(v json.RawMessage) (fid creative.FormatID, msg, sub string) {
	if trimmed := bytes.TrimSpace(v); len(trimmed) > 0 && trimmed[0] == '"' {
		return fid, "format_id must be an object {agent_url, id}, not a string", ""
	}
	if json.Unmarshal(v, &fid) != nil {
		return fid, "format_id must be an object {agent_url, id, width?, height?, duration_ms?} with integer dimensions", ""
	}
	switch {
	case fid.AgentURL == "" || fid.ID == "":
		return fid, "format_id needs both agent_url and id", ""
	case len(fid.AgentURL) > creative.MaxURLLength:
		return fid, fmt.Sprintf("agent_url is longer than %d characters", creative.MaxURLLength), ".agent_url"
	case len(fid.ID) > creative.MaxIDLength || !formatIDPattern.MatchString(fid.ID):
		return fid, fmt.Sprintf("format id may only contain letters, digits, _ and - (at most %d)", creative.MaxIDLength), ".id"
	case (fid.Width == 0) != (fid.Height == 0):
		return fid, "format_id width and height must be given together", ""
	}
	return fid, "", ""
}

func decodeAssignments(v json.RawMessage, major int) ([]creative.Assignment, []Error) {
	trimmed := bytes.TrimSpace(v)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if major != 2 {
			return nil, []Error{{Code: creative.CodeValidation, Field: "assignments",
				Message: "assignments must be an array of {creative_id, package_id}; the map form is AdCP 2 (send adcp_major_version: 2 to use it)"}}
		}
		var m map[string][]string
		if json.Unmarshal(trimmed, &m) != nil {
			return nil, []Error{{Code: creative.CodeValidation, Field: "assignments", Message: "assignments (AdCP 2) must map creative_id to an array of package ids"}}
		}
		var out []creative.Assignment
		for _, cid := range sortedKeys(m) {
			for _, pid := range m[cid] {
				out = append(out, creative.Assignment{CreativeID: cid, PackageID: pid})
			}
		}
		if len(out) > creative.MaxAssignments {
			return nil, []Error{{Code: creative.CodeValidation, Field: "assignments", Message: fmt.Sprintf("at most %d assignments per sync", creative.MaxAssignments)}}
		}
		return out, nil
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(trimmed, &items) != nil || len(items) == 0 {
		return nil, []Error{{Code: creative.CodeValidation, Field: "assignments", Message: "assignments must be a non-empty array of {creative_id, package_id, weight?, placement_ids?}"}}
	}
	if len(items) > creative.MaxAssignments {
		return nil, []Error{{Code: creative.CodeValidation, Field: "assignments", Message: fmt.Sprintf("at most %d assignments per sync", creative.MaxAssignments)}}
	}
	var out []creative.Assignment
	var errs []Error
	for i, it := range items {
		path := fmt.Sprintf("assignments[%d]", i)
		var a creative.Assignment
		for _, k := range sortedKeys(it) {
			switch k {
			case "creative_id", "package_id", "weight", "placement_ids":
			default:
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + "." + k, Message: "unknown assignment field " + k})
			}
		}
		if json.Unmarshal(it["creative_id"], &a.CreativeID) != nil || a.CreativeID == "" || len(a.CreativeID) > creative.MaxIDLength {
			errs = append(errs, Error{Code: creative.CodeValidation, Field: path + ".creative_id", Message: "creative_id is required"})
		}
		if json.Unmarshal(it["package_id"], &a.PackageID) != nil || a.PackageID == "" || len(a.PackageID) > creative.MaxIDLength {
			errs = append(errs, Error{Code: creative.CodeValidation, Field: path + ".package_id", Message: "package_id is required"})
		}
		if w, ok := it["weight"]; ok {
			var f float64
			if json.Unmarshal(w, &f) != nil || f < 0 || f > 100 {
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + ".weight", Message: "weight must be a number from 0 to 100"})
			} else {
				a.Weight = &f
			}
		}
		if p, ok := it["placement_ids"]; ok {
			if json.Unmarshal(p, &a.PlacementIDs) != nil || len(a.PlacementIDs) == 0 {
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + ".placement_ids", Message: "placement_ids must be a non-empty array of strings"})
			}
		}
		out = append(out, a)
	}
	return out, errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
