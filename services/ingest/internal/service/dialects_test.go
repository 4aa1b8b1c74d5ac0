package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/servicetest"
	"example.com/creativesync/services/ingest/internal/adcptest"
	"example.com/creativesync/services/ingest/internal/creative"
	"example.com/creativesync/services/ingest/internal/service"
)

// golden reads a request or response copied from the seeds' examples
// (internal/adcp/testdata, each folder's SOURCE.md names its origin), with
// the replacements a fixture needs (old, new pairs).
func golden(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "adcp", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(replace...).Replace(string(b)))
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", what, err, got)
	}
	must(t, json.Unmarshal(want, &w))
	gb, err := json.Marshal(g)
	must(t, err)
	wb, err := json.Marshal(w)
	must(t, err)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

func withAgent(a *creativeAgent) func(*service.Config) {
	return func(c *service.Config) {
		c.CreativeAgentURLs = []string{a.url}
		c.CreativeAgentRefresh = 100 * time.Millisecond
	}
}

// errorOf returns the first error's code and field of an error body.
func errorOf(t *testing.T, body []byte) (code, field string) {
	t.Helper()
	var eb struct {
		Errors []struct{ Code, Field string }
	}
	if json.Unmarshal(body, &eb) != nil || len(eb.Errors) == 0 {
		t.Fatalf("not an error body: %s", body)
	}
	return eb.Errors[0].Code, eb.Errors[0].Field
}

func TestSalesAgentSeedExamplesOverTheirRoute(t *testing.T) {
	agent := startCreativeAgent(t)
	s := startIngest(t, withAgent(agent))
	s.seedPackage("acct_1", "mb_a1b2c3d4", "pkg_ctv", "paused")
	route := "/api/v1/media-buys/mb_a1b2c3d4/creatives"
	video := golden(t, "salesagent/sync_request.json", "https://creative.example.com", agent.url)

	st, out := s.do("POST", route, s.key, video)
	if st != 200 {
		t.Fatalf("seed example: %d %s", st, out)
	}
	sameJSON(t, "seed example response", out, golden(t, "salesagent/sync_response.json"))
	// The flat payload is stored as the format's vast asset, so the
	// library, review and list_creatives see one shape.
	var assets []byte
	must(t, s.db.Get(&assets, `SELECT body->'assets' FROM creatives WHERE creative_id = 'cr_video_001'`))
	sameJSON(t, "stored assets", assets, []byte(`{"vast": {"asset_type": "vast", "delivery_type": "url",
		"url": "https://cdn.example.com/vast/acme_sports_30s.xml", "duration_ms": 30000, "width": 1920, "height": 1080}}`))
	if n := s.count(`SELECT count(*) FROM creative_assignments WHERE creative_id = 'cr_video_001' AND package_id = 'pkg_ctv'`); n != 1 {
		t.Errorf("assignments map: %d assignments to the media buy's package", n)
	}
	var synced events.CreativeSyncedV1
	servicetest.EventuallyTrue(t, within, "creative_synced_v1", func() bool {
		return len(s.bk.Messages((&events.CreativeSyncedV1{}).EventName())) > 0
	})
	s.lastEvent((&events.CreativeSyncedV1{}).EventName(), &synced)
	if synced.Format == nil || synced.Format.Name != "CTV 30s (VAST)" || synced.Provenance == nil {
		t.Errorf("event carries the agent's format and the provenance: %+v", synced)
	}

	st, out = s.do("POST", route, s.key, golden(t, "salesagent/display_request.json"))
	if st != 200 {
		t.Fatalf("display example: %d %s", st, out)
	}
	sameJSON(t, "display response", out, golden(t, "salesagent/display_response.json"))

	// The same request again changes nothing; the creative keeps its
	// library status.
	st, out = s.do("POST", route, s.key, video)
	sameJSON(t, "resend", out, []byte(`{"created":0,"updated":0,"deleted":0,"results":[{"creative_id":"cr_video_001","status":"pending_review","errors":[]}]}`))
	if st != 200 {
		t.Errorf("resend: %d", st)
	}

	// creative_ids is the set delete_missing keeps.
	keep := golden(t, "salesagent/display_request.json", `"assignments"`, `"delete_missing": true, "creative_ids": ["cr_video_001"], "x_assignments"`)
	st, out = s.do("POST", route, s.key, keep)
	if st != 200 || !bytes.Contains(out, []byte(`"deleted":0`)) {
		t.Errorf("delete_missing with its canonical set: %d %s", st, out)
	}
}

func TestSalesAgentErrorsChangeNothing(t *testing.T) {
	agent := startCreativeAgent(t)
	s := startIngest(t, withAgent(agent))
	s.seedPackage("acct_1", "mb_a1b2c3d4", "pkg_ctv", "paused")
	route := "/api/v1/media-buys/mb_a1b2c3d4/creatives"
	video := func(old, new string) []byte {
		return golden(t, "salesagent/sync_request.json", "https://creative.example.com", agent.url, old, new)
	}
	display := func(old, new string) []byte { return golden(t, "salesagent/display_request.json", old, new) }
	other := s.provision("other", "acct_other")
	for _, tc := range []struct {
		name        string
		key         string
		body        []byte
		status      int
		code, field string
	}{
		{"untrusted creative agent", s.key, golden(t, "salesagent/sync_request.json"), 404, "REFERENCE_NOT_FOUND", "creatives[0].format_id.agent_url"},
		{"format unknown at its agent", s.key, video(`"video_30s"`, `"video_60s"`), 404, "REFERENCE_NOT_FOUND", "creatives[0].format_id.id"},
		{"a VAST tag for a display format", s.key, display(`"url": "https://cdn.example.com/acme_sports_300x250.png", "width": 300, "height": 250`, `"vast_url": "https://cdn.example.com/v.xml"`), 400, "VALIDATION_ERROR", "creatives[0].assets.vast_url"},
		{"a field the payload does not have", s.key, video(`"resolution"`, `"bitrate"`), 400, "VALIDATION_ERROR", "creatives[0].assets.bitrate"},
		{"malformed resolution", s.key, video(`"1920x1080"`, `"full hd"`), 400, "VALIDATION_ERROR", "creatives[0].assets.resolution"},
		{"display size off the format", s.key, display(`"width": 300`, `"width": 301`), 400, "VALIDATION_ERROR", "creatives[0].assets.image.width"},
		{"assigning a creative the request does not sync", s.key, video(`["cr_video_001"]`, `["cr_other"]`), 400, "VALIDATION_ERROR", "assignments.mb_a1b2c3d4"},
		{"assigning to another principal's media buy", s.key, video(`"mb_a1b2c3d4": [`, `"mb_nope": [`), 404, "MEDIA_BUY_NOT_FOUND", "assignments.mb_nope"},
		{"an AdCP version on this route", s.key, video(`"dry_run"`, `"adcp_major_version": 3, "dry_run"`), 400, "INVALID_REQUEST", "adcp_major_version"},
		{"creative_ids without delete_missing", s.key, video(`"dry_run"`, `"creative_ids": ["cr_video_001"], "dry_run"`), 400, "INVALID_REQUEST", "creative_ids"},
		{"another principal's media buy", other, video("", ""), 404, "MEDIA_BUY_NOT_FOUND", "media_buy_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := s.do("POST", route, tc.key, tc.body)
			if st != tc.status {
				t.Fatalf("%d, want %d: %s", st, tc.status, out)
			}
			if code, field := errorOf(t, out); code != tc.code || field != tc.field {
				t.Errorf("error %s at %s, want %s at %s: %s", code, field, tc.code, tc.field, out)
			}
		})
	}
	if n := s.count(`SELECT count(*) FROM creatives`) + s.count(`SELECT count(*) FROM creative_assignments`); n != 0 {
		t.Errorf("refused requests wrote %d rows", n)
	}
	// Lenient mode reports the bad creative as rejected and syncs the rest.
	body := jsonOf(map[string]any{"validation_mode": "lenient", "creatives": []any{
		map[string]any{"creative_id": "ok", "name": "OK", "format_id": map[string]any{"agent_url": agentURL, "id": "display_300x250"},
			"assets": map[string]any{"url": "https://cdn.example.com/ok.png", "width": 300, "height": 250}},
		map[string]any{"creative_id": "bad", "name": "Bad", "format_id": map[string]any{"agent_url": agentURL, "id": "display_300x250"},
			"assets": map[string]any{"video_url": "https://cdn.example.com/bad.mp4"}},
	}})
	st, out := s.do("POST", route, s.key, body)
	var resp struct {
		Created int
		Results []struct {
			CreativeID, Status string
			Errors             []struct{ Code, Field string }
		}
	}
	must(t, json.Unmarshal(out, &resp))
	if st != 200 || resp.Created != 1 || len(resp.Results) != 2 || resp.Results[1].Status != "rejected" ||
		len(resp.Results[1].Errors) != 1 || resp.Results[1].Errors[0].Field != "creatives[1].assets.video_url" {
		t.Errorf("lenient: %d %s", st, out)
	}
}

func TestOutsideCreativeAgentFormats(t *testing.T) {
	agent := startCreativeAgent(t)
	s := startIngest(t, withAgent(agent))
	banner := func(id, agentURL string) map[string]any {
		return map[string]any{"creative_id": id, "name": "Agent banner",
			"format_id": map[string]any{"agent_url": agentURL, "id": "display_ext"},
			"assets":    map[string]any{"banner": map[string]any{"asset_type": "image", "url": "https://cdn.example.com/a.png", "width": 300, "height": 250}}}
	}
	// AdCP 3.0: a trusted agent's format is accepted; an untrusted agent
	// gets the spec's UNSUPPORTED_FEATURE.
	st, m, raw := s.sync(syncReq(banner("a1", agent.url+"/")))
	if st != 200 || items(t, m)[0]["action"] != "created" {
		t.Fatalf("trusted agent's format: %d %s", st, raw)
	}
	st, _, raw = s.sync(syncReq(banner("a2", "https://creative.example.com")))
	if code, field := errorOf(t, raw); st != 422 || code != "UNSUPPORTED_FEATURE" || field != "creatives[0].format_id.agent_url" {
		t.Errorf("untrusted agent: %d %s", st, raw)
	}
	if st, body := s.do("GET", "/readyz", "", nil); st != 200 || !bytes.Contains(body, []byte(`"creative_agents":"ok"`)) {
		t.Errorf("readyz with the agent up: %d %s", st, body)
	}
	// list_creative_formats points buyers at the agent.
	st, body := s.do("GET", "/api/v1/formats", "", nil)
	if st != 200 || !bytes.Contains(body, []byte(`"creative_agents":[{"agent_url":"`+agent.url+`"}]`)) {
		t.Errorf("formats: %d %s", st, body)
	}
	adcptest.Validate(t, "creative/list-creative-formats-response.json", body)

	// The agent goes down: readiness says so without failing, and its
	// last known formats are still accepted.
	agent.srv.Close()
	servicetest.EventuallyTrue(t, within, "degraded readiness", func() bool {
		st, body := s.do("GET", "/readyz", "", nil)
		return st == 200 && bytes.Contains(body, []byte(`"creative_agents":"degraded: creative agents down: `+agent.url))
	})
	st, m, raw = s.sync(syncReq(banner("a3", agent.url)))
	if st != 200 || items(t, m)[0]["action"] != "created" {
		t.Errorf("last known formats while the agent is down: %d %s", st, raw)
	}
}

// A replica started while the agent is down serves the formats the agent
// last listed (stored by the first one) and reports the agent degraded.
func TestOutsideAgentFormatsSurviveARestartWhileTheAgentIsDown(t *testing.T) {
	agent := startCreativeAgent(t)
	s := startIngest(t, withAgent(agent))
	agent.srv.Close()
	r := servicetest.Start(t, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, s.cfg, servicetest.Logger(t))
	})
	s.url = r.URL
	st, body := s.do("GET", "/readyz", "", nil)
	if st != 200 || !bytes.Contains(body, []byte(`"creative_agents":"degraded: `)) || !bytes.Contains(body, []byte("serving 2 known formats")) {
		t.Errorf("readyz: %d %s", st, body)
	}
	st, out := s.do("POST", "/api/v1/creatives/sync", s.key, jsonOf(syncReq(map[string]any{"creative_id": "r1", "name": "After restart",
		"format_id": map[string]any{"agent_url": agent.url, "id": "display_ext"},
		"assets":    map[string]any{"banner": map[string]any{"asset_type": "image", "url": "https://cdn.example.com/a.png", "width": 300, "height": 250}}})))
	if st != 200 || !bytes.Contains(out, []byte(`"action":"created"`)) {
		t.Errorf("sync after restart: %d %s", st, out)
	}
}

func TestAdCP2Dialect(t *testing.T) {
	s := startIngest(t)
	s.seedPackage("acct_1", "mb_v2", "pkg_v2", "paused")
	v2 := func(old, new string) map[string]any {
		var m map[string]any
		must(t, json.Unmarshal(golden(t, "v2/sync_request.json", old, new), &m))
		return m
	}

	// The doc's request: no account, no idempotency key.
	st, m, raw := s.sync(v2("", ""))
	if st != 200 || items(t, m)[0]["action"] != "created" || !sameStrings(items(t, m)[0]["assigned_to"], "pkg_v2") {
		t.Fatalf("v2 request: %d %s", st, raw)
	}
	// 2.x results carry the request's fields too.
	if it := items(t, m)[0]; it["name"] != "Hero banner (AdCP 2)" || !sameStrings(it["tags"], "q1_2026", "display") || it["assets"] == nil || it["platform_id"] == nil {
		t.Errorf("v2 result without the request's fields: %s", raw)
	}

	// A 2.x request that carries a key still gets replay semantics.
	req := v2(`"hero_banner_v2"`, `"hero_banner_v2b"`)
	req["idempotency_key"] = newKey()
	st, _, raw = s.sync(req)
	if st != 200 {
		t.Fatalf("v2 with key: %d %s", st, raw)
	}
	st, m, raw = s.sync(req)
	if st != 200 || m["replayed"] != true {
		t.Errorf("v2 replay: %d %s", st, raw)
	}
	req["creatives"].([]any)[0].(map[string]any)["name"] = "another request"
	st, _, raw = s.sync(req)
	if code, _ := errorOf(t, raw); st != 409 || code != "IDEMPOTENCY_CONFLICT" {
		t.Errorf("v2 key reuse: %d %s", st, raw)
	}

	// The v2 codes, over REST.
	s.seedPackage("acct_1", "mb_live", "pkg_live", "active")
	live := v2(`"pkg_v2"`, `"pkg_live"`)
	live["creatives"].([]any)[0].(map[string]any)["creative_id"] = "live_1"
	live["assignments"] = map[string]any{"live_1": []string{"pkg_live"}}
	if st, _, raw := s.sync(live); st != 200 {
		t.Fatalf("assign to an active package: %d %s", st, raw)
	}
	live["creatives"].([]any)[0].(map[string]any)["name"] = "changed while delivering"
	for _, tc := range []struct {
		name        string
		req         map[string]any
		status      int
		code, field string
	}{
		{"unknown format", v2(`"display_300x250"`, `"display_1x1"`), 422, "INVALID_FORMAT", "creatives[0].format_id.id"},
		{"untrusted agent", v2(`"https://seller.example.com"`, `"https://creative.example.com"`), 422, "INVALID_FORMAT", "creatives[0].format_id.agent_url"},
		{"asset off the format", v2(`"width": 300`, `"width": 301`), 422, "FORMAT_MISMATCH", "creatives[0].assets.image.width"},
		{"asset URL unusable", v2(`"https://cdn.example.com/hero_300x250.png"`, `"https://user:pw@cdn.example.com/x.png"`), 422, "ASSET_PROCESSING_FAILED", "creatives[0].assets.image.url"},
		{"update in active delivery", live, 409, "CREATIVE_IN_ACTIVE_DELIVERY", "creatives[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m, raw := s.sync(tc.req)
			if code, field := errorOf(t, raw); st != tc.status || code != tc.code || field != tc.field || m["status"] != "failed" {
				t.Errorf("%d %s, want %d %s at %s", st, raw, tc.status, tc.code, tc.field)
			}
		})
	}
	lenient := v2(`"strict"`, `"lenient"`)
	lenient["creatives"].([]any)[0].(map[string]any)["format_id"] = map[string]any{"agent_url": agentURL, "id": "display_1x1"}
	st, m, raw = s.sync(lenient)
	if errs, _ := items(t, m)[0]["errors"].([]any); st != 200 || len(errs) != 1 || errs[0].(map[string]any)["code"] != "INVALID_FORMAT" {
		t.Errorf("lenient v2: %d %s", st, raw)
	}

	// Over MCP: the same codes, as an isError result.
	cs := s.mcpSession(s.key)
	res, body := call(t, cs, "sync_creatives", v2(`"display_300x250"`, `"display_1x1"`))
	if !res.IsError || !bytes.Contains(body, []byte(`"adcp_error":{"code":"INVALID_FORMAT"`)) {
		t.Errorf("MCP v2 error: %s", body)
	}
	res, body = call(t, cs, "sync_creatives", v2(`"hero_banner_v2"`, `"hero_banner_mcp"`))
	if res.IsError || !bytes.Contains(body, []byte(`"action":"created"`)) {
		t.Errorf("MCP v2 sync: %s", body)
	}

	// A 2.x buyer with several accounts must name one.
	must(t, s.svc.Store.UpsertAccount(t.Context(), creative.Account{ID: "acct_2", PrincipalID: "buyer", BrandDomain: "second.example", Operator: "agency.example"}))
	st, _, raw = s.sync(v2("", ""))
	if code, _ := errorOf(t, raw); st != 400 || code != "ACCOUNT_AMBIGUOUS" {
		t.Errorf("v2 without account, two accounts: %d %s", st, raw)
	}
}

func TestAdCP2AsyncFinalResult(t *testing.T) {
	s := startIngest(t)
	req := syncReq(banner("ok"), banner("bad"))
	delete(req, "account")
	delete(req, "idempotency_key")
	req["adcp_major_version"] = 2
	req["push_notification_config"] = map[string]any{"url": "https://buyer.example.com/hook"}
	st, m, raw := s.sync(req)
	if st != 202 || m["status"] != "submitted" {
		t.Fatalf("v2 async: %d %s", st, raw)
	}
	taskID := m["task_id"].(string)
	s.publish(&events.CreativeApprovedV1{Header: events.Header{EventID: watermill.NewUUID()},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "ok", Revision: 1, Score: 1, DecidedBy: "auto"}})
	s.publish(&events.CreativeRejectedV1{Header: events.Header{EventID: watermill.NewUUID()},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "bad", Revision: 1, Score: 0, DecidedBy: "auto",
			Reasons: []events.Reason{{Code: "UNSAFE", Message: "landing page is malware"}}}})
	var body []byte
	servicetest.EventuallyTrue(t, within, "task completion", func() bool {
		_, body = s.do("GET", "/api/v1/tasks/"+taskID, s.key, nil)
		return bytes.Contains(body, []byte(`"status":"completed"`))
	})
	var task struct {
		Result struct {
			Status    string
			Creatives []struct {
				CreativeID string `json:"creative_id"`
				Action     string `json:"action"`
				PlatformID string `json:"platform_id"`
				Errors     []struct{ Code, Message string }
			}
		}
	}
	must(t, json.Unmarshal(body, &task))
	c := task.Result.Creatives
	if task.Result.Status != "completed" || len(c) != 2 ||
		c[0].Action != "created" || c[0].PlatformID == "" || len(c[0].Errors) != 0 ||
		c[1].Action != "failed" || c[1].PlatformID != "" || len(c[1].Errors) != 1 ||
		c[1].Errors[0].Code != "BRAND_SAFETY_VIOLATION" || c[1].Errors[0].Message != "landing page is malware" {
		t.Errorf("v2 final result: %s", body)
	}
}

// The official 3.0 request schema's own examples, verbatim, over REST and
// then MCP (where each replays), with their outside creative agents run
// locally.
func TestAdCP3SchemaExamples(t *testing.T) {
	slot := func(id, typ string) map[string]any {
		return map[string]any{"item_type": "individual", "asset_id": id, "asset_type": typ, "required": true}
	}
	standard := startCreativeAgent(t, func(u string) []any {
		return []any{
			map[string]any{"format_id": map[string]any{"agent_url": u, "id": "video_standard_30s"}, "name": "Standard video 30s", "type": "video",
				"assets": []any{slot("video", "video")}},
			map[string]any{"format_id": map[string]any{"agent_url": u, "id": "display_300x250"}, "name": "Standard MPU", "type": "display",
				"assets": []any{slot("image", "image")}},
		}
	})
	bespoke := startCreativeAgent(t, func(u string) []any {
		return []any{map[string]any{"format_id": map[string]any{"agent_url": u, "id": "premium_bespoke_display"}, "name": "Premium bespoke", "type": "display",
			"assets": []any{slot("product_catalog", "catalog"), slot("generation_prompt", "text")}}}
	})
	s := startIngest(t, func(c *service.Config) { c.CreativeAgentURLs = []string{standard.url, bespoke.url} })
	must(t, s.svc.Store.UpsertAccount(t.Context(), creative.Account{ID: "acct_acmecorp", PrincipalID: "buyer", BrandDomain: "acme.example", Operator: "agency.example"}))
	s.seedPackage("acct_acmecorp", "mb_ctv", "pkg_ctv_001", "paused")
	s.seedPackage("acct_acmecorp", "mb_ctv", "pkg_ctv_002", "paused")
	example := func(name string) []byte {
		return golden(t, "v3/"+name+".json", "https://creative.adcontextprotocol.org", standard.url, "https://creative.example.com", bespoke.url)
	}
	for _, tc := range []struct {
		name string
		want string // creative_id/action[/assigned_to…] of each result
	}{
		{"full_sync_hosted_video", "hero_video_30s/created/pkg_ctv_001/pkg_ctv_002"},
		{"generative_creative", "holiday_hero/created"},
		{"scoped_update", "hero_video_30s/updated banner_300x250/created"},
	} {
		st, out := s.do("POST", "/api/v1/creatives/sync", s.key, example(tc.name))
		if st != 200 {
			t.Fatalf("%s: %d %s", tc.name, st, out)
		}
		adcptest.Validate(t, "creative/sync-creatives-response.json", out)
		var resp struct {
			Creatives []struct {
				CreativeID string   `json:"creative_id"`
				Action     string   `json:"action"`
				AssignedTo []string `json:"assigned_to"`
			}
		}
		must(t, json.Unmarshal(out, &resp))
		var got []string
		for _, c := range resp.Creatives {
			got = append(got, strings.Join(append([]string{c.CreativeID, c.Action}, c.AssignedTo...), "/"))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %q, want %q: %s", tc.name, got, tc.want, out)
		}
	}
	cs := s.mcpSession(s.key)
	for _, name := range []string{"full_sync_hosted_video", "generative_creative", "scoped_update"} {
		var args map[string]any
		must(t, json.Unmarshal(example(name), &args))
		res, body := call(t, cs, "sync_creatives", args)
		if res.IsError || !bytes.Contains(body, []byte(`"replayed":true`)) {
			t.Errorf("%s over MCP: %s", name, body)
		}
	}
}
