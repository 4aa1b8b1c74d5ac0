package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Watermill's forwarder kept its outbox in these two tables; earlier
// versions of every service wrote there.
const (
	legacyTable   = "watermill_outbox"
	legacyOffsets = "watermill_offsets_outbox"
)

// initTimeout bounds Initialize, which may have a legacy backlog to move.
const initTimeout = 60 * time.Second

// moveLegacyRows moves the rows of Watermill's outbox that are left once
// the relayed ones are gone into outbox_events, in the forwarder's order
// (transaction id, offset), unwrapping its envelope
// ({destination_topic, uuid, payload (base64), metadata}). The moved rows
// are deleted from the old table in the same statement, so running it
// again, from another replica or on the next start, moves nothing twice.
// An old replica's forwarder that still runs may relay a row this moved as
// well: both publishes carry the event id, and JetStream keeps one.
const moveLegacyRows = `
WITH moved AS (
	DELETE FROM "watermill_outbox" m
	RETURNING m.transaction_id, m."offset", m.payload::json AS env
)
INSERT INTO "outbox_events" (event_id, topic, payload, metadata)
SELECT env->>'uuid', env->>'destination_topic', decode(COALESCE(env->>'payload', ''), 'base64'),
       CASE WHEN json_typeof(env->'metadata') = 'object' THEN (env->'metadata')::jsonb ELSE '{}'::jsonb END
FROM moved
ORDER BY transaction_id, "offset"`

// dropRelayedLegacyRows runs first: rows at or below the forwarder's
// acknowledged offset were relayed already and are deleted, not moved.
const dropRelayedLegacyRows = `
DELETE FROM "watermill_outbox" m
USING "watermill_offsets_outbox" o
WHERE o.consumer_group = ''
  AND (m.transaction_id < o.last_processed_transaction_id
       OR (m.transaction_id = o.last_processed_transaction_id AND m."offset" <= o.offset_acked))`

// moveLegacy moves unrelayed rows of Watermill's outbox, if that table
// exists, and returns how many it moved. The tables themselves are left in
// place: a replica still on the previous version may be writing to them
// during a rolling upgrade, and Prune keeps moving what it writes.
func moveLegacy(ctx context.Context, tx *sql.Tx) (int64, error) {
	var hasTable, hasOffsets bool
	err := tx.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL`,
		`"`+legacyTable+`"`, `"`+legacyOffsets+`"`).Scan(&hasTable, &hasOffsets)
	if err != nil {
		return 0, fmt.Errorf("looking for %s: %w", legacyTable, err)
	}
	if !hasTable {
		return 0, nil
	}
	// Without the offsets table the forwarder never ran, so nothing was
	// relayed and every row moves.
	if hasOffsets {
		if _, err := tx.ExecContext(ctx, dropRelayedLegacyRows); err != nil {
			return 0, fmt.Errorf("deleting relayed rows of %s: %w", legacyTable, err)
		}
	}
	res, err := tx.ExecContext(ctx, moveLegacyRows)
	if err != nil {
		return 0, fmt.Errorf("moving %s into %s: %w", legacyTable, Table, err)
	}
	return res.RowsAffected()
}
