// Package messaging turns events from JetStream into deliveries. The handler
// only records the delivery and acks; the attempts happen in the dispatcher,
// so a slow or failing buyer never holds a JetStream message.
package messaging

import (
	"context"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/signing"
	"example.com/creativesync/services/notifier/internal/notify"
)

// HandlerNotificationRequested names the durable consumer
// (notifier_on_notification_requested) and the queue group replicas share.
const HandlerNotificationRequested = "on_notification_requested"

// Intake stores new deliveries.
type Intake interface {
	// Insert stores d unless its idempotency key is known; inserted is false
	// for a duplicate.
	Insert(ctx context.Context, d notify.Delivery) (id int64, inserted bool, err error)
}

// Handlers handles the events the notifier consumes:
// notification_requested_v1.
type Handlers struct {
	intake Intake
	wake   func()
	now    func() time.Time
	log    *slog.Logger
}

// NewHandlers returns the handlers; wake is called after a new delivery is
// stored so a worker picks it up without waiting for its next poll.
func NewHandlers(intake Intake, wake func(), log *slog.Logger) *Handlers {
	if intake == nil || wake == nil || log == nil {
		panic("messaging: handler needs intake, wake and a logger")
	}
	return &Handlers{intake: intake, wake: wake, now: time.Now, log: log}
}

// Register subscribes every handler through its durable consumer.
func (h *Handlers) Register(r *broker.Router) error {
	return r.Handle(HandlerNotificationRequested, (&events.NotificationRequestedV1{}).EventName(), h.OnNotificationRequested)
}

// OnNotificationRequested stores the delivery. Undecodable or invalid events
// return a permanent error and go to the poison stream; a database error is
// transient and the message is redelivered. A redelivered or republished
// event finds its row already there and is acked without effect.
func (h *Handlers) OnNotificationRequested(msg *message.Message) error {
	ctx := msg.Context()
	var ev events.NotificationRequestedV1
	if err := broker.Decode(msg, &ev); err != nil {
		h.log.WarnContext(ctx, "undecodable notification event", "message_uuid", msg.UUID, "err", err)
		return err
	}
	d, err := notify.FromEvent(&ev, h.now(), signing.CheckHMACSecret, signing.CheckPayload)
	if err != nil {
		h.log.WarnContext(ctx, "invalid notification event", "event_id", ev.EventID, "err", err)
		return err
	}
	id, inserted, err := h.intake.Insert(ctx, d)
	if err != nil {
		return err
	}
	if !inserted {
		h.log.InfoContext(ctx, "duplicate notification ignored", "idempotency_key", d.IdempotencyKey, "event_id", ev.EventID)
		return nil
	}
	h.log.InfoContext(ctx, "notification accepted", "delivery_id", id, "idempotency_key", d.IdempotencyKey,
		"account_id", d.AccountID, "kind", d.Kind)
	h.wake()
	return nil
}
