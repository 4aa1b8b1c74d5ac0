package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"example.com/creativesync/events"
	"example.com/creativesync/services/review/internal/review"
)

// storedReview is what a comparison looks at: everything but timestamps
// and ids that differ between two runs.
type storedReview struct {
	Key          string
	State        string
	Score        float64
	SupersededBy int64
}

func (f fixture) stored(t *testing.T) []storedReview {
	t.Helper()
	var rows []struct {
		AccountID    string  `db:"account_id"`
		CreativeID   string  `db:"creative_id"`
		Revision     int64   `db:"revision"`
		State        string  `db:"state"`
		Score        float64 `db:"score"`
		SupersededBy *int64  `db:"superseded_by"`
	}
	if err := f.db.Select(&rows, `SELECT account_id, creative_id, revision, state, score, superseded_by FROM reviews ORDER BY 1, 2, 3`); err != nil {
		t.Fatal(err)
	}
	out := make([]storedReview, len(rows))
	for i, r := range rows {
		out[i] = storedReview{Key: fmt.Sprintf("%s/%s@%d", r.AccountID, r.CreativeID, r.Revision), State: r.State, Score: r.Score}
		if r.SupersededBy != nil {
			out[i].SupersededBy = *r.SupersededBy
		}
	}
	return out
}

// outboxSummary lists the outbox as topic and creative revision, in relay
// order.
func (f fixture) outboxSummary(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range f.outbox(t) {
		out = append(out, fmt.Sprintf("%s %v@%v", e.Topic, e.Payload["creative_id"], e.Payload["revision"]))
	}
	return out
}

// A batch stores exactly what one review at a time would, in the same
// order: new creatives, a revision already stored, the same revision twice
// in the batch, a newer revision superseding a stored one, two revisions of
// one creative in the batch, and an older revision arriving after a newer
// one (stored as superseded, announced to nobody).
func TestCreateReviewsMatchesOneAtATime(t *testing.T) {
	t.Parallel()
	before := []*events.CreativeSyncedV1{synced("a1", "stored", 1), synced("a1", "updated", 1), synced("a1", "late", 2)}
	batch := []*events.CreativeSyncedV1{
		synced("a1", "new", 1),
		aiUndisclosed(synced("a2", "human", 1)),
		synced("a1", "stored", 1),  // already reviewed
		synced("a1", "twice", 1),   //
		synced("a1", "twice", 1),   // redelivered inside the batch
		synced("a1", "updated", 2), // supersedes revision 1
		synced("a1", "pair", 1),    //
		synced("a1", "pair", 2),    // supersedes the one just before
		synced("a1", "late", 1),    // older than the stored revision 2
	}

	one, many := newFixture(t), newFixture(t)
	for _, f := range []fixture{one, many} {
		for _, ev := range before {
			mustReview(t, f.svc, ev)
		}
	}
	var oneErrs []error
	for _, ev := range batch {
		_, err := reviewEvent(t, one.svc, ev)
		oneErrs = append(oneErrs, err)
	}
	items := make([]review.Item, len(batch))
	for i, ev := range batch {
		c, err := review.ParseCreative(ev)
		if err != nil {
			t.Fatal(err)
		}
		items[i] = review.Item{Creative: c, Snapshot: review.SnapshotOf(ev), Origin: review.Origin{EventID: ev.EventID, CorrelationID: ev.CorrelationID}}
	}
	rvs, errs, err := many.svc.ReviewCreatives(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if review.IsAlreadyReviewed(errs[i]) != review.IsAlreadyReviewed(oneErrs[i]) || (errs[i] == nil) != (oneErrs[i] == nil) {
			t.Errorf("item %d (%s@%d): batch error %v, one at a time %v", i, batch[i].CreativeID, batch[i].Revision, errs[i], oneErrs[i])
		}
		if errs[i] == nil && rvs[i].Key != items[i].Creative.Key {
			t.Errorf("item %d: review of %s returned for %s", i, rvs[i].Key, items[i].Creative.Key)
		}
	}
	if got, want := many.stored(t), one.stored(t); !reflect.DeepEqual(got, want) {
		t.Errorf("batch stored\n%v\none at a time\n%v", got, want)
	}
	if got, want := many.outboxSummary(t), one.outboxSummary(t); !reflect.DeepEqual(got, want) {
		t.Errorf("batch wrote to the outbox\n%v\none at a time\n%v", got, want)
	}
	if len(one.outboxSummary(t)) < len(before)+4 {
		t.Fatalf("the comparison saw only %d events; the fixture is wrong", len(one.outboxSummary(t)))
	}
}

// countingClassifier finds gambling in creatives named "gamble" and counts
// its calls.
type countingClassifier struct {
	mu    sync.Mutex
	calls int
}

func (c *countingClassifier) Classify(_ context.Context, cr *review.Creative, _ review.Snapshot) ([]review.Finding, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if cr.CreativeID == "gamble" {
		return []review.Finding{{Code: "GAMBLING", Message: "mentions odds", Factor: 0.4}}, nil
	}
	return nil, nil
}

// A batch scores each item under its account's content standards and
// folds in the classification the item carries, as one review at a time
// would; the batch itself never consults the classifier again, and an
// item that was not classified while a classifier is set goes to a person.
func TestCreateReviewsUsesStandardsAndClassification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	strict := review.Standards{Thresholds: review.DefaultThresholds(), BlockedTerms: []string{"banner"}}
	batch := []*events.CreativeSyncedV1{
		synced("strict", "a", 1), // blocked term: rejected
		synced("other", "gamble", 1),
		synced("strict", "b", 1),
		synced("other", "plain", 1),
	}
	one, many := newFixture(t), newFixture(t)
	oneCl, manyCl := &countingClassifier{}, &countingClassifier{}
	one.svc.SetClassifier(oneCl)
	many.svc.SetClassifier(manyCl)
	for _, f := range []fixture{one, many} {
		if err := f.svc.SetPolicy(ctx, "lea@x.example", "strict", strict); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range batch {
		mustReview(t, one.svc, ev)
	}
	items := make([]review.Item, len(batch))
	for i, ev := range batch {
		c, err := review.ParseCreative(ev)
		if err != nil {
			t.Fatal(err)
		}
		snap := review.SnapshotOf(ev)
		items[i] = review.Item{Creative: c, Snapshot: snap, Origin: review.Origin{EventID: ev.EventID}, Classification: many.svc.Classify(ctx, c, snap)}
	}
	if _, errs, err := many.svc.ReviewCreatives(ctx, items); err != nil || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
		t.Fatalf("batch: %v %v", errs, err)
	}
	got, want := many.stored(t), one.stored(t)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batch stored\n%v\none at a time\n%v", got, want)
	}
	if manyCl.calls != len(batch) || oneCl.calls != len(batch) {
		t.Errorf("classifier calls: batch %d, one at a time %d; want %d each", manyCl.calls, oneCl.calls, len(batch))
	}
	states := map[string]string{}
	for _, r := range got {
		states[r.Key] = r.State
	}
	if states["strict/a@1"] != string(review.StateRejected) || states["other/plain@1"] != string(review.StateApproved) ||
		states["other/gamble@1"] == string(review.StateApproved) {
		t.Errorf("states %v: standards or classification not applied", states)
	}

	// Not classified, with a classifier set: held for a person.
	ev := synced("other", "unclassified", 1)
	c, err := review.ParseCreative(ev)
	if err != nil {
		t.Fatal(err)
	}
	rvs, errs, err := many.svc.ReviewCreatives(ctx, []review.Item{{Creative: c, Snapshot: review.SnapshotOf(ev), Origin: review.Origin{EventID: ev.EventID}}})
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	if rvs[0].State != review.StatePendingHuman || rvs[0].PolicyTriggered != review.PolicyClassifierUnavailable {
		t.Fatalf("unclassified item: %s %s", rvs[0].State, rvs[0].PolicyTriggered)
	}
}
