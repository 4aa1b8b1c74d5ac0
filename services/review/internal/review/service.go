package review

import (
	"context"
	"errors"
	"fmt"
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
	ListReviews(ctx context.Context, q ListQuery) (Page, error)
	// Policy returns the tenant's thresholds and whether it has any.
	Policy(ctx context.Context, accountID string) (Thresholds, bool, error)
	PutPolicy(ctx context.Context, accountID string, t Thresholds) error
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
	store    Store
	scorer   *Scorer
	defaults Thresholds
	obs      Observer
	now      func() time.Time
}

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
	build, err := s.prepare(ctx, c, snap, origin, nil)
	if err != nil {
		return Review{}, err
	}
	rv, err := s.store.CreateReview(ctx, c.Key, build)
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
}

// ReviewCreatives is ReviewCreative for many revisions, recorded in one
// transaction: the group commit of the creative_synced_v1 consumer.
// reviews[i] and errs[i] are items[i]'s outcome; err means nothing was
// recorded, and the caller may retry the items one by one to find out
// which of them is to blame.
func (s *Service) ReviewCreatives(ctx context.Context, items []Item) (reviews []Review, errs []error, err error) {
	reqs := make([]CreateRequest, len(items))
	thresholds := map[string]Thresholds{} // one policy lookup per account
	for i, it := range items {
		build, err := s.prepare(ctx, it.Creative, it.Snapshot, it.Origin, thresholds)
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

// prepare scores c and returns the build step of its review. cache, if not
// nil, keeps the thresholds of the accounts already looked up.
func (s *Service) prepare(ctx context.Context, c Creative, snap Snapshot, origin Origin, cache map[string]Thresholds) (func(newest int64) (Review, []events.Event, error), error) {
	a := s.scorer.Score(&c)
	t, ok := cache[c.AccountID]
	if !ok {
		var err error
		if t, err = s.thresholds(ctx, c.AccountID); err != nil {
			return nil, err
		}
		if cache != nil {
			cache[c.AccountID] = t
		}
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
		if rv.Decided() {
			by := rv.DecidedBy
			if rv.Reviewer != "" {
				by += " (" + rv.Reviewer + ")"
			}
			return nil, apperr.Newf(CodeAlreadyDecided, "revision %d of creative %q was already %s by %s at %s; decisions are final",
				rv.Revision, rv.CreativeID, rv.State, by, rv.DecidedAt.Format(time.RFC3339))
		}
		if rv.SupersededBy != 0 {
			return nil, apperr.Newf(CodeSuperseded, "revision %d of creative %q was superseded by revision %d; decide that one instead",
				rv.Revision, rv.CreativeID, rv.SupersededBy)
		}
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

// Policy returns the thresholds in force for a tenant and whether they are
// the tenant's own (false means the service defaults apply).
func (s *Service) Policy(ctx context.Context, accountID string) (Thresholds, bool, error) {
	t, ok, err := s.store.Policy(ctx, accountID)
	if err != nil || !ok {
		return s.defaults, false, err
	}
	return t, true, nil
}

// SetPolicy stores a tenant's thresholds; they apply to revisions scored
// from now on, never retroactively.
func (s *Service) SetPolicy(ctx context.Context, accountID string, t Thresholds) error {
	if strings.TrimSpace(accountID) == "" {
		return invalidf("account_id", "account_id is required")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	return s.store.PutPolicy(ctx, accountID, t)
}

func (s *Service) thresholds(ctx context.Context, accountID string) (Thresholds, error) {
	t, _, err := s.Policy(ctx, accountID)
	if err != nil {
		return Thresholds{}, fmt.Errorf("loading review policy of %s: %w", accountID, err)
	}
	return t, nil
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
