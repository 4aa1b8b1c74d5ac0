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
	ReviewCreative(ctx context.Context, c review.Creative, snap review.Snapshot, origin review.Origin) (review.Review, error)
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
}

// NewHandlers returns the handlers.
func NewHandlers(reviewer Reviewer, logger *slog.Logger) *Handlers {
	if reviewer == nil {
		panic("messaging: nil reviewer")
	}
	if logger == nil {
		panic("messaging: nil logger")
	}
	return &Handlers{reviewer: reviewer, logger: logger, timeout: 10 * time.Second}
}

// Register subscribes every handler through its durable consumer.
func (h *Handlers) Register(r *broker.Router) error {
	return r.Handle(HandlerCreativeSynced, (&events.CreativeSyncedV1{}).EventName(), h.OnCreativeSynced)
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

	rv, err := h.reviewer.ReviewCreative(ctx, c, review.SnapshotOf(&ev), origin)
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
