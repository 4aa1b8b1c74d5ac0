package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"

	"example.com/creativesync/platform/broker"
)

// ParkedTable holds events the broker refused for good. The relay writes a
// row there instead of retrying the event forever, so one bad event cannot
// hold back every later event of the service.
const ParkedTable = "outbox_parked"

// createParked is idempotent, so Initialize can run on every start. The key
// is (event_uuid, topic) because JetStream's dedup by message id is per
// stream too: a replayed outbox row of the same event parks once.
// payload is bytea, not jsonb: it is kept exactly as the broker was asked to
// take it, and a parked event is precisely one we cannot assume is well formed.
const createParked = `
CREATE TABLE IF NOT EXISTS "outbox_parked" (
	event_uuid text        NOT NULL,
	topic      text        NOT NULL,
	payload    bytea       NOT NULL,
	metadata   jsonb       NOT NULL,
	reason     text        NOT NULL,
	size       bigint      NOT NULL,
	parked_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (event_uuid, topic)
)`

// initLockKey serialises Initialize across replicas that start together:
// two concurrent CREATE TABLE IF NOT EXISTS can still collide in pg_type.
const initLockKey = 7_316_020_001

func createParkedTable(db *sql.DB) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, initLockKey); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, createParked); err != nil {
		return err
	}
	return tx.Commit()
}

// Parked counts parked events, for readiness and metrics: any row there is
// an event no consumer has seen and someone has to look at.
func Parked(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "outbox_parked"`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting parked outbox events: %w", err)
	}
	return n, nil
}

// Metadata of a parking announcement on the poison stream, besides
// Watermill's reason_poisoned / topic_poisoned / handler_poisoned keys that
// the router's poison messages carry too.
const (
	// MetaParkedIn names the table that holds the event. Its presence tells
	// a person (or a replay tool) that the message body is an announcement,
	// not the event: the event itself may be too large for the broker.
	MetaParkedIn = "parked_in"
	// RelayHandlerName is the handler_poisoned value of announcements.
	RelayHandlerName = "outbox_relay"
)

// Announcement is the body of the poison message that reports a parked
// event. It is deliberately small: ids, topic, size and reason only.
type Announcement struct {
	EventID   string `json:"event_id"`
	EventName string `json:"event_name,omitempty"`
	Topic     string `json:"topic"`
	Size      int    `json:"size"`
	Reason    string `json:"reason"`
	ParkedIn  string `json:"parked_in"`
}

// Server-side JetStream refusals that are about the message itself; they
// come back in the PubAck. nats.go has no constants for them.
const (
	// The message is larger than the stream's max_msg_size (checked
	// against nats-server 2.9.10).
	jsErrMessageTooLarge = 10054
	// The headers exceed the server's 64 KiB header limit
	// (JSStreamHeaderExceedsMaximumErr).
	jsErrHeaderTooLarge = 10097
)

// maxReasonLen bounds the reason kept in the table and sent in the
// announcement, so the announcement stays small whatever the error text.
const maxReasonLen = 1024

// permanent decides whether the broker refused this event for good.
//
// The rule: park only when what is wrong is the event's own bytes or
// subject, so that the next event would go through and retrying this one
// can never succeed. That is
//   - nats.ErrMaxPayload: the client refuses, before sending, an event whose
//     payload plus headers exceed the server's max_payload (1 MiB default);
//   - a JetStream PubAck refusing the size of the message or its headers;
//   - nats.ErrBadSubject: the topic is not a valid subject (empty, or with
//     whitespace); it is stored in the row and never changes.
//
// Everything else keeps being retried, because it is about the broker or a
// stream rather than the event, and an operator fixes it without touching
// the event: a connection that is closed, reconnecting or draining; timeouts;
// JetStream disabled or out of resources; and "no response from stream".
// The last is what an event gets when no stream captures its subject, but it
// is also what every event gets while JetStream is unavailable or a stream
// leader is being elected: the error alone cannot tell a missing stream from
// an outage, and parking on it would drain the whole outbox into the parked
// table during one. Our services create their streams at start-up
// (messaging rule 4), so a missing stream is a deploy bug that retrying
// survives without a manual replay.
func permanent(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) {
		return true
	}
	var apiErr *nats.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jsErrMessageTooLarge, jsErrHeaderTooLarge:
			return true
		}
	}
	return false
}

// reasonFor explains a permanent refusal for a person reading the parked
// row or the poison stream.
func reasonFor(err error, size int) string {
	var reason string
	switch {
	case errors.Is(err, nats.ErrMaxPayload):
		reason = fmt.Sprintf("event of %d bytes exceeds the NATS server's maximum payload (max_payload, 1 MiB by default): %v", size, err)
	case errors.Is(err, nats.ErrBadSubject):
		reason = fmt.Sprintf("topic is not a valid NATS subject: %v", err)
	default:
		reason = fmt.Sprintf("JetStream refused the event of %d bytes: %v", size, err)
	}
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	return reason
}

// parkTimeout bounds the database write and the announcement of one parked
// event; on timeout the forwarder retries the row, which is safe because
// both steps are idempotent.
const parkTimeout = 10 * time.Second

// parkingPublisher is what the forwarder publishes through. It passes every
// event to the real publisher; when the broker refuses one for good, it
// parks the event and announces it instead of failing, so the forwarder acks
// the row and moves on.
//
// Order matters for crash safety: the parked row is committed first, then
// the announcement is published, and only when Publish returns nil does the
// forwarder ack the outbox row. A crash anywhere before the ack makes the
// relay send the row again: the publish fails the same way, the insert is a
// no-op (ON CONFLICT DO NOTHING), and the announcement carries the event id
// as its message id, so JetStream drops the repeat inside its dedup window.
type parkingPublisher struct {
	next   message.Publisher
	db     *sql.DB
	logger watermill.LoggerAdapter
}

// Publish implements message.Publisher.
func (p *parkingPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		err := p.next.Publish(topic, msg)
		if err == nil {
			continue
		}
		if !permanent(err) {
			return err
		}
		if err := p.park(topic, msg, err); err != nil {
			return err
		}
	}
	return nil
}

// Close implements message.Publisher. The wrapped publisher belongs to the
// caller of NewRelay, who also uses it elsewhere (the router's poison queue).
func (p *parkingPublisher) Close() error { return nil }

func (p *parkingPublisher) park(topic string, msg *message.Message, pubErr error) error {
	ctx, cancel := context.WithTimeout(msg.Context(), parkTimeout)
	defer cancel()
	size := len(msg.Payload)
	reason := reasonFor(pubErr, size)
	meta, err := json.Marshal(msg.Metadata)
	if err != nil {
		return fmt.Errorf("parking event %s: encoding metadata: %w", msg.UUID, err)
	}
	_, err = p.db.ExecContext(ctx, `
INSERT INTO "outbox_parked" (event_uuid, topic, payload, metadata, reason, size)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (event_uuid, topic) DO NOTHING`, msg.UUID, topic, msg.Payload, meta, reason, size)
	if err != nil {
		return fmt.Errorf("parking event %s refused by the broker (%v): %w", msg.UUID, pubErr, err)
	}
	fields := watermill.LogFields{"event_id": msg.UUID, "topic": topic, "size": size, "reason": reason}
	p.logger.Error("Outbox event refused by the broker for good; parked in "+ParkedTable, pubErr, fields)
	return p.announce(topic, msg, Announcement{
		EventID:   msg.UUID,
		EventName: msg.Metadata.Get(broker.MetaEventName),
		Topic:     topic,
		Size:      size,
		Reason:    reason,
		ParkedIn:  ParkedTable,
	}, fields)
}

// announce publishes a on the poison stream of the event's topic prefix.
// The prefix is recovered from the topic, which outbox.Publish built as
// broker.Topic(prefix, event name), so the relay needs no configuration of
// its own and a test's or a parallel stack's events are announced on its own
// poison stream.
func (p *parkingPublisher) announce(topic string, msg *message.Message, a Announcement, fields watermill.LogFields) error {
	prefix, ok := strings.CutSuffix(topic, a.EventName)
	if a.EventName == "" || !ok {
		// Not written by outbox.Publish, so there is no prefix to announce
		// under. The parked row is the durable record and Parked counts it;
		// blocking the relay on an announcement nobody could receive would
		// bring back the defect parking exists to fix.
		p.logger.Error("Parked outbox event not announced: its topic does not end in its event name", nil, fields)
		return nil
	}
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("announcing parked event %s: %w", a.EventID, err)
	}
	// The event id as message id: the broker publisher turns it into
	// Nats-Msg-Id, so a repeat after a crash is deduplicated, and the
	// announcement is found under the same id as the event, like the
	// router's poison messages are.
	out := message.NewMessage(a.EventID, body)
	out.Metadata.Set(middleware.ReasonForPoisonedKey, a.Reason)
	out.Metadata.Set(middleware.PoisonedTopicKey, topic)
	out.Metadata.Set(middleware.PoisonedHandlerKey, RelayHandlerName)
	out.Metadata.Set(MetaParkedIn, ParkedTable)
	if id := middleware.MessageCorrelationID(msg); id != "" {
		middleware.SetCorrelationID(id, out)
	}
	poison := broker.Topic(prefix, broker.PoisonTopic)
	if err := p.next.Publish(poison, out); err != nil {
		if permanent(err) {
			// Only an invalid poison subject gets here (the body is
			// small), i.e. the event's prefix is itself invalid. Same
			// reasoning as above: the row is kept, the relay moves on.
			p.logger.Error("Parked outbox event not announced: poison topic refused", err, fields)
			return nil
		}
		// Transient (broker down, no poison stream yet): the forwarder
		// retries the row and parking is repeated idempotently.
		return fmt.Errorf("announcing parked event %s on %s: %w", a.EventID, poison, err)
	}
	return nil
}
