package main

import (
	"encoding/json"
	"strconv"
)

// syncRequest is the body of one sync_creatives call, the same over REST and
// MCP: n new creatives that review approves on its own (https assets, a
// known format, provenance without AI), and a push_notification_config so
// ingest answers "submitted" and reports the outcome by webhook.
func syncRequest(id, account, agentURL, webhookURL string, n int) json.RawMessage {
	b := make([]byte, 0, 256+n*420)
	b = append(b, `{"idempotency_key":`...)
	b = strconv.AppendQuote(b, idempotencyKey(id))
	b = append(b, `,"account":{"account_id":`...)
	b = strconv.AppendQuote(b, account)
	b = append(b, `},"creatives":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		cid := id + "-" + strconv.Itoa(i)
		// Built by appending rather than json.Marshal: at 100 creatives a
		// call the generator shares two cores with the whole pipeline, and
		// the bytes are the same either way.
		b = append(b, `{"creative_id":`...)
		b = strconv.AppendQuote(b, cid)
		b = append(b, `,"name":`...)
		b = strconv.AppendQuote(b, "Load banner "+cid)
		b = append(b, `,"format_id":{"agent_url":`...)
		b = strconv.AppendQuote(b, agentURL)
		b = append(b, `,"id":"display_300x250"},"assets":{"image":{"asset_type":"image","url":`...)
		b = strconv.AppendQuote(b, "https://cdn.example.com/load/"+cid+".png")
		b = append(b, `,"width":300,"height":250},"click_url":{"asset_type":"url","url":"https://brand.example.com/"}},`...)
		b = append(b, `"provenance":{"digital_source_type":"digital_creation"}}`...)
	}
	b = append(b, `],"push_notification_config":{"url":`...)
	b = strconv.AppendQuote(b, webhookURL)
	b = append(b, `,"token":"load-webhook-token-0123456789"},"context":{"correlation_id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `}}`...)
	return b
}

// idempotencyKey is unique per call (id is) and as long as AdCP's pattern
// asks (16-255 characters).
func idempotencyKey(id string) string {
	k := "load-sync-" + id
	for len(k) < 16 {
		k += "0"
	}
	return k
}

// useMCP reports whether call number k (from 0) goes over MCP when a share
// frac of all calls should: the calls where the running count of MCP calls,
// floor((k+1)·frac), steps up. That spreads them evenly in any prefix of the
// run, whatever the number of buyers.
func useMCP(k int64, frac float64) bool {
	return int64(float64(k+1)*frac) > int64(float64(k)*frac)
}
