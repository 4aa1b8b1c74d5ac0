package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/lib/pq"
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
//     whitespace); it is stored in the row and never changes;
//   - errBadMetadata: the row's metadata cannot become headers (only a row
//     written by hand; Publish never writes one).
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
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) || errors.As(err, new(errBadMetadata)) {
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

// park records events the broker refused for good in outbox_parked, inside
// the batch's transaction, and announces each on the poison stream of its
// topic prefix. It returns the outbox ids that may be deleted: those whose
// announcement went out, or can never go out. An event whose announcement
// failed for a passing reason keeps its outbox row, so the next batch parks
// it again (a no-op, ON CONFLICT DO NOTHING) and repeats the announcement,
// which carries the event id as message id so JetStream keeps one. A crash
// before the commit leaves the same state: nothing parked, the row still
// there.
func (r *Relay) park(ctx context.Context, tx *sql.Tx, refused []outcome) ([]int64, error) {
	var (
		uuids, topics, reasons []string
		payloads               [][]byte
		metas                  []string
		sizes                  []int64
		announcements          []*nats.Msg
	)
	for _, o := range refused {
		size := len(o.row.payload)
		reason := reasonFor(o.err, size)
		uuids, topics, reasons = append(uuids, o.row.eventID), append(topics, o.row.topic), append(reasons, reason)
		payloads, sizes = append(payloads, o.row.payload), append(sizes, int64(size))
		meta := o.row.metadata
		var m map[string]string
		if json.Unmarshal(meta, &m) != nil {
			// Not an object of strings (errBadMetadata): keep what was
			// there, as a JSON string, for the person who looks at it.
			meta, _ = json.Marshal(string(meta)) // marshalling a string cannot fail
			m = nil
		}
		metas = append(metas, string(meta))
		fields := watermill.LogFields{"event_id": o.row.eventID, "topic": o.row.topic, "size": size, "reason": reason}
		r.logger.Error("Outbox event refused by the broker for good; parked in "+ParkedTable, o.err, fields)
		announcements = append(announcements, r.announcement(o.row, m, size, reason, fields))
	}
	_, err := tx.ExecContext(ctx, `
INSERT INTO "outbox_parked" (event_uuid, topic, payload, metadata, reason, size)
SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]::jsonb[], $5::text[], $6::bigint[])
ON CONFLICT (event_uuid, topic) DO NOTHING`,
		pq.StringArray(uuids), pq.StringArray(topics), pq.ByteaArray(payloads), pq.StringArray(metas), pq.StringArray(reasons), pq.Int64Array(sizes))
	if err != nil {
		return nil, fmt.Errorf("parking %d event(s) refused by the broker: %w", len(refused), err)
	}

	out := make([]outcome, len(refused))
	futures := make([]nats.PubAckFuture, len(refused))
	for i, msg := range announcements {
		if msg != nil {
			futures[i], out[i].err = r.js.PublishMsgAsync(msg)
		}
	}
	wait(futures, out, r.cfg.AckTimeout)
	var (
		done  []int64
		retry error
	)
	for i, o := range refused {
		switch err := out[i].err; {
		case err == nil:
			done = append(done, o.row.id)
		case permanent(err):
			// Only an invalid poison subject gets here (the body is
			// small), i.e. the event's prefix is itself invalid. The
			// parked row is the durable record; the relay moves on.
			r.logger.Error("Parked outbox event not announced: poison topic refused", err,
				watermill.LogFields{"event_id": o.row.eventID, "topic": o.row.topic})
			done = append(done, o.row.id)
		default:
			// Broker down or no poison stream yet: the row stays and
			// parking is repeated, idempotently, on the next batch.
			if retry == nil {
				retry = fmt.Errorf("announcing parked event %s: %w", o.row.eventID, err)
			}
		}
	}
	return done, retry
}

// announcement builds the poison message that reports a parked event, or
// returns nil when there is nowhere to announce it.
//
// The poison stream is that of the event's topic prefix, recovered from
// the topic, which Publish built as broker.Topic(prefix, event name); so
// the relay needs no configuration of its own and a test's or a parallel
// stack's events are announced on its own poison stream.
func (r *Relay) announcement(row outboxRow, meta map[string]string, size int, reason string, fields watermill.LogFields) *nats.Msg {
	name := meta[broker.MetaEventName]
	prefix, ok := strings.CutSuffix(row.topic, name)
	if name == "" || !ok {
		// Not written by Publish, so there is no prefix to announce
		// under. The parked row is the durable record and Parked counts
		// it; blocking the relay on an announcement nobody could receive
		// would bring back the defect parking exists to fix.
		r.logger.Error("Parked outbox event not announced: its topic does not end in its event name", nil, fields)
		return nil
	}
	body, err := json.Marshal(Announcement{
		EventID:   row.eventID,
		EventName: name,
		Topic:     row.topic,
		Size:      size,
		Reason:    reason,
		ParkedIn:  ParkedTable,
	})
	if err != nil {
		panic(err) // a struct of strings and ints always encodes
	}
	// Headers as the router's poison messages carry them, and the event
	// id as message id: a repeat after a crash is deduplicated, and the
	// announcement is found under the same id as the event.
	h := nats.Header{}
	h.Set(wnats.WatermillUUIDHdr, row.eventID)
	h.Set(nats.MsgIdHdr, row.eventID)
	h.Set(middleware.ReasonForPoisonedKey, reason)
	h.Set(middleware.PoisonedTopicKey, row.topic)
	h.Set(middleware.PoisonedHandlerKey, RelayHandlerName)
	h.Set(MetaParkedIn, ParkedTable)
	if id := meta[middleware.CorrelationIDMetadataKey]; id != "" {
		h.Set(middleware.CorrelationIDMetadataKey, id)
	}
	return &nats.Msg{Subject: broker.Topic(prefix, broker.PoisonTopic), Data: body, Header: h}
}
