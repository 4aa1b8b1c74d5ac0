// Package outbox publishes events in the same Postgres transaction as the
// state change they describe, and relays them to JetStream afterwards.
//
// Publish writes a call's events with one multi-row INSERT into
// outbox_events and issues a NOTIFY that Postgres delivers on commit. The
// relay wakes on it (or on a poll timer, if notifications are unavailable),
// reads up to a batch of rows in id order, publishes them to JetStream
// asynchronously with Nats-Msg-Id = event id, waits for every ack and only
// then deletes the rows, in the transaction that read them. A crash
// between publish and delete loses nothing: the rows are still there and
// are sent again on restart, and JetStream drops the repeats by message id
// inside its duplicate window. An event the broker refuses for good (too
// large, invalid subject) is parked in outbox_parked and announced on the
// poison stream instead of being retried forever, so it cannot hold back
// the events behind it.
//
// It replaces Watermill's SQL forwarder, which publishes one row at a time
// and waits for each ack (2,650 events/s draining a backlog on the 2-core
// box, against about 40,000 for this relay; BenchmarkRelayBacklog):
// Initialize moves rows that forwarder had not relayed yet into the new
// table, so an upgrade loses nothing.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/lib/pq"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
)

// Table is the outbox table's name, for tests and operators.
const Table = "outbox_events"

// notifyChannel is the LISTEN/NOTIFY channel Publish notifies and the relay
// listens on. Channels are per database, like the table.
const notifyChannel = "outbox_events"

// createTable is idempotent, so Initialize can run on every start.
//
// Rows are relayed in id order. A bigserial is taken when a row is
// inserted, not when it commits, so a transaction that commits late can
// put rows behind ones already relayed; that only happens between
// transactions that ran at the same time, which have no order to keep.
// Anything that causally follows a commit (the next sync of the same
// creative, which waits for the first's row locks) inserts later and gets
// a higher id. Because rows are deleted once relayed rather than tracked
// by an offset, a late commit is never skipped.
//
// payload is bytea: the exact bytes the broker gets. metadata becomes the
// message headers, as Watermill's NATSMarshaler would have set them.
const createTable = `
CREATE TABLE IF NOT EXISTS "outbox_events" (
	id         bigserial   PRIMARY KEY,
	event_id   text        NOT NULL,
	topic      text        NOT NULL,
	payload    bytea       NOT NULL,
	metadata   jsonb       NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
)`

// Initialize creates the outbox and parked tables if they are missing and
// moves events a previous version left in Watermill's outbox table into the
// new one. Services call it at start-up, after their migrations. logger is
// unused and kept so callers need not change.
func Initialize(db *sql.DB, logger watermill.LoggerAdapter) error {
	_ = logger // kept for the callers' signature; nothing here logs
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // after Commit this is a no-op
	// Replicas that start together would otherwise race in
	// CREATE TABLE IF NOT EXISTS (pg_type collisions).
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, initLockKey); err != nil {
		return fmt.Errorf("locking outbox initialisation: %w", err)
	}
	if _, err := tx.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("creating %s: %w", Table, err)
	}
	if _, err := tx.ExecContext(ctx, createParked); err != nil {
		return fmt.Errorf("creating %s: %w", ParkedTable, err)
	}
	if _, err := moveLegacy(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// insertEvents writes one call's events with a single statement, whatever
// their number, and notifies the relay; Postgres delivers the notification
// on commit, and only once per transaction however often it is issued.
// WITH ORDINALITY … ORDER BY keeps the call's order in the ids.
//
// The notification has a price: Postgres serialises the commits of
// notifying transactions on one lock, so many concurrent transactions of
// one event each commit at about half the rate they would without it
// (BenchmarkPublish, events_per_tx=1); with batched writes (a sync's 100
// events, a review batch) it is invisible. If single-event transactions
// ever become the limit, notify from a few of them only and let the poll
// catch the rest.
const insertEvents = `
WITH ins AS (
	INSERT INTO "outbox_events" (event_id, topic, payload, metadata)
	SELECT e.event_id, e.topic, e.payload, e.metadata::jsonb
	FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) WITH ORDINALITY AS e(event_id, topic, payload, metadata, n)
	ORDER BY e.n
)
SELECT pg_notify('` + notifyChannel + `', '')`

// Publish writes evs to the outbox inside tx, in order. prefix is the topic
// prefix the events are relayed under. logger is unused and kept so callers
// need not change.
func Publish(tx *sql.Tx, prefix string, logger watermill.LoggerAdapter, evs ...events.Event) error {
	_ = logger // kept for the callers' signature; nothing here logs
	if len(evs) == 0 {
		return nil
	}
	ids := make([]string, len(evs))
	topics := make([]string, len(evs))
	payloads := make([][]byte, len(evs))
	metas := make([]string, len(evs))
	for i, ev := range evs {
		msg, err := broker.NewMessage(ev)
		if err != nil {
			return err
		}
		meta, err := json.Marshal(msg.Metadata)
		if err != nil {
			return fmt.Errorf("encoding metadata of %s: %w", ev.EventName(), err)
		}
		ids[i], topics[i], payloads[i], metas[i] = msg.UUID, broker.Topic(prefix, ev.EventName()), msg.Payload, string(meta)
	}
	if _, err := tx.Exec(insertEvents, pq.StringArray(ids), pq.StringArray(topics), pq.ByteaArray(payloads), pq.StringArray(metas)); err != nil {
		return fmt.Errorf("writing %d event(s) to the outbox: %w", len(evs), err)
	}
	return nil
}

// Prune moves events that a replica still running the previous version
// wrote to Watermill's outbox table into the outbox, and returns how many
// it moved. Relayed rows are deleted by the relay itself, so there is
// nothing else to prune; services keep calling it periodically so that a
// rolling upgrade loses nothing written by the old replicas.
func Prune(ctx context.Context, db *sql.DB) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("pruning outbox: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit this is a no-op
	n, err := moveLegacy(ctx, tx)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("pruning outbox: %w", err)
	}
	return n, nil
}

// Backlog counts rows waiting for the relay; exported as a gauge so relay
// lag is visible, and used by shutdown to wait for the outbox to drain.
func Backlog(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM "outbox_events"`).Scan(&n)
	return n, err
}
