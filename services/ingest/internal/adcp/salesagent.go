package adcp

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

// This file is the sales-agent dialect: POST /api/v1/media-buys/{id}/creatives
// as the sales agent's own documentation defines it (a copy is in
// testdata/salesagent/SOURCE.md). It differs from AdCP 3 in four places:
// the media buy names the account; assignments map media buy ids to
// creative ids; creative_ids is the set delete_missing keeps; and assets are
// one flat payload per creative ({url, width, height} for display,
// {vast_url, duration_seconds, resolution} for video) that the format's
// asset slots give a meaning to. It answers {created, updated, deleted,
// results[{creative_id, status, errors}]} and its errors carry that API's
// statuses (400 validation, 404 unknown format or media buy).

// salesAgentRefused are AdCP fields that have no meaning on this route;
// each gets a precise error rather than being silently dropped.
var salesAgentRefused = map[string]string{
	"account":                  "this route syncs into the media buy's account; leave account out",
	"adcp_major_version":       "this route speaks the sales-agent API, not an AdCP version; send AdCP requests to POST /api/v1/creatives/sync or MCP sync_creatives",
	"push_notification_config": "this route answers synchronously and sends no webhooks; use POST /api/v1/creatives/sync for push notifications",
}

// Bounds of the sales-agent fields AdCP 3 does not have: the set
// delete_missing keeps is a whole library's ids, and each media buy in the
// assignments map is looked up.
const (
	maxKeepIDs      = 10000
	maxAssignedBuys = 100
)

// DecodeSalesAgentSync decodes the sales-agent route's body.
func DecodeSalesAgentSync(mediaBuyID string, body []byte) (creative.MediaBuySync, error) {
	raw, err := Object(body)
	if err != nil {
		return creative.MediaBuySync{}, err
	}
	d := &fields{raw: raw}
	for _, k := range sortedKeys(salesAgentRefused) {
		if _, ok := d.has(k); ok {
			d.bad(creative.CodeInvalidRequest, k, salesAgentRefused[k])
		}
	}
	if err := d.err(); err != nil {
		return creative.MediaBuySync{}, err
	}
	cmd, err := decodeSync(raw, salesAgent)
	out := creative.MediaBuySync{MediaBuyID: mediaBuyID, Sync: cmd}
	if err != nil {
		return out, err
	}
	if _, ok := d.has("creative_ids"); ok {
		d.strings("creative_ids", &out.Sync.KeepIDs)
		if len(out.Sync.KeepIDs) > maxKeepIDs {
			d.bad(creative.CodeValidation, "creative_ids", fmt.Sprintf("creative_ids lists at most %d ids", maxKeepIDs))
		}
		for _, id := range out.Sync.KeepIDs {
			if id == "" || len(id) > creative.MaxIDLength {
				d.bad(creative.CodeValidation, "creative_ids", fmt.Sprintf("each creative id is 1 to %d characters", creative.MaxIDLength))
				break
			}
		}
		if !cmd.DeleteMissing {
			d.bad(creative.CodeInvalidRequest, "creative_ids",
				"creative_ids is the set delete_missing keeps; send it with delete_missing: true, or leave it out")
		}
	}
	inSync := map[string]bool{}
	for _, in := range cmd.Creatives {
		inSync[in.CreativeID] = true
	}
	if v, ok := d.has("assignments"); ok {
		if json.Unmarshal(v, &out.Assign) != nil {
			d.bad(creative.CodeValidation, "assignments", "assignments must map media buy ids to arrays of creative ids")
		} else if len(out.Assign) > maxAssignedBuys {
			// Each media buy is one lookup.
			d.bad(creative.CodeValidation, "assignments", fmt.Sprintf("assignments names at most %d media buys", maxAssignedBuys))
		}
		for _, mb := range sortedKeys(out.Assign) {
			if mb == "" {
				d.bad(creative.CodeValidation, "assignments", "a media buy id in assignments is empty")
			}
			for _, cid := range out.Assign[mb] {
				if !inSync[cid] {
					d.bad(creative.CodeValidation, "assignments."+mb,
						fmt.Sprintf("creative %q is not in this request's creatives; assign creatives in the request that syncs them", cid))
				}
			}
		}
	}
	for i := range out.Sync.Creatives {
		in := &out.Sync.Creatives[i]
		if len(in.Errors) > 0 {
			continue
		}
		flat, errs := decodeFlatAssets(fmt.Sprintf("creatives[%d].assets", in.Index), in.Assets)
		if len(errs) > 0 {
			in.Errors = errs
			continue
		}
		in.AssetsFor = flat.assetsFor(fmt.Sprintf("creatives[%d].assets", in.Index))
	}
	if err := d.err(); err != nil {
		return out, err
	}
	return out, nil
}

// flatAssets is the sales-agent asset payload. Numbers are float64 so a
// fractional or negative value is named instead of failing to decode.
type flatAssets struct {
	URL             *string  `json:"url"`
	Width           *float64 `json:"width"`
	Height          *float64 `json:"height"`
	VastURL         *string  `json:"vast_url"`
	VastXML         *string  `json:"vast_xml"`
	VideoURL        *string  `json:"video_url"`
	AudioURL        *string  `json:"audio_url"`
	DurationSeconds *float64 `json:"duration_seconds"`
	Resolution      *string  `json:"resolution"`
	HTML            *string  `json:"html"`
	ClickURL        *string  `json:"click_url"`
	// Text fills the format's text slot of the same asset id (native
	// formats: headline, body, sponsor).
	Text map[string]string `json:"-"`
}

// flatFields are the payload's keys besides text slots.
var flatFields = []string{"url", "width", "height", "vast_url", "vast_xml", "video_url", "audio_url",
	"duration_seconds", "resolution", "html", "click_url"}

// flatTextFields are the text slots of the standard formats a flat payload
// may fill by name.
var flatTextFields = []string{"headline", "body", "sponsor"}

var resolutionPattern = regexp.MustCompile(`^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$`)

func decodeFlatAssets(path string, m map[string]json.RawMessage) (flatAssets, []Error) {
	var f flatAssets
	var errs []Error
	bad := func(field, msg string) {
		errs = append(errs, Error{Code: creative.CodeValidation, Field: path + field, Message: msg})
	}
	known := map[string]json.RawMessage{}
	for _, k := range sortedKeys(m) {
		switch {
		case slices.Contains(flatFields, k):
			known[k] = m[k]
		case slices.Contains(flatTextFields, k):
			var s string
			if json.Unmarshal(m[k], &s) != nil {
				bad("."+k, k+" must be a string")
				continue
			}
			if f.Text == nil {
				f.Text = map[string]string{}
			}
			f.Text[k] = s
		default:
			bad("."+k, fmt.Sprintf("%s is not a field of the asset payload; this route takes %s", k,
				strings.Join(slices.Concat(flatFields, flatTextFields), ", ")))
		}
	}
	if len(errs) > 0 {
		return f, errs
	}
	b, err := json.Marshal(known)
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		return f, []Error{{Code: creative.CodeValidation, Field: path, Message: "asset payload has a field of the wrong type: " + jsonTypeProblem(err)}}
	}
	if f.Resolution != nil && !resolutionPattern.MatchString(*f.Resolution) {
		bad(".resolution", `resolution must be "<width>x<height>", e.g. "1920x1080"`)
	}
	if f.DurationSeconds != nil && (*f.DurationSeconds <= 0 || *f.DurationSeconds > 24*3600) {
		bad(".duration_seconds", "duration_seconds must be a positive number of seconds")
	}
	if (f.Width != nil || f.Height != nil) && f.URL == nil {
		bad(".width", "width and height describe url; send url with them")
	}
	if f.VastURL != nil && f.VastXML != nil {
		bad(".vast_xml", "send vast_url or vast_xml, not both")
	}
	n := 0
	for _, p := range []*string{f.URL, f.VastURL, f.VastXML, f.VideoURL, f.AudioURL, f.HTML} {
		if p != nil {
			n++
		}
	}
	if n == 0 && len(f.Text) == 0 {
		bad("", "the asset payload is empty; send url (with width and height for display), vast_url, video_url, audio_url or html")
	}
	return f, errs
}

func jsonTypeProblem(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("%s must be %s, got %s", te.Field, te.Type.String(), te.Value)
	}
	return err.Error()
}

// assetsFor returns the mapping of the payload onto a format's slots: each
// value goes to the slot of the asset type it is (a VAST tag to the vast
// slot, a video file to the video slot), url to the format's primary media
// slot (its first image, video or audio slot: the banner of a display
// format). A value the format has no slot for is an error naming the slots
// it has, never dropped.
func (f flatAssets) assetsFor(path string) func(creative.Format) (map[string]json.RawMessage, []Error) {
	return func(ft creative.Format) (map[string]json.RawMessage, []Error) {
		out := map[string]json.RawMessage{}
		var errs []Error
		slots := ft.Slots()
		slotOf := func(types ...string) (creative.FormatAsset, bool) {
			for _, s := range slots {
				if slices.Contains(types, s.AssetType) {
					return s, true
				}
			}
			return creative.FormatAsset{}, false
		}
		put := func(field string, types []string, v map[string]any) {
			s, ok := slotOf(types...)
			if !ok {
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + "." + field,
					Message: fmt.Sprintf("format %s has no %s asset for %s; its assets are %s", ft.ID, strings.Join(types, " or "), field, describeSlots(slots))})
				return
			}
			if _, taken := out[s.AssetID]; taken {
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + "." + field,
					Message: fmt.Sprintf("%s and another field both fill asset %q of format %s; send one", field, s.AssetID, ft.ID)})
				return
			}
			v["asset_type"] = s.AssetType
			b, err := json.Marshal(v)
			if err != nil { // maps of strings and numbers always encode
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + "." + field, Message: err.Error()})
				return
			}
			out[s.AssetID] = b
		}
		media := func(v map[string]any) map[string]any {
			if f.DurationSeconds != nil {
				v["duration_ms"] = int(*f.DurationSeconds*1000 + 0.5)
			}
			if f.Resolution != nil {
				m := resolutionPattern.FindStringSubmatch(*f.Resolution)
				v["width"], v["height"] = atoi(m[1]), atoi(m[2])
			}
			return v
		}
		if f.URL != nil {
			v := map[string]any{"url": *f.URL}
			if f.Width != nil {
				v["width"] = *f.Width
			}
			if f.Height != nil {
				v["height"] = *f.Height
			}
			s, ok := slotOf("image", "video", "audio")
			switch {
			case !ok:
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + ".url",
					Message: fmt.Sprintf("format %s has no image, video or audio asset for url; its assets are %s", ft.ID, describeSlots(slots))})
			case s.AssetType == "image":
				put("url", []string{"image"}, v)
			default:
				put("url", []string{s.AssetType}, media(v))
			}
		}
		if f.VastURL != nil {
			put("vast_url", []string{"vast"}, media(map[string]any{"delivery_type": "url", "url": *f.VastURL}))
		}
		if f.VastXML != nil {
			put("vast_xml", []string{"vast"}, media(map[string]any{"delivery_type": "inline", "content": *f.VastXML}))
		}
		if f.VideoURL != nil {
			put("video_url", []string{"video"}, media(map[string]any{"url": *f.VideoURL}))
		}
		if f.AudioURL != nil {
			put("audio_url", []string{"audio"}, media(map[string]any{"url": *f.AudioURL}))
		}
		if f.HTML != nil {
			put("html", []string{"html"}, map[string]any{"content": *f.HTML})
		}
		if f.ClickURL != nil {
			put("click_url", []string{"url"}, map[string]any{"url": *f.ClickURL})
		}
		for _, k := range sortedKeys(f.Text) {
			s, ok := ft.Slot(k)
			if !ok || s.AssetType != "text" {
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + "." + k,
					Message: fmt.Sprintf("format %s has no text asset %q; its assets are %s", ft.ID, k, describeSlots(slots))})
				continue
			}
			b, err := json.Marshal(map[string]string{"asset_type": "text", "content": f.Text[k]})
			if err != nil { // a map of strings always encodes
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + "." + k, Message: err.Error()})
				continue
			}
			out[k] = b
		}
		if (f.DurationSeconds != nil || f.Resolution != nil) && f.VastURL == nil && f.VastXML == nil && f.VideoURL == nil && f.AudioURL == nil {
			if s, ok := slotOf("image", "video", "audio"); f.URL == nil || !ok || s.AssetType == "image" {
				errs = append(errs, Error{Code: creative.CodeValidation, Field: path + ".duration_seconds",
					Message: "duration_seconds and resolution describe a video or audio asset; send vast_url, video_url or audio_url with them"})
			}
		}
		return out, errs
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func describeSlots(slots []creative.FormatAsset) string {
	parts := make([]string, len(slots))
	for i, s := range slots {
		parts[i] = s.AssetID + " (" + s.AssetType + ")"
	}
	return strings.Join(parts, ", ")
}

// SalesAgentResult is one item of the sales-agent response.
type SalesAgentResult struct {
	CreativeID string  `json:"creative_id"`
	Status     string  `json:"status"`
	Errors     []Error `json:"errors"`
}

// SalesAgentResponse is POST /api/v1/media-buys/{id}/creatives' answer.
type SalesAgentResponse struct {
	Created int                `json:"created"`
	Updated int                `json:"updated"`
	Deleted int                `json:"deleted"`
	DryRun  bool               `json:"dry_run,omitempty"`
	Results []SalesAgentResult `json:"results"`
}

// SalesAgent renders a sync result in the sales-agent shape. Statuses
// follow that API's lifecycle (processing → pending_review → approved, or
// rejected): a revision just stored is "processing" (review has it; in the
// library it is pending_review until review decides), an unchanged
// creative keeps its library status, a creative the sync refused is
// "rejected" with the reasons in errors, and one delete_missing archived is
// "archived". The request's status field is ignored: review decides every
// creative's status.
func SalesAgent(resp creative.SyncResponse) SalesAgentResponse {
	out := SalesAgentResponse{DryRun: resp.DryRun, Results: []SalesAgentResult{}}
	if resp.Creatives == nil {
		return out
	}
	for _, c := range *resp.Creatives {
		res := SalesAgentResult{CreativeID: c.CreativeID, Status: c.Status, Errors: salesAgentErrors(c.Errors)}
		for _, pkg := range sortedKeys(c.AssignmentErrors) {
			res.Errors = append(res.Errors, Error{Code: creative.CodePackageNotFound, Field: "package_id",
				Message: pkg + ": " + c.AssignmentErrors[pkg], Recovery: creative.RecoveryOf(creative.CodePackageNotFound)})
		}
		switch c.Action {
		case creative.ActionCreated:
			out.Created++
			res.Status = creative.StatusProcessing
		case creative.ActionUpdated:
			out.Updated++
			res.Status = creative.StatusProcessing
		case creative.ActionDeleted:
			out.Deleted++
			res.Status = creative.StatusArchived
		case creative.ActionFailed:
			res.Status = creative.StatusRejected
		}
		out.Results = append(out.Results, res)
	}
	return out
}

// salesAgentErrors translates the domain's codes into this API's: a format
// unknown at its agent, or an agent this seller does not trust, is "not
// found" (404), which the domain reports as AdCP 3's UNSUPPORTED_FEATURE.
func salesAgentErrors(errs []Error) []Error {
	out := make([]Error, 0, len(errs))
	for _, e := range errs {
		if e.Code == creative.CodeUnsupportedFeature && strings.Contains(e.Field, ".format_id") {
			e.Code = creative.CodeReferenceNotFound
		}
		out = append(out, e)
	}
	return out
}
