package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgtest"
	"example.com/creativesync/services/review/internal/postgres"
	"example.com/creativesync/services/review/internal/review"
)

const prefix = "tst_"

type fixture struct {
	db    *sqlx.DB
	store *postgres.Store
	svc   *review.Service
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	db := pgtest.Migrated(t, postgres.Migrate)
	// A second run must be a no-op: every replica migrates at start-up.
	if err := postgres.Migrate(context.Background(), db); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	logger := slog.New(slog.DiscardHandler)
	store := postgres.NewStore(db, prefix, logger)
	svc := review.NewService(store, review.NewScorer(review.DefaultRules(review.DefaultCategories())...), review.DefaultThresholds(), nil)
	return fixture{db: db, store: store, svc: svc}
}

// outboxEvent is one event written to the outbox.
type outboxEvent struct {
	Topic   string
	Payload map[string]any
}

// outbox reads the outbox in relay order; no relay runs in these tests.
func (f fixture) outbox(t *testing.T) []outboxEvent {
	t.Helper()
	var rows []struct {
		Topic   string `db:"topic"`
		Payload []byte `db:"payload"`
	}
	if err := f.db.Select(&rows, `SELECT topic, payload FROM `+outbox.Table+` ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	out := make([]outboxEvent, 0, len(rows))
	for _, row := range rows {
		var p map[string]any
		if err := json.Unmarshal(row.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, outboxEvent{Topic: row.Topic, Payload: p})
	}
	return out
}

func synced(account, creative string, rev int64) *events.CreativeSyncedV1 {
	return &events.CreativeSyncedV1{
		Header:     events.Header{EventID: fmt.Sprintf("ev-%s-%s-%d", account, creative, rev), CorrelationID: "corr-" + creative},
		AccountID:  account,
		CreativeID: creative,
		Revision:   rev,
		Name:       "Banner",
		FormatID:   events.FormatID{AgentURL: "https://creative.example.com", ID: "display_300x250"},
		Format: &events.FormatSnapshot{Name: "Medium rectangle", Assets: []events.FormatAsset{
			{AssetID: "image", AssetType: "image", Required: true},
		}},
		Assets: json.RawMessage(`{"image":{"asset_type":"image","url":"https://cdn.example.com/b.png","width":300,"height":250}}`),
	}
}

// aiUndisclosed lands in the human band (score 0.5).
func aiUndisclosed(ev *events.CreativeSyncedV1) *events.CreativeSyncedV1 {
	ev.Provenance = json.RawMessage(`{"digital_source_type":"trained_algorithmic_model"}`)
	return ev
}

func reviewEvent(t testing.TB, svc *review.Service, ev *events.CreativeSyncedV1) (review.Review, error) {
	t.Helper()
	c, err := review.ParseCreative(ev)
	if err != nil {
		t.Fatal(err)
	}
	return svc.ReviewCreative(context.Background(), c, review.SnapshotOf(ev), review.Origin{EventID: ev.EventID, CorrelationID: ev.CorrelationID})
}

func mustReview(t *testing.T, svc *review.Service, ev *events.CreativeSyncedV1) review.Review {
	t.Helper()
	rv, err := reviewEvent(t, svc, ev)
	if err != nil {
		t.Fatalf("reviewing %s@%d: %v", ev.CreativeID, ev.Revision, err)
	}
	return rv
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := apperr.Code(err); got != code {
		t.Fatalf("error %v has code %s, want %s", err, got, code)
	}
}

func TestAutoDecisionIsStoredWithItsEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rv := mustReview(t, f.svc, synced("acct", "good", 1))
	if rv.State != review.StateApproved || rv.DecidedBy != events.DecidedByAuto || rv.Score != 1 || rv.PolicyTriggered != review.PolicyAutoApprove {
		t.Fatalf("review = %+v", rv)
	}
	got, err := f.svc.Get(context.Background(), rv.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != review.StateApproved || got.Creative.Name != "Banner" || got.Thresholds != review.DefaultThresholds() ||
		got.CorrelationID != "corr-good" || got.SourceEventID != "ev-acct-good-1" || got.DecidedAt.IsZero() {
		t.Fatalf("stored review = %+v", got)
	}
	ob := f.outbox(t)
	if len(ob) != 1 || ob[0].Topic != prefix+"creative_approved_v1" {
		t.Fatalf("outbox = %+v", ob)
	}
	p := ob[0].Payload
	if p["correlation_id"] != "corr-good" || p["decided_by"] != "auto" || p["creative_id"] != "good" || p["revision"] != 1.0 {
		t.Fatalf("approved payload = %v", p)
	}
}

func TestRejectedAndQueuedEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	missing := synced("acct", "broken", 1)
	missing.Assets = json.RawMessage(`{}`)
	if rv := mustReview(t, f.svc, missing); rv.State != review.StateRejected {
		t.Fatalf("missing asset: state %s", rv.State)
	}
	if rv := mustReview(t, f.svc, aiUndisclosed(synced("acct", "ai", 1))); rv.State != review.StatePendingHuman || rv.DecidedBy != "" {
		t.Fatalf("AI: review %+v", rv)
	}
	ob := f.outbox(t)
	if len(ob) != 2 || ob[0].Topic != prefix+"creative_rejected_v1" || ob[1].Topic != prefix+"creative_review_requested_v1" {
		t.Fatalf("outbox = %+v", ob)
	}
	reasons := ob[0].Payload["reasons"].([]any)
	if r := reasons[0].(map[string]any); r["code"] != review.CodeRequiredAssetMissing || r["field"] != "assets.image" {
		t.Fatalf("rejection reasons = %v", reasons)
	}
	if ob[1].Payload["score"] != 0.5 {
		t.Fatalf("review requested payload = %v", ob[1].Payload)
	}
}

func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := synced("acct", "c1", 3)
	first := mustReview(t, f.svc, ev)
	ev.EventID = "another-delivery"
	_, err := reviewEvent(t, f.svc, ev)
	if !errors.Is(err, review.ErrAlreadyReviewed) {
		t.Fatalf("second review: err = %v, want ErrAlreadyReviewed", err)
	}
	got, err := f.svc.Get(context.Background(), first.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.SourceEventID != first.SourceEventID || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("redelivery changed the review: %+v", got)
	}
	if n := len(f.outbox(t)); n != 1 {
		t.Fatalf("outbox has %d events, want 1", n)
	}
}

func TestConcurrentDuplicatesEmitOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := reviewEvent(t, f.svc, synced("acct", "race", 1))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, review.ErrAlreadyReviewed):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d reviews succeeded, want 1", ok)
	}
	if got := len(f.outbox(t)); got != 1 {
		t.Fatalf("outbox has %d events, want 1", got)
	}
}

func TestOlderRevisionDoesNotOverwriteNewer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mustReview(t, f.svc, aiUndisclosed(synced("acct", "c", 1)))
	newer := synced("acct", "c", 3)
	newer.Assets = json.RawMessage(`{}`)
	mustReview(t, f.svc, newer) // rejected
	late := mustReview(t, f.svc, synced("acct", "c", 2))
	if late.SupersededBy != 3 {
		t.Fatalf("late revision 2: superseded_by %d, want 3", late.SupersededBy)
	}
	r1, _ := f.svc.Get(ctx, review.Key{AccountID: "acct", CreativeID: "c", Revision: 1})
	if r1.SupersededBy != 3 {
		t.Fatalf("revision 1: superseded_by %d, want 3", r1.SupersededBy)
	}
	r3, _ := f.svc.Get(ctx, review.Key{AccountID: "acct", CreativeID: "c", Revision: 3})
	if r3.State != review.StateRejected || r3.SupersededBy != 0 {
		t.Fatalf("revision 3 changed: %+v", r3)
	}
	ob := f.outbox(t)
	if len(ob) != 2 { // review requested for 1, rejected for 3; nothing for the late 2
		t.Fatalf("outbox = %+v", ob)
	}
	page, err := f.svc.List(ctx, review.ListQuery{State: review.StatePendingHuman})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Reviews) != 0 {
		t.Fatalf("superseded revision still queued: %+v", page.Reviews)
	}
	_, err = f.svc.Decide(ctx, r1.Key, review.HumanDecision{Verdict: review.VerdictApprove, Reviewer: "ana"})
	wantCode(t, err, review.CodeSuperseded)
}

func TestHumanDecision(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	queued := mustReview(t, f.svc, aiUndisclosed(synced("acct", "ai", 1)))
	if queued.Recommendation != review.VerdictApprove {
		t.Fatalf("recommendation %s, want approve at score 0.5", queued.Recommendation)
	}

	rv, err := f.svc.Decide(ctx, queued.Key, review.HumanDecision{Verdict: review.VerdictReject, Reviewer: " ana@seller.example ", Reason: "needs the AI label"})
	if err != nil {
		t.Fatal(err)
	}
	if rv.State != review.StateRejected || rv.DecidedBy != events.DecidedByHuman || rv.Reviewer != "ana@seller.example" ||
		!rv.HumanOverride || rv.DecisionReason != "needs the AI label" || rv.PolicyTriggered != review.PolicyUncertainScore || rv.DecidedAt.IsZero() {
		t.Fatalf("decided review = %+v", rv)
	}
	ob := f.outbox(t)
	last := ob[len(ob)-1]
	if len(ob) != 2 || last.Topic != prefix+"creative_rejected_v1" {
		t.Fatalf("outbox = %+v", ob)
	}
	p := last.Payload
	first := p["reasons"].([]any)[0].(map[string]any)
	if p["decided_by"] != "human" || p["reviewer"] != "ana@seller.example" || p["correlation_id"] != "corr-ai" ||
		first["code"] != review.CodeReviewerDecision || first["message"] != "needs the AI label" {
		t.Fatalf("rejected payload = %v", p)
	}

	_, err = f.svc.Decide(ctx, queued.Key, review.HumanDecision{Verdict: review.VerdictApprove, Reviewer: "bob"})
	wantCode(t, err, review.CodeAlreadyDecided)
	if n := len(f.outbox(t)); n != 2 {
		t.Fatalf("conflicting decision wrote an event: %d in outbox", n)
	}

	auto := mustReview(t, f.svc, synced("acct", "auto", 1))
	_, err = f.svc.Decide(ctx, auto.Key, review.HumanDecision{Verdict: review.VerdictReject, Reviewer: "bob", Reason: "no"})
	wantCode(t, err, review.CodeAlreadyDecided)

	_, err = f.svc.Decide(ctx, review.Key{AccountID: "acct", CreativeID: "nope", Revision: 1}, review.HumanDecision{Verdict: review.VerdictApprove, Reviewer: "bob"})
	wantCode(t, err, review.CodeNotFound)

	_, err = f.svc.Decide(ctx, queued.Key, review.HumanDecision{Verdict: "maybe", Reviewer: "bob"})
	wantCode(t, err, review.CodeInvalidRequest)
}

func TestSensitiveCategoryGoesToAPerson(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := synced("acct", "vote", 1)
	ev.Tags = []string{"election"}
	rv := mustReview(t, f.svc, ev)
	if rv.State != review.StatePendingHuman || rv.PolicyTriggered != review.PolicySensitiveCategory || rv.Score != 1 {
		t.Fatalf("review = %+v", rv)
	}
	got, err := f.svc.Decide(context.Background(), rv.Key, review.HumanDecision{Verdict: review.VerdictApprove, Reviewer: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if got.HumanOverride {
		t.Fatal("approving a creative the scorer recommends approving is not an override")
	}
}

func TestListPagesOldestFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var want []string
	for i := range 5 {
		acct := "a"
		if i%2 == 1 {
			acct = "b"
		}
		ev := aiUndisclosed(synced(acct, fmt.Sprintf("c%d", i), 1))
		mustReview(t, f.svc, ev)
		want = append(want, acct+"/"+ev.CreativeID)
	}
	mustReview(t, f.svc, synced("a", "approved", 1))

	var got []string
	q := review.ListQuery{State: review.StatePendingHuman, Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page, err := f.svc.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, rv := range page.Reviews {
			got = append(got, rv.AccountID+"/"+rv.CreativeID)
		}
		if page.Next == nil {
			break
		}
		q.After = page.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("queue = %v, want %v", got, want)
	}

	page, err := f.svc.List(ctx, review.ListQuery{State: review.StatePendingHuman, AccountID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Reviews) != 2 || page.Next != nil {
		t.Fatalf("account b queue = %d reviews", len(page.Reviews))
	}
	page, err = f.svc.List(ctx, review.ListQuery{State: review.StateApproved})
	if err != nil || len(page.Reviews) != 1 {
		t.Fatalf("approved list = %v, %v", page.Reviews, err)
	}
	n, err := f.store.CountQueue(ctx)
	if err != nil || n != 5 {
		t.Fatalf("CountQueue = %d, %v", n, err)
	}
	_, err = f.svc.List(ctx, review.ListQuery{State: "archived"})
	wantCode(t, err, review.CodeInvalidRequest)
	_, err = f.svc.List(ctx, review.ListQuery{Limit: review.MaxPageSize + 1})
	wantCode(t, err, review.CodeInvalidRequest)
}

func TestTenantPolicyChangesTheOutcome(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, own, err := f.svc.Policy(ctx, "lenient"); err != nil || own {
		t.Fatalf("policy before any is set: own=%v err=%v", own, err)
	}
	if err := f.svc.SetPolicy(ctx, "lead@x.example", "lenient", review.Standards{Thresholds: review.Thresholds{Approve: 0.5, Reject: 0.05}}); err != nil {
		t.Fatal(err)
	}
	th, own, err := f.svc.Policy(ctx, "lenient")
	if err != nil || !own || th.Approve != 0.5 {
		t.Fatalf("policy = %+v own=%v err=%v", th, own, err)
	}
	if rv := mustReview(t, f.svc, aiUndisclosed(synced("lenient", "ai", 1))); rv.State != review.StateApproved || rv.Thresholds.Approve != 0.5 {
		t.Fatalf("lenient tenant: %+v", rv)
	}
	if rv := mustReview(t, f.svc, aiUndisclosed(synced("strict", "ai", 1))); rv.State != review.StatePendingHuman {
		t.Fatalf("default tenant: %s", rv.State)
	}
	err = f.svc.SetPolicy(ctx, "lead@x.example", "lenient", review.Standards{Thresholds: review.Thresholds{Approve: 0.5, Reject: 0.5}})
	wantCode(t, err, review.CodeInvalidRequest)
	if err := f.svc.SetPolicy(ctx, "lead@x.example", "lenient", review.Standards{Thresholds: review.Thresholds{Approve: 0.95, Reject: 0.2}}); err != nil {
		t.Fatalf("updating a policy: %v", err)
	}
	if th, _, _ := f.svc.Policy(ctx, "lenient"); th.Approve != 0.95 || th.Reject != 0.2 {
		t.Fatalf("updated policy = %+v", th)
	}
}

func TestCancelledContextRollsBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := synced("acct", "c", 1)
	c, _ := review.ParseCreative(ev)
	if _, err := f.svc.ReviewCreative(ctx, c, review.SnapshotOf(ev), review.Origin{EventID: "x"}); err == nil {
		t.Fatal("review with a cancelled context succeeded")
	}
	if n := len(f.outbox(t)); n != 0 {
		t.Fatalf("outbox has %d events after a failed review", n)
	}
	// The same revision must still be reviewable.
	deadline, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if _, err := f.svc.ReviewCreative(deadline, c, review.SnapshotOf(ev), review.Origin{EventID: "x"}); err != nil {
		t.Fatal(err)
	}
}

// failingClassifier never answers usefully.
type failingClassifier struct{}

func (failingClassifier) Classify(context.Context, *review.Creative, review.Snapshot) ([]review.Finding, error) {
	return nil, errors.New("connection refused")
}

func TestAccountStandards(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	st := review.Standards{
		Thresholds:   review.DefaultThresholds(),
		BlockedTerms: []string{"banner"},
		Reasons:      []string{"Misleading claim"},
	}
	if err := f.svc.SetPolicy(ctx, "lea@x.example", "strict", st); err != nil {
		t.Fatal(err)
	}
	rv := mustReview(t, f.svc, synced("strict", "b", 1))
	if rv.State != review.StateRejected || len(rv.Findings) != 1 || rv.Findings[0].Code != review.CodeBlockedTerm {
		t.Fatalf("blocked term: %+v", rv)
	}
	if rv := mustReview(t, f.svc, synced("other", "b", 1)); rv.State != review.StateApproved {
		t.Fatalf("another account's standards applied: %s", rv.State)
	}
	// A bad document changes nothing.
	bad := st
	bad.AllowedDomains = []string{"https://shop.example.com"}
	wantCode(t, f.svc.SetPolicy(ctx, "lea@x.example", "strict", bad), review.CodeInvalidRequest)
	st.AIDisclosure = review.AIDisclosureRejectUndisclosed
	st.BlockedTerms = nil
	if err := f.svc.SetPolicy(ctx, "adm@x.example", "strict", st); err != nil {
		t.Fatal(err)
	}
	got, own, err := f.svc.Policy(ctx, "strict")
	if err != nil || !own || len(got.BlockedTerms) != 0 || got.AIDisclosure != review.AIDisclosureRejectUndisclosed || got.Reasons[0] != "Misleading claim" {
		t.Fatalf("stored standards: %+v %v %v", got, own, err)
	}
	if rv := mustReview(t, f.svc, aiUndisclosed(synced("strict", "ai", 1))); rv.State != review.StateRejected {
		t.Fatalf("undisclosed AI under reject_undisclosed: %s", rv.State)
	}

	// Each change is audited with who made it and what it replaced.
	recs, err := postgres.NewStaffStore(f.db).AuditLog(ctx, "account:strict", 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit: %+v %v", recs, err)
	}
	if recs[0].Actor != "adm@x.example" || recs[0].Action != "standards.update" || recs[0].Detail["before"] == nil ||
		recs[1].Actor != "lea@x.example" || recs[1].Detail["before"] != nil {
		t.Fatalf("audit records: %+v", recs)
	}

	// A classifier that fails sends the creative to a person.
	f.svc.SetClassifier(failingClassifier{})
	rv = mustReview(t, f.svc, synced("other", "c", 1))
	if rv.State != review.StatePendingHuman || rv.PolicyTriggered != review.PolicyClassifierUnavailable ||
		rv.Findings[len(rv.Findings)-1].Code != review.CodeClassifierUnavailable {
		t.Fatalf("classifier failure: %+v", rv)
	}
}

func TestQueue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mustReview(t, f.svc, aiUndisclosed(synced("acct", "a", 1)))
	mustReview(t, f.svc, aiUndisclosed(synced("acct", "b", 1)))
	insecure := synced("other", "c", 1)
	insecure.Assets = json.RawMessage(`{"image":{"asset_type":"image","url":"http://cdn.example.com/b.png"}}`)
	mustReview(t, f.svc, insecure) // 0.7, uncertain
	political := synced("acct", "d", 1)
	political.Name = "Vote for us"
	mustReview(t, f.svc, political) // 1, sensitive category
	// A re-sync of a keeps a's place at the front.
	mustReview(t, f.svc, aiUndisclosed(synced("acct", "a", 2)))

	keys := func(p review.QueuePage) string {
		var out []string
		for _, rv := range p.Reviews {
			out = append(out, fmt.Sprintf("%s@%d", rv.CreativeID, rv.Revision))
		}
		return strings.Join(out, ",")
	}
	f64 := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		q     review.QueueQuery
		want  string
		total int
	}{
		{review.QueueQuery{Limit: 10}, "a@2,b@1,c@1,d@1", 4},
		{review.QueueQuery{Limit: 10, Sort: "newest"}, "d@1,c@1,b@1,a@2", 4},
		{review.QueueQuery{Limit: 10, Sort: "score"}, "a@2,b@1,c@1,d@1", 4},
		{review.QueueQuery{Limit: 10, Sort: "-score"}, "d@1,c@1,a@2,b@1", 4},
		{review.QueueQuery{Limit: 2, Offset: 2}, "c@1,d@1", 4},
		{review.QueueQuery{Limit: 2, Offset: 8}, "", 4},
		{review.QueueQuery{Limit: 10, AccountID: "other"}, "c@1", 1},
		{review.QueueQuery{Limit: 10, Policy: review.PolicySensitiveCategory}, "d@1", 1},
		{review.QueueQuery{Limit: 10, FormatID: "display_300x250", MinScore: f64(0.6), MaxScore: f64(0.9)}, "c@1", 1},
		{review.QueueQuery{Limit: 10, FormatID: "video"}, "", 0},
	} {
		p, err := f.svc.Queue(ctx, tt.q)
		if err != nil {
			t.Fatalf("%+v: %v", tt.q, err)
		}
		if got := keys(p); got != tt.want || p.Total != tt.total {
			t.Errorf("%+v: %s (total %d), want %s (%d)", tt.q, got, p.Total, tt.want, tt.total)
		}
	}
	p, _ := f.svc.Queue(ctx, review.QueueQuery{Limit: 1})
	first, _ := f.svc.Get(ctx, review.Key{AccountID: "acct", CreativeID: "a", Revision: 1})
	if !p.Reviews[0].QueuedSince.Equal(first.CreatedAt) {
		t.Errorf("a@2 queued since %v, want a@1's %v", p.Reviews[0].QueuedSince, first.CreatedAt)
	}
	for _, q := range []review.QueueQuery{{Limit: 0}, {Limit: 1, Sort: "x"}, {Limit: 1, Policy: "auto_approve"}, {Limit: 1, Offset: -1},
		{Limit: 1, MinScore: f64(-0.1)}, {Limit: 1, MinScore: f64(0.5), MaxScore: f64(0.4)}} {
		_, err := f.svc.Queue(ctx, q)
		wantCode(t, err, review.CodeInvalidRequest)
	}
}
