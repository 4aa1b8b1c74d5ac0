package adcp

import (
	"encoding/json"
	"strings"

	"example.com/creativesync/services/ingest/internal/creative"
)

// This file is the AdCP 2 dialect of sync_creatives (adcp_major_version:
// 2 on the AdCP routes). Its request decodes into the same command as 3.0
// (DecodeSync: the assignments map, no idempotency key or account
// required); its answers use the 2.x error codes its documentation names
// (testdata/v2/SOURCE.md) and its async final result reports a rejected
// creative as action "failed" with errors rather than status "rejected".

// AdCP 2 sync_creatives error codes. 3.1.5 renamed them to the canonical
// 3.0 enum codes the domain speaks; v2Code maps them back.
const (
	codeV2InvalidFormat         = "INVALID_FORMAT"
	codeV2FormatMismatch        = "FORMAT_MISMATCH"
	codeV2AssetProcessingFailed = "ASSET_PROCESSING_FAILED"
	codeV2BrandSafetyViolation  = "BRAND_SAFETY_VIOLATION"
	codeV2InActiveDelivery      = "CREATIVE_IN_ACTIVE_DELIVERY"
)

// v2Code is the AdCP 2 code of a domain error. Both VALIDATION_ERROR
// flavours are told apart by the field the domain names: a problem with an
// asset's URL (unusable, carrying credentials) means the asset cannot be
// fetched and processed; any other asset problem is a mismatch with the
// format's requirements.
func v2Code(e Error) string {
	switch {
	case e.Code == creative.CodeUnsupportedFeature && strings.Contains(e.Field, ".format_id"):
		return codeV2InvalidFormat
	case e.Code == creative.CodeValidation && strings.Contains(e.Field, ".assets"):
		if strings.HasSuffix(e.Field, ".url") {
			return codeV2AssetProcessingFailed
		}
		return codeV2FormatMismatch
	case e.Code == creative.CodeInvalidState:
		return codeV2InActiveDelivery
	case e.Code == creative.CodeCreativeRejected:
		return codeV2BrandSafetyViolation
	}
	return e.Code
}

func v2Errors(errs []Error) []Error {
	if errs == nil {
		return nil
	}
	out := make([]Error, len(errs))
	for i, e := range errs {
		e.Code = v2Code(e)
		out[i] = e
	}
	return out
}

// V2ErrorBody is an AdCP 2 operation-level failure: status "failed" and
// the errors, no creatives.
type V2ErrorBody struct {
	Status  string          `json:"status"`
	Errors  []Error         `json:"errors"`
	Context json.RawMessage `json:"context,omitempty"`
}

// v2Response rewrites a sync response's per-creative results for AdCP 2:
// error codes, and in a task's final result (final) a creative review
// rejected is action "failed" with a BRAND_SAFETY_VIOLATION error and no
// platform_id (2.x: "platform_id unless failed"); approved ones keep the
// action the sync took (created for a new creative) and their platform_id.
func v2Response(r creative.SyncResponse, final bool) creative.SyncResponse {
	if r.Creatives == nil {
		return r
	}
	items := make([]creative.SyncResult, len(*r.Creatives))
	for i, c := range *r.Creatives {
		c.Errors = v2Errors(c.Errors)
		if final && c.Status == creative.StatusRejected && (c.Action == creative.ActionCreated || c.Action == creative.ActionUpdated) {
			msg := c.RejectionReason
			if msg == "" {
				msg = "review rejected the creative"
			}
			c.Action, c.PlatformID = creative.ActionFailed, ""
			c.Errors = append(c.Errors, Error{Code: codeV2BrandSafetyViolation, Message: msg, Recovery: "correctable"})
		}
		items[i] = c
	}
	r.Creatives = &items
	return r
}

// EncodeTaskResult writes a completed sync task's result in the shape of
// the AdCP major version that started it (creative.Options.EncodeResult).
func EncodeTaskResult(major int, r creative.SyncResponse) (json.RawMessage, error) {
	if major == 2 {
		r = v2Response(r, true)
	}
	return json.Marshal(r)
}

// V2SyncResponse is an AdCP 2 synchronous answer: each result carries the
// creative's request fields as well as the outcome ("all fields of the
// request", 2.x), the outcome's fields winning where both have one.
type V2SyncResponse struct {
	creative.SyncResponse
	// Creatives shadows the embedded results (encoding/json prefers the
	// shallower field).
	Creatives []map[string]json.RawMessage `json:"creatives,omitempty"`
}

// v2Sync merges each result with its creative's fields as the request sent
// them. A replayed answer is merged with the replaying request, which is
// the same request (its hash matched).
func v2Sync(cmd creative.SyncCommand, r creative.SyncResponse) any {
	if r.Creatives == nil {
		return r
	}
	sent := make(map[string]map[string]json.RawMessage, len(cmd.Creatives))
	for _, in := range cmd.Creatives {
		sent[in.CreativeID] = in.Body
	}
	out := V2SyncResponse{SyncResponse: r, Creatives: make([]map[string]json.RawMessage, 0, len(*r.Creatives))}
	for _, c := range *r.Creatives {
		item, err := toFields(c)
		if err != nil {
			// A SyncResult is strings, slices and maps of them: it
			// always encodes. Should it not, the outcome alone is sent.
			return r
		}
		for k, v := range sent[c.CreativeID] {
			if _, ours := item[k]; !ours {
				item[k] = v
			}
		}
		out.Creatives = append(out.Creatives, item)
	}
	return out
}

func toFields(v any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(b, &m)
}
