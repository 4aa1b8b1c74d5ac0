package creative

import (
	"encoding/json"
	"testing"
	"time"

	"example.com/creativesync/events"
)

func TestPlanAccounts(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ids := 0
	newID := func(prefix string) string { ids++; return prefix + string(rune('a'+ids-1)) }
	existing := []Account{
		{ID: "acct_same", PrincipalID: "p", BrandDomain: "same.example", Operator: "op.example", Status: AccountSuspended, Billing: "operator", Declared: true},
		{ID: "acct_bill", PrincipalID: "p", BrandDomain: "bill.example", Operator: "op.example", Status: AccountActive, Billing: "operator", Declared: true},
		{ID: "acct_closed", PrincipalID: "p", BrandDomain: "closed.example", Operator: "op.example", Status: AccountClosed, Declared: true},
		{ID: "acct_left", PrincipalID: "p", BrandDomain: "left.example", Operator: "op.example", Status: AccountActive, Declared: true},
		{ID: "acct_ops", PrincipalID: "p", BrandDomain: "ops.example", Operator: "op.example", Status: AccountActive},
	}
	cmd := SyncAccountsCommand{DeleteMissing: true, Accounts: []AccountDecl{
		{Index: 0, BrandDomain: "same.example", Operator: "op.example", Billing: "operator"},
		{Index: 1, BrandDomain: "bill.example", Operator: "op.example", Billing: "agent"},
		{Index: 2, BrandDomain: "closed.example", Operator: "op.example", Billing: "operator"},
		{Index: 3, BrandDomain: "new.example", BrandID: "sub", Operator: "op.example", Billing: "operator", Sandbox: true},
	}}
	for _, policy := range []string{ApprovalActive, ApprovalPending} {
		ids = 0
		plan := planAccounts(Principal{ID: "p", AccountApproval: policy}, cmd, existing, accountEnv{Now: now, NewID: newID})
		want := []struct{ action, status, id string }{
			{ActionUnchanged, AccountSuspended, "acct_same"}, // a sync never changes status
			{ActionUpdated, AccountActive, "acct_bill"},
			{ActionFailed, AccountClosed, "acct_closed"},
			{ActionCreated, policy, "acct_a"},
		}
		for i, w := range want {
			r := plan.Response.Accounts[i]
			if r.Action != w.action || r.Status != w.status || r.AccountID != w.id {
				t.Errorf("%s: entry %d = %s/%s/%s, want %s/%s/%s", policy, i, r.Action, r.Status, r.AccountID, w.action, w.status, w.id)
			}
			if (r.Status == AccountPendingApproval) != (r.Setup != nil) {
				t.Errorf("%s: entry %d setup %v with status %s", policy, i, r.Setup, r.Status)
			}
		}
		if len(plan.Writes.Upserts) != 2 || plan.Writes.Upserts[0].ID != "acct_bill" || plan.Writes.Upserts[1].Name != "new.example (sub) c/o op.example" {
			t.Errorf("%s: upserts %+v", policy, plan.Writes.Upserts)
		}
		// delete_missing closes the declared account left out, never an
		// operator-made one or one already final.
		if len(plan.Writes.Closed) != 1 || plan.Writes.Closed[0] != "acct_left" {
			t.Errorf("%s: closed %v", policy, plan.Writes.Closed)
		}
	}
}

func TestAccountLifecycle(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{AccountPendingApproval, AccountActive, true},
		{AccountPendingApproval, AccountRejected, true},
		{AccountActive, AccountSuspended, true},
		{AccountSuspended, AccountActive, true},
		{AccountActive, AccountPaymentRequired, true},
		{AccountPaymentRequired, AccountActive, true},
		{AccountSuspended, AccountClosed, true},
		{AccountActive, AccountPendingApproval, false},
		{AccountRejected, AccountActive, false},
		{AccountClosed, AccountActive, false},
	} {
		if got := CanTransitionAccount(tc.from, tc.to); got != tc.ok {
			t.Errorf("%s → %s: %v", tc.from, tc.to, got)
		}
	}
	for status, code := range map[string]string{AccountActive: "", AccountPaymentRequired: "", AccountPendingApproval: CodeAccountSetupRequired,
		AccountSuspended: CodeAccountSuspended, AccountRejected: CodeAccountNotFound, AccountClosed: CodeAccountNotFound} {
		got := ""
		if re := AsRejection(gateWrite(Account{ID: "a", Status: status})); re != nil {
			got = re.Code()
		}
		if got != code {
			t.Errorf("%s gates with %q, want %q", status, got, code)
		}
	}
	if id, err := ParseAccountCursor(AccountCursor("acct_x")); err != nil || id != "acct_x" {
		t.Errorf("cursor round trip: %q %v", id, err)
	}
	if _, err := ParseAccountCursor(Cursor{Value: "v", AccountID: "a", CreativeID: "c"}.Encode()); err == nil {
		t.Error("a list_creatives cursor was accepted")
	}
}

func TestReplaceSubscribersKeepsProofOnlyForTheSameRegistration(t *testing.T) {
	proven := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	current := []Subscriber{
		{SubscriberID: "a", URL: "https://a.example/h", EventTypes: []string{"creative.status_changed"}, Active: true, ProvenAt: &proven},
		{SubscriberID: "b", URL: "https://b.example/h", EventTypes: []string{"creative.status_changed"}, Active: true, ProvenAt: &proven},
		{SubscriberID: "gone", URL: "https://g.example/h", EventTypes: []string{"creative.purged"}, Active: true, ProvenAt: &proven},
	}
	sent := []Subscriber{
		{SubscriberID: "a", URL: "https://a.example/h", EventTypes: []string{"creative.status_changed"}, Active: false},
		{SubscriberID: "b", URL: "https://b.example/other", EventTypes: []string{"creative.status_changed"}, Active: true},
		{SubscriberID: "c", URL: "https://c.example/h", EventTypes: []string{"creative.purged"}, Active: true},
	}
	got := replaceSubscribers(current, sent)
	if len(got) != 3 || got[0].ProvenAt == nil || got[1].ProvenAt != nil || got[2].ProvenAt != nil {
		t.Fatalf("replaced: %+v", got)
	}
	views := subscriberViews(got)
	if views[0].Active || views[1].Active || views[2].Active {
		t.Errorf("paused or unproven subscribers echoed active: %+v", views)
	}
	if subscribersEqual(got, current) || !subscribersEqual(got, replaceSubscribers(got, sent)) {
		t.Error("subscribersEqual")
	}
}

func TestLifecycleWebhooksOnlyForRepresentableTransitions(t *testing.T) {
	proven := time.Now()
	subs := []Subscriber{{SubscriberID: "s", URL: "https://s.example/h", EventTypes: []string{EventCreativeStatusChanged}, Active: true, ProvenAt: &proven}}
	for _, tc := range []struct {
		from, to, reason string
		fires            bool
	}{
		{StatusPendingReview, StatusApproved, "review_passed", true},
		{StatusPendingReview, StatusRejected, "review_failure", true},
		{StatusApproved, StatusRejected, "policy_revocation", true},
		{StatusApproved, StatusArchived, "seller_archive", true},
		{StatusApproved, StatusPendingReview, "seller_rereview", true},
		{StatusRejected, StatusProcessing, "", false}, // no webhook form for a move out of rejected
		{StatusArchived, StatusApproved, "", false},
	} {
		ev := &events.CreativeStatusChangedV1{NotificationID: "ntf_1", AccountID: "a", CreativeID: "c", FromStatus: tc.from, ToStatus: tc.to,
			InitiatedBy: events.InitiatedBySeller}
		hooks, err := lifecycleWebhooks(ev, subs, proven)
		if err != nil || (len(hooks) == 1) != tc.fires {
			t.Errorf("%s → %s: %d hooks, %v", tc.from, tc.to, len(hooks), err)
			continue
		}
		if tc.fires {
			var body StatusChangedWebhook
			if err := json.Unmarshal(hooks[0].(*events.NotificationRequestedV1).Payload, &body); err != nil || body.ReasonCode != tc.reason || body.Initiator != "seller" {
				t.Errorf("%s → %s: %+v %v", tc.from, tc.to, body, err)
			}
		}
	}
}
