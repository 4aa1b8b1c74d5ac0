package adcp

import (
	"encoding/json"
	"net/url"
	"testing"

	"example.com/creativesync/services/ingest/internal/creative"
)

// Every decoder of outside input is fuzzed: whatever the bytes, it answers
// a command or a coded error — it never panics, and what it accepts stays
// within the limits the rest of the system relies on.

var fuzzSeeds = []string{
	`{}`,
	`{"idempotency_key":"k-0123456789abcdef","account":{"account_id":"a"},"creatives":[{"creative_id":"c","name":"n","format_id":{"agent_url":"https://s.example","id":"display_300x250"},"assets":{"image":{"asset_type":"image","url":"https://c.example/a.png","width":300,"height":250}}}],"assignments":[{"creative_id":"c","package_id":"p"}],"push_notification_config":{"url":"https://b.example/h","authentication":{"schemes":["Bearer"],"credentials":"0123456789abcdef0123456789abcdef"}},"context":{"x":1}}`,
	`{"adcp_major_version":2,"creatives":[{"creative_id":"c"}],"assignments":{"c":["p1"]}}`,
	`{"filters":{"statuses":["approved"],"created_after":"2026-01-01T00:00:00Z","format_ids":[{"id":"x"}]},"sort":{"field":"name","direction":"asc"},"pagination":{"max_results":5,"cursor":"eyJ2IjoiIn0"}}`,
	`{"file_links":["https://drive.google.com/file/d/1BxiMVs0XRA5nFMd/view"],"ad_account_id":"acct","webhook_url":"https://h.example/x"}`,
	`{"scenario":"seed_creative","params":{"creative_id":"c","fixture":{"format_id":{"id":"f"}}},"account":{"brand":{"domain":"b.example"},"operator":"o.example"}}`,
	`{"creatives":[{"creative_id":"c","format_id":{"agent_url":"https://s.example","id":"display_300x250"},"assets":{"url":"https://c.example/a.png","width":300,"height":250}}],"assignments":{"mb":["c"]}}`,
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
}

func FuzzDecodeSync(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeSync(b)
		if err != nil {
			return
		}
		if len(cmd.Creatives) == 0 || len(cmd.Creatives) > creative.MaxCreativesPerSync || len(cmd.Context) > creative.MaxContextBytes {
			t.Fatalf("accepted a sync outside the limits: %d creatives, %d context bytes", len(cmd.Creatives), len(cmd.Context))
		}
		for _, in := range cmd.Creatives {
			if in.CreativeID == "" || len(in.CreativeID) > creative.MaxIDLength {
				t.Fatalf("accepted creative id %q", in.CreativeID)
			}
		}
	})
}

func FuzzDecodeSalesAgentSync(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never panics; the command it yields is checked by the domain.
		_, _ = DecodeSalesAgentSync("mb_fuzz", b)
	})
}

func FuzzDecodeList(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeList(b)
		if err == nil && (q.Limit < 1 || q.Limit > 100) {
			t.Fatalf("accepted page size %d", q.Limit)
		}
	})
}

func FuzzListFromQuery(f *testing.F) {
	f.Add("statuses=approved,rejected&max_results=5&cursor=x&sort=name&direction=asc&created_after=2026-01-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ListFromQuery(v)
		if err == nil && (q.Limit < 1 || q.Limit > 100) {
			t.Fatalf("accepted page size %d", q.Limit)
		}
	})
}

func FuzzDecodeFormats(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeFormats(b) // never panics
	})
}

func FuzzDecodeJob(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeJob(b, "", JobRules{MaxLinks: 10})
		if err != nil {
			return
		}
		if len(cmd.Links) == 0 || len(cmd.Links) > 10 || cmd.AccountID == "" {
			t.Fatalf("accepted a job with %d links and account %q", len(cmd.Links), cmd.AccountID)
		}
		if cmd.WebhookURL != "" && checkWebhookURL(cmd.WebhookURL, false) != "" {
			t.Fatalf("accepted webhook %q", cmd.WebhookURL)
		}
	})
}

func FuzzDecodeController(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeController(b) // never panics
	})
}

func FuzzCursors(f *testing.F) {
	f.Add("eyJ2IjoiMjAyNiIsImEiOiJhIiwiYyI6ImMifQ")
	f.Add("eyJhZnRlciI6ImRpc3BsYXlfMzAweDI1MCJ9")
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := creative.DecodeCursor(s); err == nil && c.CreativeID == "" {
			t.Fatal("accepted a cursor without a position")
		}
		if after, err := creative.DecodeFormatsCursor(s); err == nil && after == "" {
			t.Fatal("accepted a formats cursor without a position")
		}
	})
}

func FuzzDecodeAccountRef(f *testing.F) {
	f.Add([]byte(`{"account_id":"a"}`))
	f.Add([]byte(`{"brand":{"domain":"B.example"},"operator":"o.example","sandbox":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		ref, e := DecodeAccountRef(b, "account")
		if e == nil && ref.AccountID == "" && (ref.BrandDomain == "" || ref.Operator == "") {
			t.Fatalf("accepted an account reference that names nothing: %+v", ref)
		}
	})
}
