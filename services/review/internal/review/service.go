package review

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
)

// Store persists reviews and policies. Each method is one transaction, and
// the events a callback returns are written to the outbox inside it, so a
// decision is never stored without its event or announced without being
// stored.
type Store interface {
	// CreateReview stores the review of a new revision. It serialises the
	// revisions of one creative, calls build with the newest revision already
	// stored for that creative (0 if none), stores the result, and marks
	// older revisions as superseded by it. If the revision is stored already
	// it returns ErrAlreadyReviewed without calling build.
	CreateReview(ctx context.Context, k Key, build func(newest int64) (Review, []events.Event, error)) (Review, error)
	// CreateReviews is CreateReview for many revisions in one transaction,
	// taken in order, each seeing the ones before it as stored. reviews[i]
	// and errs[i] are reqs[i]'s outcome (ErrAlreadyReviewed, or its build's
	// error, fails only that one); err means nothing was stored.
	CreateReviews(ctx context.Context, reqs []CreateRequest) (reviews []Review, errs []error, err error)
	// UpdateReview locks the review, lets update change it and stores the
	// change and the returned events. A missing review is a NotFound error.
	UpdateReview(ctx context.Context, k Key, update func(*Review) ([]events.Event, error)) (Review, error)
	GetReview(ctx context.Context, k Key) (Review, error)
	// History returns every stored revision of a creative, newest first.
	History(ctx context.Context, accountID, creativeID string) ([]Review, error)
	ListReviews(ctx context.Context, q ListQuery) (Page, error)
	// Queue returns one page of the human queue under q's filters and
	// order, and how many items match in all.
	Queue(ctx context.Context, q QueueQuery) (QueuePage, error)
	// Policy returns the account's content standards and whether it has
	// its own.
	Policy(ctx context.Context, accountID string) (Standards, bool, error)
	// PutPolicy stores an account's standards and an audit record of the
	// change (actor, before, after) in one transaction.
	PutPolicy(ctx context.Context, actor, accountID string, st Standards) error
}

// CreateRequest is one revision for Store.CreateReviews.
type CreateRequest struct {
	Key   Key
	Build func(newest int64) (Review, []events.Event, error)
}

// Observer is told about scores and decisions after they are committed;
// the service wires it to metrics.
type Observer interface {
	Scored(score float64)
	Decided(state State, decidedBy string)
}

type nopObserver struct{}

func (nopObserver) Scored(float64)        {}
func (nopObserver) Decided(State, string) {}

// Origin says which event caused a review.
type Origin struct {
	EventID       string
	CorrelationID string
}

// ListQuery selects reviews for the queue or an audit, oldest first.
type ListQuery struct {
	State     State
	AccountID string // empty for every account
	Limit     int
	After     *Cursor // continue after this position
}

// Cursor is a position in the oldest-first order of reviews.
type Cursor struct {
	CreatedAt time.Time
	Key
}

// Page is one page of reviews; Next is nil on the last page.
type Page struct {
	Reviews []Review
	Next    *Cursor
}

// Page sizes for ListReviews.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// QueueQuery selects a page of the human queue for the reviewer page.
type QueueQuery struct {
	AccountID string
	Policy    string // policy_triggered, e.g. sensitive_category
	FormatID  string
	// MinScore and MaxScore bound the score (inclusive); nil: unbounded.
	MinScore, MaxScore *float64
	// Sort is "oldest" (default: longest waiting first), "newest",
	// "score" (lowest first) or "-score".
	Sort   string
	Offset int
	Limit  int
}

// QueuePage is a page of the queue and the number of matching items.
type QueuePage struct {
	Reviews []Review
	Total   int
}

// QueueSorts are the orders the queue offers.
var QueueSorts = []string{"oldest", "newest", "score", "-score"}

// Queue returns a page of the human queue.
func (s *Service) Queue(ctx context.Context, q QueueQuery) (QueuePage, error) {
	if q.Sort == "" {
		q.Sort = "oldest"
	}
	if !slices.Contains(QueueSorts, q.Sort) {
		return QueuePage{}, invalidf("sort", "sort must be one of %s, got %q", strings.Join(QueueSorts, ", "), q.Sort)
	}
	switch q.Policy {
	case "", PolicyUncertainScore, PolicySensitiveCategory, PolicyClassifierUnavailable:
	default:
		return QueuePage{}, invalidf("policy", "policy must be %s, %s or %s, got %q", PolicyUncertainScore, PolicySensitiveCategory, PolicyClassifierUnavailable, q.Policy)
	}
	for _, b := range []struct {
		field string
		v     *float64
	}{{"min_score", q.MinScore}, {"max_score", q.MaxScore}} {
		if b.v != nil && (math.IsNaN(*b.v) || *b.v < 0 || *b.v > 1) {
			return QueuePage{}, invalidf(b.field, "%s must be between 0 and 1, got %v", b.field, *b.v)
		}
	}
	if q.MinScore != nil && q.MaxScore != nil && *q.MinScore > *q.MaxScore {
		return QueuePage{}, invalidf("min_score", "min_score (%v) is above max_score (%v)", *q.MinScore, *q.MaxScore)
	}
	if q.Offset < 0 || q.Offset > 100000 {
		return QueuePage{}, invalidf("offset", "offset must be between 0 and 100000, got %d", q.Offset)
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return QueuePage{}, invalidf("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	return s.store.Queue(ctx, q)
}

// HumanDecision is a person's verdict on a queued revision.
type HumanDecision struct {
	Verdict  Verdict
	Reviewer string
	Reason   string
}

// Limits on what a reviewer types, so a decision fits in an event.
const (
	maxReviewerLen = 200
	maxReasonLen   = 2000
)

// Validate checks the decision before anything is locked.
func (d HumanDecision) Validate() error {
	if d.Verdict != VerdictApprove && d.Verdict != VerdictReject {
		return invalidf("decision", "decision must be %q or %q, got %q", VerdictApprove, VerdictReject, d.Verdict)
	}
	if strings.TrimSpace(d.Reviewer) == "" {
		return invalidf("reviewer", "reviewer is required, so the decision can be traced to a person")
	}
	if utf8.RuneCountInString(d.Reviewer) > maxReviewerLen {
		return invalidf("reviewer", "reviewer is longer than %d characters", maxReviewerLen)
	}
	if d.Verdict == VerdictReject && strings.TrimSpace(d.Reason) == "" {
		return invalidf("reason", "a rejection needs a reason; the buyer sees it")
	}
	if utf8.RuneCountInString(d.Reason) > maxReasonLen {
		return invalidf("reason", "reason is longer than %d characters", maxReasonLen)
	}
	return nil
}

// Service runs the review use cases.
type Service struct {
	store      Store
	scorer     *Scorer
	defaults   Thresholds
	obs        Observer
	classifier Classifier
	now        func() time.Time
}

// SetClassifier plugs in an external classifier; nil removes it.
func (s *Service) SetClassifier(c Classifier) { s.classifier = c }

// NewService wires the use cases. defaults apply to tenants without a
// policy row. obs may be nil.
func NewService(store Store, scorer *Scorer, defaults Thresholds, obs Observer) *Service {
	if store == nil {
		panic("review: nil store")
	}
	if scorer == nil {
		panic("review: nil scorer")
	}
	if err := defaults.Validate(); err != nil {
		panic(fmt.Sprintf("review: default thresholds: %v", err))
	}
	if obs == nil {
		obs = nopObserver{}
	}
	return &Service{store: store, scorer: scorer, defaults: defaults, obs: obs, now: func() time.Time { return time.Now().UTC() }}
}

// ReviewCreative scores a synced revision, decides it under the tenant's
// thresholds and records the outcome with its event. A revision that is
// already stored returns ErrAlreadyReviewed and emits nothing. A revision
// older than one already stored is recorded as superseded and announced to
// nobody: its decision must not overwrite the newer one downstream.
func (s *Service) ReviewCreative(ctx context.Context, c Creative, snap Snapshot, origin Origin) (Review, error) {
	return s.ReviewItem(ctx, Item{Creative: c, Snapshot: snap, Origin: origin, Classification: s.Classify(ctx, c, snap)})
}

// ReviewItem is ReviewCreative for an item already classified (see
// Classify): the classifier is not consulted again.
func (s *Service) ReviewItem(ctx context.Context, it Item) (Review, error) {
	build, err := s.prepare(ctx, it, nil)
	if err != nil {
		return Review{}, err
	}
	rv, err := s.store.CreateReview(ctx, it.Creative.Key, build)
	if err != nil {
		return Review{}, err
	}
	s.observe(rv)
	return rv, nil
}

// Item is one synced revision for ReviewCreatives.
type Item struct {
	Creative Creative
	Snapshot Snapshot
	Origin   Origin
	// Classification is the external classifier's answer (Classify),
	// obtained before the item joins a batch: the classifier does network
	// I/O, which must not hold a batch, let alone its transaction. With a
	// classifier set, an item without one is held for a person.
	Classification *Classification
}

// ReviewCreatives is ReviewCreative for many revisions, recorded in one
// transaction: the group commit of the creative_synced_v1 consumer. The
// items must already be classified (Classify); each account's standards
// are loaded once per call. reviews[i] and errs[i] are items[i]'s outcome;
// err means nothing was recorded, and the caller may retry the items one
// by one (ReviewItem) to find out which of them is to blame.
func (s *Service) ReviewCreatives(ctx context.Context, items []Item) (reviews []Review, errs []error, err error) {
	reqs := make([]CreateRequest, len(items))
	standards := map[string]Standards{} // one policy lookup per account
	for i, it := range items {
		build, err := s.prepare(ctx, it, standards)
		if err != nil {
			return nil, nil, err
		}
		reqs[i] = CreateRequest{Key: it.Creative.Key, Build: build}
	}
	reviews, errs, err = s.store.CreateReviews(ctx, reqs)
	if err != nil {
		return nil, nil, err
	}
	for i, rv := range reviews {
		if errs[i] == nil {
			s.observe(rv)
		}
	}
	return reviews, errs, nil
}

// prepare scores it under its account's content standards, folds in its
// classification and returns the build step of its review. cache, if not
// nil, keeps the standards of the accounts already looked up. It does no
// network I/O besides the policy lookup.
func (s *Service) prepare(ctx context.Context, it Item, cache map[string]Standards) (func(newest int64) (Review, []events.Event, error), error) {
	c, snap, origin := it.Creative, it.Snapshot, it.Origin
	st, ok := cache[c.AccountID]
	if !ok {
		var err error
		if st, _, err = s.Policy(ctx, c.AccountID); err != nil {
			return nil, fmt.Errorf("loading content standards of %s: %w", c.AccountID, err)
		}
		if cache != nil {
			cache[c.AccountID] = st
		}
	}
	t := st.Thresholds
	a := s.scorer.ForStandards(st).Score(&c)
	switch {
	case it.Classification != nil:
		a = it.Classification.fold(a)
	case s.classifier != nil:
		a = (&Classification{Err: errNotClassified}).fold(a)
	}
	d := Decide(a, t)
	now := s.now()
	return func(newest int64) (Review, []events.Event, error) {
		rv := Review{
			Key:             c.Key,
			Score:           a.Score,
			Findings:        a.Findings,
			State:           d.State,
			Recommendation:  d.Recommendation,
			PolicyTriggered: d.Policy,
			Thresholds:      t,
			Creative:        snap,
			CorrelationID:   origin.CorrelationID,
			SourceEventID:   origin.EventID,
			CreatedAt:       now,
		}
		if rv.Decided() {
			rv.DecidedBy = events.DecidedByAuto
			rv.DecidedAt = now
		}
		if newest > c.Revision {
			rv.SupersededBy = newest
			return rv, nil, nil
		}
		return rv, []events.Event{outcomeEvent(rv)}, nil
	}, nil
}

// observe reports a recorded review to the observer.
func (s *Service) observe(rv Review) {
	s.obs.Scored(rv.Score)
	if rv.SupersededBy == 0 {
		s.obs.Decided(rv.State, events.DecidedByAuto)
	}
}

// Decide records a person's decision on a queued revision and announces it.
// Decisions are final: deciding a decided or superseded revision is a
// conflict, never a silent overwrite.
func (s *Service) Decide(ctx context.Context, k Key, hd HumanDecision) (Review, error) {
	hd.Reviewer = strings.TrimSpace(hd.Reviewer)
	hd.Reason = strings.TrimSpace(hd.Reason)
	if err := hd.Validate(); err != nil {
		return Review{}, err
	}
	now := s.now()
	rv, err := s.store.UpdateReview(ctx, k, func(rv *Review) ([]events.Event, error) {
		if err := decidable(*rv); err != nil {
			return nil, err
		}
		if rv.ClaimedByOther(hd.Reviewer, now) {
			return nil, errClaimed(*rv)
		}
		rv.ClaimedBy, rv.ClaimedUntil = "", time.Time{}
		rv.State = hd.Verdict.State()
		rv.DecidedBy = events.DecidedByHuman
		rv.Reviewer = hd.Reviewer
		rv.DecisionReason = hd.Reason
		rv.HumanOverride = hd.Verdict != rv.Recommendation
		rv.DecidedAt = now
		return []events.Event{outcomeEvent(*rv)}, nil
	})
	if err != nil {
		return Review{}, err
	}
	s.obs.Decided(rv.State, events.DecidedByHuman)
	return rv, nil
}

// decidable says why a revision can no longer be decided or claimed.
func decidable(rv Review) error {
	if rv.Decided() {
		by := rv.DecidedBy
		if rv.Reviewer != "" {
			by += " (" + rv.Reviewer + ")"
		}
		return apperr.Newf(CodeAlreadyDecided, "revision %d of creative %q was already %s by %s at %s; decisions are final",
			rv.Revision, rv.CreativeID, rv.State, by, rv.DecidedAt.Format(time.RFC3339))
	}
	if rv.SupersededBy != 0 {
		return apperr.Newf(CodeSuperseded, "revision %d of creative %q was superseded by revision %d; decide that one instead",
			rv.Revision, rv.CreativeID, rv.SupersededBy)
	}
	return nil
}

func errClaimed(rv Review) error {
	return apperr.Newf(CodeClaimed, "revision %d of creative %q is claimed by %s until %s; pick another item",
		rv.Revision, rv.CreativeID, rv.ClaimedBy, rv.ClaimedUntil.Format(time.RFC3339))
}

// ClaimTTL is how long a claim keeps others off an item. It is short so an
// abandoned tab does not hide work for long; claiming again extends it.
const ClaimTTL = 15 * time.Minute

// Claim reserves a queued revision for reviewer, or extends their claim.
// Claims change no decision and emit nothing.
func (s *Service) Claim(ctx context.Context, k Key, reviewer string) (Review, error) {
	if strings.TrimSpace(reviewer) == "" {
		return Review{}, invalidf("reviewer", "reviewer is required")
	}
	now := s.now()
	return s.store.UpdateReview(ctx, k, func(rv *Review) ([]events.Event, error) {
		if err := decidable(*rv); err != nil {
			return nil, err
		}
		if rv.ClaimedByOther(reviewer, now) {
			return nil, errClaimed(*rv)
		}
		rv.ClaimedBy, rv.ClaimedUntil = reviewer, now.Add(ClaimTTL)
		return nil, nil
	})
}

// Release gives a claim up. Only its holder may release it unless force is
// set (a lead freeing an item someone left).
func (s *Service) Release(ctx context.Context, k Key, reviewer string, force bool) (Review, error) {
	now := s.now()
	return s.store.UpdateReview(ctx, k, func(rv *Review) ([]events.Event, error) {
		if !force && rv.ClaimedByOther(reviewer, now) {
			return nil, errClaimed(*rv)
		}
		rv.ClaimedBy, rv.ClaimedUntil = "", time.Time{}
		return nil, nil
	})
}

// History returns a creative's reviewed revisions, newest first; an
// unknown creative is a NotFound error.
func (s *Service) History(ctx context.Context, accountID, creativeID string) ([]Review, error) {
	out, err := s.store.History(ctx, accountID, creativeID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, apperr.Newf(CodeNotFound, "no reviews of creative %q in account %q", creativeID, accountID)
	}
	return out, nil
}

// Get returns one review.
func (s *Service) Get(ctx context.Context, k Key) (Review, error) {
	return s.store.GetReview(ctx, k)
}

// List returns a page of reviews, oldest first. The human queue is
// State=pending_human; superseded revisions never appear in it.
func (s *Service) List(ctx context.Context, q ListQuery) (Page, error) {
	if q.State == "" {
		q.State = StatePendingHuman
	}
	if !q.State.Valid() {
		return Page{}, invalidf("state", "state must be pending_human, approved or rejected, got %q", q.State)
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return Page{}, invalidf("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	return s.store.ListReviews(ctx, q)
}

// Policy returns the content standards in force for an account and
// whether they are its own (false means the service defaults apply).
func (s *Service) Policy(ctx context.Context, accountID string) (Standards, bool, error) {
	st, ok, err := s.store.Policy(ctx, accountID)
	if err != nil || !ok {
		return DefaultStandards(s.defaults), false, err
	}
	return st, true, nil
}

// SetPolicy stores an account's standards; they apply to revisions scored
// from now on, never retroactively. actor is recorded in the audit log.
func (s *Service) SetPolicy(ctx context.Context, actor, accountID string, st Standards) error {
	if strings.TrimSpace(accountID) == "" {
		return invalidf("account_id", "account_id is required")
	}
	st = st.Normalize()
	if err := st.Validate(); err != nil {
		return err
	}
	return s.store.PutPolicy(ctx, actor, accountID, st)
}

// outcomeEvent is the event announcing a review's current state. It
// carries the correlation id of the sync that caused the review, so a
// buyer's request can be followed to its final decision.
func outcomeEvent(rv Review) events.Event {
	h := events.Header{CorrelationID: rv.CorrelationID, OccurredAt: rv.CreatedAt}
	if !rv.DecidedAt.IsZero() {
		h.OccurredAt = rv.DecidedAt
	}
	d := events.Decision{
		AccountID:  rv.AccountID,
		CreativeID: rv.CreativeID,
		Revision:   rv.Revision,
		Score:      rv.Score,
		Reasons:    rv.Reasons(),
		DecidedBy:  rv.DecidedBy,
		Reviewer:   rv.Reviewer,
	}
	switch rv.State {
	case StateApproved:
		return &events.CreativeApprovedV1{Header: h, Decision: d}
	case StateRejected:
		return &events.CreativeRejectedV1{Header: h, Decision: d}
	default:
		return &events.CreativeReviewRequestedV1{
			Header:     h,
			AccountID:  rv.AccountID,
			CreativeID: rv.CreativeID,
			Revision:   rv.Revision,
			Score:      rv.Score,
			Reasons:    rv.Reasons(),
		}
	}
}

// IsAlreadyReviewed reports whether err means a redelivered revision.
func IsAlreadyReviewed(err error) bool { return errors.Is(err, ErrAlreadyReviewed) }
