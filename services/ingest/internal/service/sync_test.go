package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/servicetest"
	"example.com/creativesync/services/ingest/internal/adcptest"
	"example.com/creativesync/services/ingest/internal/service"
)

func items(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	raw, ok := m["creatives"].([]any)
	if !ok {
		t.Fatalf("no creatives in %v", m)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func TestSyncCreatesStoresAndPublishesInOneStep(t *testing.T) {
	s := startIngest(t)
	st, m, raw := s.sync(syncReq(banner("b1"), banner("b2")))
	if st != 200 {
		t.Fatalf("status %d: %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	if m["context"].(map[string]any)["correlation_id"] != "test-ctx" {
		t.Errorf("context not echoed: %s", raw)
	}
	for _, it := range items(t, m) {
		if it["action"] != "created" || it["status"] != "pending_review" || it["platform_id"] == "" {
			t.Errorf("item %v", it)
		}
	}
	// Read-after-write: visible to list before the response returned.
	if n := s.count(`SELECT count(*) FROM creatives WHERE account_id='acct_1'`); n != 2 {
		t.Fatalf("%d rows", n)
	}
	servicetest.EventuallyTrue(t, within, "two creative_synced_v1 events", func() bool { return s.bk.Count("creative_synced_v1") == 2 })
	var ev events.CreativeSyncedV1
	s.lastEvent("creative_synced_v1", &ev)
	var hash string
	var rev int64
	must(t, s.db.QueryRow(`SELECT content_hash, revision FROM creatives WHERE account_id=$1 AND creative_id=$2`, ev.AccountID, ev.CreativeID).Scan(&hash, &rev))
	if ev.ContentHash != hash || ev.Revision != rev || ev.Format == nil || len(ev.Format.Assets) == 0 || ev.CorrelationID == "" {
		t.Errorf("event and row disagree: %+v vs hash %s rev %d", ev, hash, rev)
	}
}

func TestResyncUpdatesOnlyWhatChanged(t *testing.T) {
	s := startIngest(t)
	s.sync(syncReq(banner("b1")))
	st, m, raw := s.sync(syncReq(banner("b1")))
	if st != 200 || items(t, m)[0]["action"] != "unchanged" {
		t.Fatalf("identical resend: %d %s", st, raw)
	}
	changed := banner("b1")
	changed["name"] = "Renamed"
	changed["tags"] = []string{"q4"}
	_, m, raw = s.sync(syncReq(changed))
	it := items(t, m)[0]
	if it["action"] != "updated" || !sameStrings(it["changes"], "name", "tags") {
		t.Fatalf("update: %s", raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	servicetest.EventuallyTrue(t, within, "events for create and update only", func() bool { return s.bk.Count("creative_synced_v1") == 2 })
	if n := s.count(`SELECT revision FROM creatives WHERE creative_id='b1'`); n != 2 {
		t.Errorf("revision %d, want 2", n)
	}
}

func sameStrings(v any, want ...string) bool {
	got, _ := v.([]any)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestIdempotency(t *testing.T) {
	s := startIngest(t)
	req := syncReq(banner("b1"))
	_, first, _ := s.sync(req)
	req["context"] = map[string]any{"correlation_id": "second"} // context is not part of the hash
	st, again, raw := s.sync(req)
	if st != 200 || again["replayed"] != true || items(t, again)[0]["action"] != "created" {
		t.Fatalf("replay: %d %s", st, raw)
	}
	if again["context"].(map[string]any)["correlation_id"] != "second" {
		t.Errorf("replay must echo this request's context: %s", raw)
	}
	if items(t, first)[0]["platform_id"] != items(t, again)[0]["platform_id"] {
		t.Error("replay returned a different result")
	}
	req["creatives"] = []any{banner("b2")}
	st, _, raw = s.sync(req)
	if st != 409 || !strings.Contains(string(raw), "IDEMPOTENCY_CONFLICT") || strings.Contains(string(raw), "b1") {
		t.Fatalf("conflict: %d %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	if n := s.count(`SELECT count(*) FROM creatives`); n != 1 {
		t.Errorf("conflicting request wrote: %d creatives", n)
	}
	// Past the TTL the key is expired, not silently re-executed.
	s.db.MustExec(`UPDATE idempotency_keys SET expires_at = now() - interval '2 hours'`)
	req["creatives"] = []any{banner("b1")}
	st, _, raw = s.sync(req)
	if st != 409 || !strings.Contains(string(raw), "IDEMPOTENCY_EXPIRED") {
		t.Fatalf("expired: %d %s", st, raw)
	}
}

func TestConcurrentIdenticalRequestsExecuteOnce(t *testing.T) {
	s := startIngest(t)
	req := syncReq(banner("b1"), banner("b2"))
	b := jsonOf(req)
	type res struct {
		st   int
		body []byte
	}
	out := make(chan res, 4)
	for i := 0; i < 4; i++ {
		go func() {
			st, body := s.do("POST", "/api/v1/creatives/sync", s.key, b)
			out <- res{st, body}
		}()
	}
	replayed := 0
	for i := 0; i < 4; i++ {
		r := <-out
		if r.st != 200 {
			t.Fatalf("status %d: %s", r.st, r.body)
		}
		if bytes.Contains(r.body, []byte(`"replayed":true`)) {
			replayed++
		}
	}
	if replayed != 3 {
		t.Errorf("%d replays, want 3", replayed)
	}
	servicetest.EventuallyTrue(t, within, "events of one execution", func() bool { return s.bk.Count("creative_synced_v1") == 2 })
	if n := s.count(`SELECT max(revision) FROM creatives`); n != 1 {
		t.Errorf("revision %d: executed more than once", n)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	s := startIngest(t)
	req := syncReq(banner("b1"))
	req["dry_run"] = true
	req["assignments"] = []any{map[string]any{"creative_id": "b1", "package_id": "pkg_1"}}
	s.seedPackage("acct_1", "mb_1", "pkg_1", "active")
	st, m, raw := s.sync(req)
	if st != 200 || m["dry_run"] != true || items(t, m)[0]["action"] != "created" {
		t.Fatalf("dry run: %d %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	for _, table := range []string{"creatives", "creative_assignments", "idempotency_keys", "tasks", outbox.Table} {
		if n := s.count(`SELECT count(*) FROM ` + table); n != 0 {
			t.Errorf("dry run wrote %d rows to %s", n, table)
		}
	}
	// The relay deletes an outbox row only after JetStream has the event,
	// so an event written is in the outbox or, checked after it, on the
	// stream.
	for _, ev := range service.Produces() {
		if n := s.bk.Count(ev.EventName()); n != 0 {
			t.Errorf("dry run published %d %s events", n, ev.EventName())
		}
	}
}

func (s *stack) seedPackage(account, mb, pkg, status string) {
	ctx := context.Background()
	must(s.t, s.svc.Store.UpsertMediaBuy(ctx, mb, account, "active"))
	must(s.t, s.svc.Store.UpsertPackage(ctx, pkg, mb, status))
}

func TestValidationModes(t *testing.T) {
	s := startIngest(t)
	bad := banner("bad")
	bad["assets"] = map[string]any{"image": map[string]any{"asset_type": "image", "url": "https://cdn.example.com/x.png", "width": 728, "height": 90}}
	unknown := banner("unknown")
	unknown["format_id"] = map[string]any{"agent_url": agentURL, "id": "display_1x1"}

	st, m, raw := s.sync(syncReq(banner("good"), bad, unknown))
	if st != 422 || m["creatives"] != nil {
		t.Fatalf("strict: %d %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	if !strings.Contains(string(raw), `"field":"creatives[1].assets.image.width"`) || !strings.Contains(string(raw), "UNSUPPORTED_FEATURE") {
		t.Errorf("strict errors imprecise: %s", raw)
	}
	if n := s.count(`SELECT count(*) FROM creatives`); n != 0 {
		t.Fatalf("strict failure wrote %d creatives", n)
	}

	req := syncReq(banner("good"), bad, unknown)
	req["validation_mode"] = "lenient"
	st, m, raw = s.sync(req)
	if st != 200 {
		t.Fatalf("lenient: %d %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	got := items(t, m)
	if got[0]["action"] != "created" || got[1]["action"] != "failed" || got[2]["action"] != "failed" || got[1]["status"] != nil {
		t.Errorf("lenient items: %s", raw)
	}
	if n := s.count(`SELECT count(*) FROM creatives`); n != 1 {
		t.Errorf("lenient wrote %d creatives, want 1", n)
	}
}

func TestCreativeIDsScopeAndDeleteMissing(t *testing.T) {
	s := startIngest(t)
	s.sync(syncReq(banner("a"), banner("b"), banner("c")))

	// creative_ids scopes: only b changes; a is not touched even though sent.
	a2, b2 := banner("a"), banner("b")
	a2["name"], b2["name"] = "A2", "B2"
	req := syncReq(a2, b2)
	req["creative_ids"] = []string{"b"}
	req["validation_mode"] = "lenient"
	_, m, raw := s.sync(req)
	got := items(t, m)
	if got[0]["action"] != "failed" || got[1]["action"] != "updated" {
		t.Fatalf("scope: %s", raw)
	}
	var name string
	must(t, s.db.Get(&name, `SELECT name FROM creatives WHERE creative_id='a'`))
	if name != "Banner a" {
		t.Errorf("out-of-scope creative changed to %q", name)
	}

	// delete_missing with creative_ids is refused.
	req = syncReq(banner("a"))
	req["delete_missing"], req["creative_ids"] = true, []string{"a"}
	st, _, raw := s.sync(req)
	if st != 400 || !strings.Contains(string(raw), `"field":"delete_missing"`) {
		t.Fatalf("delete_missing+creative_ids: %d %s", st, raw)
	}

	// c is assigned to an active package: never archived.
	s.seedPackage("acct_1", "mb_1", "pkg_live", "active")
	s.db.MustExec(`INSERT INTO creative_assignments (account_id, creative_id, package_id) VALUES ('acct_1','c','pkg_live')`)
	// Strict: c is held by delivery, so nothing is archived at all.
	req = syncReq(banner("a"))
	req["delete_missing"] = true
	st, _, raw = s.sync(req)
	if st != 409 || !strings.Contains(string(raw), "INVALID_STATE") {
		t.Fatalf("strict delete_missing: %d %s", st, raw)
	}
	if n := s.count(`SELECT count(*) FROM creatives WHERE archived_at IS NOT NULL`); n != 0 {
		t.Fatalf("strict failure archived %d creatives", n)
	}

	req = syncReq(banner("a"))
	req["delete_missing"], req["validation_mode"] = true, "lenient"
	st, m, raw = s.sync(req)
	if st != 200 {
		t.Fatalf("delete_missing: %d %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	actions := map[string]string{}
	for _, it := range items(t, m) {
		actions[it["creative_id"].(string)] = it["action"].(string)
	}
	if actions["b"] != "deleted" || actions["c"] != "failed" || actions["a"] != "unchanged" {
		t.Errorf("actions %v", actions)
	}
	var status string
	must(t, s.db.Get(&status, `SELECT status FROM creatives WHERE creative_id='b'`))
	if status != "archived" {
		t.Errorf("b is %s", status)
	}
	servicetest.EventuallyTrue(t, within, "creative_archived_v1", func() bool { return s.bk.Count("creative_archived_v1") == 1 })

	// Archived creatives are hidden from list unless asked for.
	st, body := s.do("GET", "/api/v1/creatives", s.key, nil)
	if st != 200 || bytes.Contains(body, []byte(`"creative_id":"b"`)) {
		t.Errorf("archived creative listed: %s", body)
	}
	_, body = s.do("GET", "/api/v1/creatives?statuses=archived", s.key, nil)
	if !bytes.Contains(body, []byte(`"creative_id":"b"`)) {
		t.Errorf("archived creative not listed on request: %s", body)
	}
}

func TestActiveDeliveryBlocksUpdatesAndAssignmentsAreChecked(t *testing.T) {
	s := startIngest(t)
	s.seedPackage("acct_1", "mb_1", "pkg_live", "active")
	s.seedPackage("acct_1", "mb_1", "pkg_paused", "paused")
	req := syncReq(banner("b1"))
	req["assignments"] = []any{
		map[string]any{"creative_id": "b1", "package_id": "pkg_live", "weight": 50},
		map[string]any{"creative_id": "b1", "package_id": "pkg_nope"},
	}
	st, m, raw := s.sync(req)
	if st != 200 {
		t.Fatalf("%d %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	it := items(t, m)[0]
	if !sameStrings(it["assigned_to"], "pkg_live") || !strings.Contains(string(raw), "PACKAGE_NOT_FOUND") {
		t.Errorf("assignment results: %s", raw)
	}
	changed := banner("b1")
	changed["name"] = "changed while live"
	st, _, raw = s.sync(syncReq(changed))
	if st != 409 || !strings.Contains(string(raw), "INVALID_STATE") {
		t.Fatalf("update of live creative: %d %s", st, raw)
	}
	s.db.MustExec(`UPDATE packages SET status='paused' WHERE package_id='pkg_live'`)
	st, m, raw = s.sync(syncReq(changed))
	if st != 200 || items(t, m)[0]["action"] != "updated" {
		t.Fatalf("after pause: %d %s", st, raw)
	}
}

func TestDecisionsBecomeVisibleAndCompleteTasks(t *testing.T) {
	s := startIngest(t)
	req := syncReq(banner("b1"), banner("b2"))
	req["push_notification_config"] = map[string]any{"url": "https://buyer.example.com/hook", "token": "0123456789abcdef-token"}
	st, m, raw := s.sync(req)
	if st != 202 || m["status"] != "submitted" || m["task_id"] == nil || m["creatives"] != nil {
		t.Fatalf("submitted: %d %s", st, raw)
	}
	adcptest.Validate(t, "creative/sync-creatives-response.json", raw)
	taskID := m["task_id"].(string)
	st, body := s.do("GET", "/api/v1/tasks/"+taskID, s.key, nil)
	if st != 200 || !bytes.Contains(body, []byte(`"status":"submitted"`)) {
		t.Fatalf("task: %d %s", st, body)
	}
	adcptest.Validate(t, "core/tasks-get-response.json", body)

	publish := s.publish
	publish(&events.CreativeApprovedV1{Header: events.Header{EventID: watermill.NewUUID(), CorrelationID: "c1"},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "b1", Revision: 1, Score: 0.95, DecidedBy: "auto"}})
	rejected := &events.CreativeRejectedV1{Header: events.Header{EventID: watermill.NewUUID(), CorrelationID: "c1"},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "b2", Revision: 1, Score: 0.05, DecidedBy: "auto",
			Reasons: []events.Reason{{Code: "UNSAFE", Message: "landing page is malware"}}}}
	publish(rejected)
	publish(rejected) // redelivery must be harmless

	servicetest.EventuallyTrue(t, within, "task completion", func() bool {
		_, body := s.do("GET", "/api/v1/tasks/"+taskID, s.key, nil)
		return bytes.Contains(body, []byte(`"status":"completed"`))
	})
	_, body = s.do("GET", "/api/v1/creatives?sort=name&direction=asc", s.key, nil)
	adcptest.Validate(t, "creative/list-creatives-response.json", body)
	if !bytes.Contains(body, []byte(`"status":"approved"`)) || !bytes.Contains(body, []byte(`"rejection_reason":"landing page is malware"`)) {
		t.Errorf("statuses not visible: %s", body)
	}
	servicetest.EventuallyTrue(t, within, "one webhook request", func() bool { return s.bk.Count("notification_requested_v1") == 1 })
	var note events.NotificationRequestedV1
	s.lastEvent("notification_requested_v1", &note)
	if note.URL != "https://buyer.example.com/hook" || note.TaskID != taskID || note.Token == "" {
		t.Errorf("notification %+v", note)
	}
	adcptest.Validate(t, "core/mcp-webhook-payload.json", note.Payload)
	var payload struct {
		Result json.RawMessage `json:"result"`
	}
	must(t, json.Unmarshal(note.Payload, &payload))
	adcptest.Validate(t, "creative/sync-creatives-response.json", payload.Result)
	if !bytes.Contains(payload.Result, []byte(`"status":"rejected"`)) || !bytes.Contains(payload.Result, []byte(`"status":"approved"`)) {
		t.Errorf("webhook result lacks decisions: %s", payload.Result)
	}
}

func TestLongExpiredIdempotencyKeysArePruned(t *testing.T) {
	s := startIngest(t)
	s.sync(syncReq(banner("b1")))
	s.sync(syncReq(banner("b2")))
	s.db.MustExec(`UPDATE idempotency_keys SET expires_at = now() - interval '8 days' WHERE response::text LIKE '%"b1"%'`)
	n, err := s.svc.Store.PruneIdempotencyKeys(context.Background(), 7*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	if left := s.count(`SELECT count(*) FROM idempotency_keys`); left != 1 {
		t.Errorf("%d keys left, want the unexpired one", left)
	}
}

func TestTaskResultListsEveryCreativeOfTheSync(t *testing.T) {
	s := startIngest(t)
	s.sync(syncReq(banner("b0")))
	bad := banner("bad")
	bad["format_id"] = map[string]any{"agent_url": agentURL, "id": "display_1x1"}
	req := syncReq(banner("b0"), banner("b1"), bad)
	req["validation_mode"] = "lenient"
	req["push_notification_config"] = map[string]any{"url": "https://buyer.example.com/hook"}
	st, m, raw := s.sync(req)
	if st != 202 {
		t.Fatalf("%d %s", st, raw)
	}
	taskID := m["task_id"].(string)
	s.publish(&events.CreativeApprovedV1{Header: events.Header{EventID: watermill.NewUUID()},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "b1", Revision: 1, Score: 1, DecidedBy: "auto"}})
	var body []byte
	servicetest.EventuallyTrue(t, within, "task completion", func() bool {
		_, body = s.do("GET", "/api/v1/tasks/"+taskID, s.key, nil)
		return bytes.Contains(body, []byte(`"status":"completed"`))
	})
	var task struct {
		Result struct {
			Creatives []struct {
				CreativeID string `json:"creative_id"`
				Action     string `json:"action"`
				Status     string `json:"status"`
			} `json:"creatives"`
		} `json:"result"`
	}
	must(t, json.Unmarshal(body, &task))
	got := map[string]string{}
	for _, c := range task.Result.Creatives {
		got[c.CreativeID] = c.Action + "/" + c.Status
	}
	if len(got) != 3 || got["b0"] != "unchanged/pending_review" || got["b1"] != "created/approved" || got["bad"] != "failed/" {
		t.Errorf("task result %v: %s", got, body)
	}
}
