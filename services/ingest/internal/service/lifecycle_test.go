package service_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/servicetest"
	"example.com/creativesync/services/ingest/internal/service"
)

// Seller-side transitions (review decisions, the controller) publish one
// creative_status_changed_v1 each; a redelivered decision and the buyer's
// own syncs publish none.
func TestSellerTransitionsPublishLifecycleEvents(t *testing.T) {
	s := startIngest(t)
	if st, m, _ := s.sync(syncReq(banner("lc1"), banner("lc2"))); st != 200 {
		t.Fatalf("sync: %d %v", st, m)
	}
	rejected := &events.CreativeRejectedV1{Header: events.Header{EventID: watermill.NewUUID(), CorrelationID: "c1"},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "lc1", Revision: 1, DecidedBy: events.DecidedByHuman,
			Reviewer: "r@seller.example", Reasons: []events.Reason{{Code: "MISLEADING", Message: "claims are not substantiated"}}}}
	s.publish(rejected)
	s.publish(&events.CreativeApprovedV1{Header: events.Header{EventID: watermill.NewUUID(), CorrelationID: "c2"},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "lc2", Revision: 1, Score: 0.97, DecidedBy: events.DecidedByAuto}})
	servicetest.EventuallyTrue(t, within, "two lifecycle events", func() bool { return s.bk.Count("creative_status_changed_v1") == 2 })

	byCreative := map[string]events.CreativeStatusChangedV1{}
	for _, m := range s.bk.Messages("creative_status_changed_v1") {
		var ev events.CreativeStatusChangedV1
		must(t, json.Unmarshal(m.Data, &ev))
		byCreative[ev.CreativeID] = ev
	}
	if ev := byCreative["lc1"]; ev.FromStatus != "pending_review" || ev.ToStatus != "rejected" || ev.InitiatedBy != events.InitiatedByReviewHuman ||
		ev.RejectionReason != "claims are not substantiated" || !strings.HasPrefix(ev.NotificationID, "ntf_") || ev.Revision != 1 {
		t.Errorf("rejection event: %+v", ev)
	}
	if ev := byCreative["lc2"]; ev.ToStatus != "approved" || ev.InitiatedBy != events.InitiatedByReviewAuto || ev.RejectionReason != "" {
		t.Errorf("approval event: %+v", ev)
	}

	// The same decision again changes nothing and publishes nothing; a
	// buyer's resync (a new revision) is not a seller transition either.
	s.publish(rejected)
	changed := banner("lc1")
	changed["name"] = "Renamed"
	if st, m, _ := s.sync(syncReq(changed)); st != 200 {
		t.Fatalf("resync: %d %v", st, m)
	}
	servicetest.EventuallyTrue(t, within, "the resync's creative_synced_v1", func() bool { return s.bk.Count("creative_synced_v1") == 3 })
	if n := s.bk.Count("creative_status_changed_v1"); n != 2 {
		t.Errorf("%d lifecycle events after a redelivery and a resync, want 2", n)
	}
}

// A seller-side transition becomes one creative.status_changed webhook per
// active, proven subscriber of the account that asked for it, queued for
// the notifier in the same transaction.
func TestTransitionsFanOutToProvenSubscribers(t *testing.T) {
	s := startIngest(t)
	ep := sharedEndpoint()
	subs := []any{
		map[string]any{"subscriber_id": "buyer-primary", "url": ep.URL("/ok/fan-primary"), "event_types": []string{"creative.status_changed"}},
		map[string]any{"subscriber_id": "purges-only", "url": ep.URL("/ok/fan-purge"), "event_types": []string{"creative.purged"}},
		map[string]any{"subscriber_id": "paused", "url": "https://paused.example/hooks", "event_types": []string{"creative.status_changed"}, "active": false},
	}
	d := decl("acct-1.example", "agency.example")
	d["notification_configs"] = subs
	if _, out := s.syncAccounts(s.key, syncAccountsReq(d)); out.Accounts[0].AccountID != "acct_1" {
		t.Fatalf("registering subscribers: %+v", out)
	}
	if st, m, _ := s.sync(syncReq(banner("fan1"))); st != 200 {
		t.Fatalf("sync: %d %v", st, m)
	}
	s.publish(&events.CreativeRejectedV1{Header: events.Header{EventID: watermill.NewUUID(), CorrelationID: "c-fan"},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "fan1", Revision: 1, DecidedBy: events.DecidedByAuto,
			Reasons: []events.Reason{{Code: "UNSAFE", Message: "landing page is malware"}}}})
	servicetest.EventuallyTrue(t, within, "the lifecycle event", func() bool { return s.bk.Count("creative_status_changed_v1") == 1 })
	servicetest.EventuallyTrue(t, within, "one webhook", func() bool { return s.bk.Count("notification_requested_v1") >= 1 })
	if n := s.bk.Count("notification_requested_v1"); n != 1 {
		t.Fatalf("%d webhooks, want 1 (only the active creative.status_changed subscriber)", n)
	}
	var note events.NotificationRequestedV1
	s.lastEvent("notification_requested_v1", &note)
	var lc events.CreativeStatusChangedV1
	s.lastEvent("creative_status_changed_v1", &lc)
	var body map[string]any
	must(t, json.Unmarshal(note.Payload, &body))
	tr, _ := body["transition"].(map[string]any)
	if note.Kind != "creative.status_changed" || note.URL != ep.URL("/ok/fan-primary") || body["idempotency_key"] != note.IdempotencyKey ||
		body["notification_id"] != lc.NotificationID || body["subscriber_id"] != "buyer-primary" || body["creative_id"] != "fan1" ||
		body["account_id"] != "acct_1" || body["notification_type"] != "creative.status_changed" || body["reason_code"] != "review_failure" ||
		body["reason_detail"] != "landing page is malware" || body["initiator"] != "system" || tr["from"] != "pending_review" || tr["to"] != "rejected" {
		t.Errorf("webhook %+v body %v", note, body)
	}
}

// Within the coalescing window, transitions of one creative reach a
// subscriber as one fire from the first state to the last.
func TestTransitionsCoalesceWithinTheWindow(t *testing.T) {
	t.Parallel()
	s := startIngestB(t, func(c *service.Config) { c.CoalesceWindow = 3 * time.Second })
	ep := sharedEndpoint()
	d := decl("acct-1.example", "agency.example")
	d["notification_configs"] = []any{map[string]any{"subscriber_id": "buyer-primary", "url": ep.URL("/ok/coalesce"),
		"event_types": []string{"creative.status_changed"}}}
	if _, out := s.syncAccounts(s.key, syncAccountsReq(d)); out.Accounts[0].Action != "updated" {
		t.Fatalf("registering: %+v", out)
	}
	if st, m, _ := s.sync(syncReq(banner("co1"))); st != 200 {
		t.Fatalf("sync: %d %v", st, m)
	}
	s.publish(&events.CreativeApprovedV1{Header: events.Header{EventID: watermill.NewUUID()},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "co1", Revision: 1, Score: 0.95, DecidedBy: events.DecidedByAuto}})
	servicetest.EventuallyTrue(t, within, "the approval", func() bool { return s.bk.Count("creative_status_changed_v1") == 1 })
	s.publish(&events.CreativeRejectedV1{Header: events.Header{EventID: watermill.NewUUID()},
		Decision: events.Decision{AccountID: "acct_1", CreativeID: "co1", Revision: 1, DecidedBy: events.DecidedByHuman,
			Reasons: []events.Reason{{Code: "MISLEADING", Message: "claims are not substantiated"}}}})
	servicetest.EventuallyTrue(t, within, "the rejection", func() bool { return s.bk.Count("creative_status_changed_v1") == 2 })
	if n := s.bk.Count("notification_requested_v1"); n != 0 {
		t.Fatalf("%d webhooks before the window passed", n)
	}
	servicetest.EventuallyTrue(t, within, "the coalesced webhook", func() bool { return s.bk.Count("notification_requested_v1") == 1 })
	var note events.NotificationRequestedV1
	s.lastEvent("notification_requested_v1", &note)
	var body struct {
		Transition struct{ From, To string } `json:"transition"`
		ReasonCode string                    `json:"reason_code"`
		Detail     string                    `json:"reason_detail"`
	}
	must(t, json.Unmarshal(note.Payload, &body))
	if body.Transition.From != "pending_review" || body.Transition.To != "rejected" || body.ReasonCode != "review_failure" ||
		body.Detail != "claims are not substantiated" {
		t.Errorf("coalesced webhook: %s", note.Payload)
	}
	if n := s.count(`SELECT count(*) FROM lifecycle_fires`); n != 0 {
		t.Errorf("%d fires left queued", n)
	}
}
