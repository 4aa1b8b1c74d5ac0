// Package postgres stores deliveries, their attempts and the signing key.
// It owns every transaction and maps driver errors to the domain's errors,
// so nothing above it sees SQL.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/notifier/internal/notify"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies the notifier's migrations. It is safe to run from several
// replicas at once: goose holds an advisory lock.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	return pgdb.MigrateEmbedded(ctx, db.DB, migrations)
}

// Store is the notifier's Postgres store.
type Store struct {
	db *sqlx.DB
}

// NewStore returns a store on db.
func NewStore(db *sqlx.DB) *Store {
	if db == nil {
		panic("postgres: missing db")
	}
	return &Store{db: db}
}

const insertDelivery = `
INSERT INTO deliveries (
    idempotency_key, event_id, correlation_id, account_id, task_id, kind, url, token,
    auth_scheme, auth_credentials, payload, status, window_start, next_attempt_at, created_at, updated_at)
VALUES (
    :idempotency_key, :event_id, :correlation_id, :account_id, :task_id, :kind, :url, :token,
    :auth_scheme, :auth_credentials, :payload, :status, :window_start, :next_attempt_at, :created_at, :updated_at)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id`

// Insert stores d unless a delivery with its idempotency key exists. It
// reports whether a row was created; a redelivered event creates none.
func (s *Store) Insert(ctx context.Context, d notify.Delivery) (id int64, inserted bool, err error) {
	rows, err := s.db.NamedQueryContext(ctx, insertDelivery, toRow(d))
	if err != nil {
		return 0, false, fmt.Errorf("inserting delivery %s: %w", d.IdempotencyKey, err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return 0, false, fmt.Errorf("inserting delivery %s: %w", d.IdempotencyKey, err)
		}
		inserted = true
	}
	if err := rows.Err(); err != nil {
		return 0, false, fmt.Errorf("inserting delivery %s: %w", d.IdempotencyKey, err)
	}
	return id, inserted, nil
}

// claimDue leases due rows. SKIP LOCKED makes concurrent claims (other
// workers, other replicas) pass over rows another claim holds instead of
// waiting for them, so each row goes to exactly one claimer. Pushing
// next_attempt_at past the lease hides the row until the lease ends, so the
// attempt itself runs outside any transaction.
const claimDue = `
WITH due AS (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= $1
    ORDER BY next_attempt_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET attempts = d.attempts + 1,
    window_attempts = d.window_attempts + 1,
    next_attempt_at = $3,
    updated_at = $1
FROM due
WHERE d.id = due.id
RETURNING ` + deliveryColumnsD

// Claim implements notify.Queue.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]notify.Delivery, error) {
	var rows []deliveryRow
	if err := s.db.SelectContext(ctx, &rows, claimDue, now, limit, now.Add(lease)); err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", err)
	}
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.toDelivery()
	}
	return out, nil
}

// finishAttempt only matches while the caller still holds the lease it got
// from its claim (attempts unchanged, still pending).
const finishAttempt = `
UPDATE deliveries
SET status = $3,
    next_attempt_at = $4,
    last_status_code = $5,
    last_error = $6,
    updated_at = $7,
    finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE $7::timestamptz END
WHERE id = $1 AND attempts = $2 AND status = 'pending'`

const insertAttempt = `
INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, outcome)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

// Record implements notify.Queue.
func (s *Store) Record(ctx context.Context, d notify.Delivery, a notify.Attempt, t notify.Transition) error {
	now := a.StartedAt.Add(a.Duration)
	next := t.NextAttemptAt
	if t.Status != notify.StatusPending {
		next = now
	}
	lastErr := t.Reason
	if t.Status == notify.StatusDelivered {
		lastErr = ""
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, finishAttempt, d.ID, d.Attempts, string(t.Status), next, nullCode(a.StatusCode), lastErr, now)
		if err != nil {
			return fmt.Errorf("updating delivery %d: %w", d.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notify.ErrLeaseLost
		}
		_, err = tx.ExecContext(ctx, insertAttempt, d.ID, a.Number, a.StartedAt,
			float64(a.Duration)/float64(time.Millisecond), nullCode(a.StatusCode), a.Error, string(a.Outcome))
		if err != nil {
			return fmt.Errorf("recording attempt of delivery %d: %w", d.ID, err)
		}
		return nil
	})
}

// listDeliveries leaves out the payload and credentials: an operator list
// has no use for them, and credentials must never leave the database.
const listDeliveries = `
SELECT ` + listColumns + `
FROM deliveries
WHERE ($1 = '' OR status = $1) AND ($2 = '' OR account_id = $2)
ORDER BY id DESC
LIMIT $3`

// List returns the newest deliveries matching f.
func (s *Store) List(ctx context.Context, f notify.Filter) ([]notify.Delivery, error) {
	var rows []deliveryRow
	if err := s.db.SelectContext(ctx, &rows, listDeliveries, string(f.Status), f.AccountID, f.Limit); err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.toDelivery()
	}
	return out, nil
}

const getDelivery = `SELECT ` + deliveryColumns + ` FROM deliveries WHERE id = $1`

const listAttempts = `
SELECT delivery_id, attempt, started_at, duration_ms, status_code, error, outcome
FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id`

// Get returns a delivery and its attempts, oldest first.
func (s *Store) Get(ctx context.Context, id int64) (notify.Delivery, []notify.Attempt, error) {
	var r deliveryRow
	if err := s.db.GetContext(ctx, &r, getDelivery, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return notify.Delivery{}, nil, notify.ErrNotFound
		}
		return notify.Delivery{}, nil, fmt.Errorf("reading delivery %d: %w", id, err)
	}
	var ars []attemptRow
	if err := s.db.SelectContext(ctx, &ars, listAttempts, id); err != nil {
		return notify.Delivery{}, nil, fmt.Errorf("reading attempts of delivery %d: %w", id, err)
	}
	attempts := make([]notify.Attempt, len(ars))
	for i, a := range ars {
		attempts[i] = a.toAttempt()
	}
	return r.toDelivery(), attempts, nil
}

// requeue opens a new retry window: without resetting the window a
// re-queued delivery would be past its horizon or attempt budget at once.
const requeue = `
UPDATE deliveries
SET status = 'pending', next_attempt_at = $2, window_start = $2, window_attempts = 0,
    finished_at = NULL, updated_at = $2
WHERE id = $1 AND status IN ('failed', 'dead')
RETURNING ` + deliveryColumns

const deliveryExists = `SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = $1)`

// Requeue makes a failed or dead delivery pending again, due now.
func (s *Store) Requeue(ctx context.Context, id int64, now time.Time) (notify.Delivery, error) {
	var r deliveryRow
	err := s.db.GetContext(ctx, &r, requeue, id, now)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := s.db.GetContext(ctx, &exists, deliveryExists, id); err != nil {
			return notify.Delivery{}, fmt.Errorf("re-queueing delivery %d: %w", id, err)
		}
		if !exists {
			return notify.Delivery{}, notify.ErrNotFound
		}
		return notify.Delivery{}, notify.ErrNotRetryable
	}
	if err != nil {
		return notify.Delivery{}, fmt.Errorf("re-queueing delivery %d: %w", id, err)
	}
	return r.toDelivery(), nil
}

const queueDepth = `
SELECT count(*) FILTER (WHERE next_attempt_at <= $1) AS due, count(*) AS pending
FROM deliveries WHERE status = 'pending'`

// QueueDepth counts pending deliveries, and those of them that are due.
func (s *Store) QueueDepth(ctx context.Context, now time.Time) (due, pending int64, err error) {
	var r struct {
		Due     int64 `db:"due"`
		Pending int64 `db:"pending"`
	}
	if err := s.db.GetContext(ctx, &r, queueDepth, now); err != nil {
		return 0, 0, fmt.Errorf("measuring queue depth: %w", err)
	}
	return r.Due, r.Pending, nil
}

const insertSigningKey = `
INSERT INTO signing_keys (purpose, kid, seed) VALUES ('webhook', $1, $2)
ON CONFLICT (purpose) DO NOTHING`

const selectSigningKey = `SELECT kid, seed FROM signing_keys WHERE purpose = 'webhook'`

// SigningKey returns the stored webhook signing key, storing the candidate
// first if there is none. Replicas starting together race on the insert;
// the loser reads the winner's key, so all of them sign with one key.
func (s *Store) SigningKey(ctx context.Context, candidateID string, candidateSeed []byte) (id string, seed []byte, err error) {
	if _, err := s.db.ExecContext(ctx, insertSigningKey, candidateID, candidateSeed); err != nil {
		return "", nil, fmt.Errorf("storing signing key: %w", err)
	}
	var r struct {
		Kid  string `db:"kid"`
		Seed []byte `db:"seed"`
	}
	if err := s.db.GetContext(ctx, &r, selectSigningKey); err != nil {
		return "", nil, fmt.Errorf("reading signing key: %w", err)
	}
	return r.Kid, r.Seed, nil
}

// inTx runs fn in one transaction (see pgdb.InTx).
func (s *Store) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	return pgdb.InTx(ctx, s.db, fn)
}

func nullCode(code int) sql.NullInt32 {
	return sql.NullInt32{Int32: int32(code), Valid: code != 0}
}
