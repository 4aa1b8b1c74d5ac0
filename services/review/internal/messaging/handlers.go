// Package messaging connects JetStream events to the review use cases.
package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/apperr"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/logging"
	"example.com/creativesync/services/review/internal/review"
)

// HandlerCreativeSynced names the durable consumer (review_on_creative_synced)
// and the queue group replicas share.
const HandlerCreativeSynced = "on_creative_synced"

// Reviewer is the use case the handlers drive.
type Reviewer interface {
	// Classify consults the external classifier (network I/O); the
	// handler calls it before the item waits for its batch, so that the
	// batch's transaction never waits on the network.
	Classify(ctx context.Context, c review.Creative, snap review.Snapshot) *review.Classification
	ReviewItem(ctx context.Context, it review.Item) (review.Review, error)
	ReviewCreatives(ctx context.Context, items []review.Item) ([]review.Review, []error, error)
}

// Group commit of creative_synced_v1: each message waits in a batch, so
// the handler runs with many messages at once. BatchSize bounds a
// transaction; two batches in flight let one fill while the other commits.
// MaxAckPending leaves each of a replica's subscriptions about two
// messages, far below AckWait at any plausible batch time.
const (
	BatchSize       = 128
	batchesInFlight = 2
	concurrency     = BatchSize * batchesInFlight
	maxAckPending   = 2 * concurrency
)

// reviewed is one message's outcome in a batch.
type reviewed struct {
	rv  review.Review
	err error
}

// Handlers handles the events the review service consumes.
type Handlers struct {
	reviewer Reviewer
	logger   *slog.Logger
	// timeout bounds one review's database work. It is detached from the
	// message's context on purpose: the subscriber cancels that context
	// when it closes, and a review half-way through its transaction should
	// finish rather than be rolled back and redone after AckWait.
	timeout time.Duration
	batch   *broker.Batcher[*pendingReview]
}

// pendingReview is one message's review waiting for its batch.
type pendingReview struct {
	ctx  context.Context
	item review.Item
	out  reviewed
}

// NewHandlers returns the handlers.
func NewHandlers(reviewer Reviewer, logger *slog.Logger) *Handlers {
	if reviewer == nil {
		panic("messaging: nil reviewer")
	}
	if logger == nil {
		panic("messaging: nil logger")
	}
	h := &Handlers{reviewer: reviewer, logger: logger, timeout: 10 * time.Second}
	h.batch = broker.NewBatcher(BatchSize, batchesInFlight, h.reviewBatch)
	return h
}

// Queued is how many reviews wait for a batch (not those being recorded);
// a gauge of the group commit's backlog, and what tests wait on.
func (h *Handlers) Queued() int { return h.batch.Queued() }

// reviewBatch records a batch of reviews in one transaction. If that
// transaction fails, every review is retried on its own (with the
// classification it already has), so one message
// that cannot be stored (a row the database refuses) fails alone instead of
// failing every batch it lands in; when the database itself is down, they
// all fail and the router retries each with its back-off.
func (h *Handlers) reviewBatch(batch []*pendingReview) []error {
	items := make([]review.Item, len(batch))
	for i, p := range batch {
		items[i] = p.item
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	rvs, errs, err := h.reviewer.ReviewCreatives(ctx, items)
	if err == nil {
		for i, p := range batch {
			p.out = reviewed{rv: rvs[i], err: errs[i]}
		}
		return make([]error, len(batch))
	}
	if len(batch) > 1 {
		h.logger.Warn("batch of reviews failed; reviewing each on its own", "size", len(batch), "err", err)
	}
	for _, p := range batch {
		rv, err := h.reviewer.ReviewItem(p.ctx, p.item)
		p.out = reviewed{rv: rv, err: err}
	}
	return make([]error, len(batch))
}

// Register subscribes every handler through its durable consumer.
func (h *Handlers) Register(r *broker.Router) error {
	return r.HandleWith(HandlerCreativeSynced, (&events.CreativeSyncedV1{}).EventName(),
		broker.HandlerOptions{Concurrency: concurrency, MaxAckPending: maxAckPending}, h.OnCreativeSynced)
}

// OnCreativeSynced reviews a synced creative revision. An event that cannot
// be decoded or breaks the contract is permanent and goes to the poison
// stream; any other failure is retried. A revision already reviewed is
// acknowledged without doing anything, which is what makes redelivery safe.
func (h *Handlers) OnCreativeSynced(msg *message.Message) error {
	var ev events.CreativeSyncedV1
	if err := broker.Decode(msg, &ev); err != nil {
		return err
	}
	c, err := review.ParseCreative(&ev)
	if err != nil {
		return apperr.Permanent(fmt.Errorf("creative_synced_v1 %s: %w", msg.UUID, err))
	}
	origin := review.Origin{EventID: ev.EventID, CorrelationID: ev.CorrelationID}
	if origin.EventID == "" {
		origin.EventID = msg.UUID
	}
	if origin.CorrelationID == "" {
		origin.CorrelationID = broker.CorrelationID(msg.Context())
	}
	ctx := logging.WithCorrelationID(context.WithoutCancel(msg.Context()), origin.CorrelationID)
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()

	snap := review.SnapshotOf(&ev)
	// Classified here, concurrently with the other messages in flight and
	// outside any transaction, rather than one by one in the batch.
	cl := h.reviewer.Classify(ctx, c, snap)
	p := &pendingReview{ctx: ctx, item: review.Item{Creative: c, Snapshot: snap, Origin: origin, Classification: cl}}
	if err := h.batch.Do(p); err != nil {
		return fmt.Errorf("reviewing %s: %w", c.Key, err)
	}
	rv, err := p.out.rv, p.out.err
	if review.IsAlreadyReviewed(err) {
		h.logger.InfoContext(ctx, "revision already reviewed; redelivery ignored",
			"account_id", c.AccountID, "creative_id", c.CreativeID, "revision", c.Revision, "event_id", origin.EventID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reviewing %s: %w", c.Key, err)
	}
	h.logger.InfoContext(ctx, "creative reviewed",
		"account_id", rv.AccountID, "creative_id", rv.CreativeID, "revision", rv.Revision,
		"score", rv.Score, "state", rv.State, "policy", rv.PolicyTriggered, "superseded_by", rv.SupersededBy)
	return nil
}
