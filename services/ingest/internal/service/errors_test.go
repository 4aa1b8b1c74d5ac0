package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/services/ingest/internal/adcptest"
	"example.com/creativesync/services/ingest/internal/service"
)

// Every bad input gets a precise AdCP error and writes nothing.
func TestBadInputIsRejectedPreciselyAndChangesNothing(t *testing.T) {
	s := startIngest(t)
	other := s.provision("other", "acct_other")
	valid := func(mut func(m map[string]any)) []byte {
		m := syncReq(banner("b1"))
		mut(m)
		b := jsonOf(m)
		return b
	}
	huge := `{"idempotency_key":"` + strings.Repeat("k", 2<<20) + `"}`
	cases := []struct {
		name   string
		key    string
		body   []byte
		status int
		code   string
		field  string
	}{
		{"malformed JSON", s.key, []byte(`{"creatives": [`), 400, "INVALID_REQUEST", ""},
		{"not an object", s.key, []byte(`[1,2]`), 400, "INVALID_REQUEST", ""},
		{"empty body", s.key, nil, 400, "INVALID_REQUEST", ""},
		{"no API key", "", valid(func(map[string]any) {}), 401, "AUTH_REQUIRED", ""},
		{"wrong API key", "nope", valid(func(map[string]any) {}), 401, "AUTH_REQUIRED", ""},
		{"oversized body", s.key, []byte(huge), 413, "INVALID_REQUEST", ""},
		{"missing idempotency_key", s.key, valid(func(m map[string]any) { delete(m, "idempotency_key") }), 400, "INVALID_REQUEST", "idempotency_key"},
		{"short idempotency_key", s.key, valid(func(m map[string]any) { m["idempotency_key"] = "short" }), 400, "INVALID_REQUEST", "idempotency_key"},
		{"missing account", s.key, valid(func(m map[string]any) { delete(m, "account") }), 400, "INVALID_REQUEST", "account"},
		{"missing creatives", s.key, valid(func(m map[string]any) { delete(m, "creatives") }), 400, "INVALID_REQUEST", "creatives"},
		{"creative not an object", s.key, valid(func(m map[string]any) { m["creatives"] = []any{banner("b1"), "b2"} }), 400, "VALIDATION_ERROR", "creatives[1]"},
		{"null creative", s.key, valid(func(m map[string]any) { m["creatives"] = []any{nil} }), 400, "VALIDATION_ERROR", "creatives[0]"},
		{"empty creatives", s.key, valid(func(m map[string]any) { m["creatives"] = []any{} }), 400, "VALIDATION_ERROR", "creatives"},
		{"101 creatives", s.key, valid(func(m map[string]any) {
			var cs []any
			for i := 0; i < 101; i++ {
				cs = append(cs, map[string]any{"creative_id": strings.Repeat("x", 1) + string(rune('a'+i%26)) + strings.Repeat("y", i)})
			}
			m["creatives"] = cs
		}), 400, "VALIDATION_ERROR", "creatives"},
		{"dry_run wrong type", s.key, valid(func(m map[string]any) { m["dry_run"] = "yes" }), 400, "VALIDATION_ERROR", "dry_run"},
		{"bad validation_mode", s.key, valid(func(m map[string]any) { m["validation_mode"] = "loose" }), 400, "VALIDATION_ERROR", "validation_mode"},
		{"unsupported major version", s.key, valid(func(m map[string]any) { m["adcp_major_version"] = 9 }), 400, "VERSION_UNSUPPORTED", "adcp_major_version"},
		{"v2 assignments map without v2", s.key, valid(func(m map[string]any) { m["assignments"] = map[string]any{"b1": []string{"p"}} }), 400, "VALIDATION_ERROR", "assignments"},
		{"string format_id", s.key, valid(func(m map[string]any) { m["creatives"].([]any)[0].(map[string]any)["format_id"] = "display_300x250" }), 422, "VALIDATION_ERROR", "creatives[0].format_id"},
		{"unknown format", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["format_id"] = map[string]any{"agent_url": agentURL, "id": "display_1x1"}
		}), 422, "UNSUPPORTED_FEATURE", "creatives[0].format_id.id"},
		{"foreign format agent", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["format_id"] = map[string]any{"agent_url": "https://elsewhere.example", "id": "display_300x250"}
		}), 422, "UNSUPPORTED_FEATURE", "creatives[0].format_id.agent_url"},
		{"asset without asset_type", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["assets"] = map[string]any{"image": map[string]any{"url": "https://x.example/a.png", "width": 300, "height": 250}}
		}), 422, "VALIDATION_ERROR", "creatives[0].assets.image.asset_type"},
		{"width of wrong type", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["assets"] = map[string]any{"image": map[string]any{"asset_type": "image", "url": "https://x.example/a.png", "width": "300", "height": 250}}
		}), 422, "VALIDATION_ERROR", "creatives[0].assets.image"},
		{"required asset missing", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["assets"] = map[string]any{"click_url": map[string]any{"asset_type": "url", "url": "https://x.example"}}
		}), 422, "VALIDATION_ERROR", "creatives[0].assets.image"},
		{"name too long", s.key, valid(func(m map[string]any) { m["creatives"].([]any)[0].(map[string]any)["name"] = strings.Repeat("n", 2000) }), 422, "VALIDATION_ERROR", "creatives[0].name"},
		{"duplicate creative ids", s.key, valid(func(m map[string]any) { m["creatives"] = []any{banner("b1"), banner("b1")} }), 400, "VALIDATION_ERROR", "creatives[1].creative_id"},
		{"unknown account", s.key, valid(func(m map[string]any) { m["account"] = map[string]any{"account_id": "acct_missing"} }), 404, "ACCOUNT_NOT_FOUND", "account"},
		{"another principal's account", other, valid(func(map[string]any) {}), 404, "ACCOUNT_NOT_FOUND", "account"},
		{"bad push url", s.key, valid(func(m map[string]any) { m["push_notification_config"] = map[string]any{"url": "not a url"} }), 400, "VALIDATION_ERROR", "push_notification_config.url"},
		// Encodings Postgres cannot store are the buyer's to fix, never
		// "retry later".
		{"invalid UTF-8", s.key, []byte(strings.Replace(string(valid(func(map[string]any) {})), "Banner b1", "Banner \xff", 1)), 400, "INVALID_REQUEST", ""},
		{"raw invalid UTF-8", s.key, []byte(strings.Replace(string(valid(func(map[string]any) {})), "Banner b1", "Banner \xff\xfe", 1)), 400, "INVALID_REQUEST", ""},
		{"NUL escape", s.key, []byte(strings.Replace(string(valid(func(map[string]any) {})), "Banner b1", `Banner \u0000`, 1)), 400, "INVALID_REQUEST", "creatives[0].name"},
		{"lone surrogate", s.key, []byte(strings.Replace(string(valid(func(map[string]any) {})), "Banner b1", `Banner \ud83d`, 1)), 400, "INVALID_REQUEST", "creatives[0].name"},
		{"duplicate key", s.key, []byte(strings.Replace(string(valid(func(map[string]any) {})), `"creative_id":"b1"`, `"creative_id":"b1","creative_id":"b2"`, 1)), 400, "INVALID_REQUEST", "creatives[0].creative_id"},
		{"nested 5000 deep", s.key, []byte(strings.Replace(string(valid(func(map[string]any) {})), `"context":{`, `"ext":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`,"context":{`, 1)), 400, "INVALID_REQUEST", ""},
		{"huge asset url", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["assets"].(map[string]any)["image"].(map[string]any)["url"] = "https://cdn.example.com/" + strings.Repeat("a", 5000)
		}), 422, "VALIDATION_ERROR", "creatives[0].assets.image.url"},
		{"asset url with credentials", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["assets"].(map[string]any)["image"].(map[string]any)["url"] = "https://user:pw@cdn.example.com/b.png"
		}), 422, "VALIDATION_ERROR", "creatives[0].assets.image.url"},
		{"huge context", s.key, valid(func(m map[string]any) { m["context"] = map[string]any{"blob": strings.Repeat("c", 20<<10)} }), 400, "VALIDATION_ERROR", "context"},
		{"huge creative", s.key, valid(func(m map[string]any) {
			m["creatives"].([]any)[0].(map[string]any)["ext"] = map[string]any{"blob": strings.Repeat("x", 300<<10)}
		}), 422, "VALIDATION_ERROR", "creatives[0]"},
	}
	for _, tc := range cases {
		st, body := s.do("POST", "/api/v1/creatives/sync", tc.key, tc.body)
		if st != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, st, tc.status, body)
			continue
		}
		var out struct {
			Errors []struct{ Code, Field, Message, Recovery string }
		}
		if err := json.Unmarshal(body, &out); err != nil || len(out.Errors) == 0 {
			t.Errorf("%s: no AdCP errors: %s", tc.name, body)
			continue
		}
		found := false
		for _, e := range out.Errors {
			if e.Code == tc.code && (tc.field == "" || e.Field == tc.field) && e.Message != "" && e.Recovery != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want %s at %q, got %s", tc.name, tc.code, tc.field, body)
		}
		if st != 413 && st != 401 {
			adcptest.Validate(t, "creative/sync-creatives-response.json", body)
		}
		if st == 401 && !strings.Contains(body2str(body), "AUTH_REQUIRED") {
			t.Errorf("%s: %s", tc.name, body)
		}
	}
	for _, table := range []string{"creatives", "idempotency_keys", "tasks", outbox.Table} {
		if n := s.count(`SELECT count(*) FROM ` + table); n != 0 {
			t.Errorf("bad input wrote %d rows to %s", n, table)
		}
	}
	// The relay deletes an outbox row only after JetStream has the event,
	// so an event written is in the outbox or, checked after it, on the
	// stream.
	for _, ev := range service.Produces() {
		if n := s.bk.Count(ev.EventName()); n != 0 {
			t.Errorf("bad input published %d %s events", n, ev.EventName())
		}
	}
}

func body2str(b []byte) string { return string(b) }

func TestUnauthenticatedGetsChallenge(t *testing.T) {
	s := startIngest(t)
	for _, path := range []string{"/api/v1/creatives", "/api/v1/tasks/task_x", "/api/v1/creatives/b1"} {
		req := s.url + path
		resp, err := http.Get(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		resp.Body.Close()
	}
	// Other principals' creatives and tasks are simply not found.
	s.sync(syncReq(banner("b1")))
	other := s.provision("other", "acct_other")
	if st, body := s.do("GET", "/api/v1/creatives/b1", other, nil); st != 404 || !strings.Contains(string(body), "CREATIVE_NOT_FOUND") {
		t.Errorf("foreign creative: %d %s", st, body)
	}
	for _, hdr := range []string{"X-Api-Key", "X-Adcp-Auth"} {
		if st, body := s.do("GET", "/api/v1/creatives/b1", "", nil, hdr, s.key); st != 200 {
			t.Errorf("%s: %d %s", hdr, st, body)
		}
	}
	// HTTP auth schemes are case-insensitive (RFC 9110 §11.1).
	for _, scheme := range []string{"bearer", "BEARER", "Bearer  "} {
		if st, body := s.do("GET", "/api/v1/creatives/b1", "", nil, "Authorization", scheme+" "+s.key); st != 200 {
			t.Errorf("scheme %q: %d %s", scheme, st, body)
		}
	}
	if st, _ := s.do("GET", "/api/v1/creatives/b1", "", nil, "Authorization", "Basic "+s.key); st != 401 {
		t.Errorf("Basic scheme: %d", st)
	}
}
