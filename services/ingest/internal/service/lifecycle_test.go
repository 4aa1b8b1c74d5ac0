package service_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/servicetest"
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
