package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/review/internal/review"
)

// Store implements review.Store on Postgres.
type Store struct {
	db     *sqlx.DB
	prefix string
	logger watermill.LoggerAdapter
}

var _ review.Store = (*Store)(nil)

// NewStore returns a store over db. prefix is the topic prefix events
// written to the outbox are relayed under.
func NewStore(db *sqlx.DB, prefix string, logger *slog.Logger) *Store {
	if db == nil {
		panic("postgres: nil db")
	}
	if logger == nil {
		panic("postgres: nil logger")
	}
	return &Store{db: db, prefix: prefix, logger: broker.Logger(logger)}
}

const reviewColumns = `account_id, creative_id, revision, score, reasons, state, recommendation,
	policy_triggered, decided_by, reviewer, decision_reason, human_override, approve_threshold,
	reject_threshold, creative, correlation_id, source_event_id, superseded_by, created_at,
	decided_at, updated_at, claimed_by, claimed_until`

// lockCreative serialises work on one creative across replicas, so two
// revisions arriving together cannot both believe they are the newest.
// A hash collision only serialises two unrelated creatives, which is
// harmless.
const lockCreative = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

const selectRevisions = `
SELECT COALESCE(max(revision), 0) AS newest,
       COALESCE(bool_or(revision = $3), false) AS present
FROM reviews
WHERE account_id = $1 AND creative_id = $2`

const insertReview = `
INSERT INTO reviews (account_id, creative_id, revision, score, reasons, state, recommendation,
	policy_triggered, decided_by, reviewer, decision_reason, human_override, approve_threshold,
	reject_threshold, creative, correlation_id, source_event_id, superseded_by, created_at, decided_at)
VALUES (:account_id, :creative_id, :revision, :score, :reasons, :state, :recommendation,
	:policy_triggered, :decided_by, :reviewer, :decision_reason, :human_override, :approve_threshold,
	:reject_threshold, :creative, :correlation_id, :source_event_id, :superseded_by, :created_at, :decided_at)
RETURNING ` + reviewColumns

const supersedeOlder = `
UPDATE reviews SET superseded_by = :revision, updated_at = now()
WHERE account_id = :account_id AND creative_id = :creative_id
  AND revision < :revision AND superseded_by IS NULL`

const selectReview = `
SELECT ` + reviewColumns + ` FROM reviews
WHERE account_id = $1 AND creative_id = $2 AND revision = $3`

const selectReviewForUpdate = selectReview + ` FOR UPDATE`

// updateDecision writes only what a decision or a claim may change; the score, the
// findings and the snapshot are facts of the automated review.
const updateDecision = `
UPDATE reviews SET state = :state, decided_by = :decided_by, reviewer = :reviewer,
	decision_reason = :decision_reason, human_override = :human_override,
	decided_at = :decided_at, claimed_by = :claimed_by, claimed_until = :claimed_until,
	updated_at = now()
WHERE account_id = :account_id AND creative_id = :creative_id AND revision = :revision
RETURNING ` + reviewColumns

// listReviews pages oldest first by (created_at, key), which is unique and
// stable, so a page token survives inserts. Superseded revisions are hidden
// from the pending queue: nobody should decide a revision that no longer
// exists; in the decided lists they stay visible for audit.
const listReviews = `
SELECT ` + reviewColumns + ` FROM reviews
WHERE state = :state
  AND (:account_id = '' OR account_id = :account_id)
  AND (state <> 'pending_human' OR superseded_by IS NULL)
  AND (NOT :has_cursor OR (created_at, account_id, creative_id, revision) >
       (:after_created_at, :after_account_id, :after_creative_id, :after_revision))
ORDER BY created_at, account_id, creative_id, revision
LIMIT :limit`

const countQueue = `
SELECT count(*) FROM reviews WHERE state = 'pending_human' AND superseded_by IS NULL`

const selectPolicy = `
SELECT account_id, approve_threshold, reject_threshold, standards FROM review_policies WHERE account_id = $1`

const upsertPolicy = `
INSERT INTO review_policies (account_id, approve_threshold, reject_threshold, standards, updated_by)
VALUES (:account_id, :approve_threshold, :reject_threshold, :standards, :updated_by)
ON CONFLICT (account_id) DO UPDATE
SET approve_threshold = EXCLUDED.approve_threshold,
    reject_threshold = EXCLUDED.reject_threshold,
    standards = EXCLUDED.standards,
    updated_by = EXCLUDED.updated_by,
    updated_at = now()`

// CreateReview implements review.Store.
func (s *Store) CreateReview(ctx context.Context, k review.Key, build func(newest int64) (review.Review, []events.Event, error)) (review.Review, error) {
	var out review.Review
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, lockCreative, k.AccountID+"\x1f"+k.CreativeID); err != nil {
			return fmt.Errorf("locking creative %s: %w", k, err)
		}
		var existing struct {
			Newest  int64 `db:"newest"`
			Present bool  `db:"present"`
		}
		if err := tx.GetContext(ctx, &existing, selectRevisions, k.AccountID, k.CreativeID, k.Revision); err != nil {
			return fmt.Errorf("reading revisions of %s: %w", k, err)
		}
		if existing.Present {
			return review.ErrAlreadyReviewed
		}
		rv, evs, err := build(existing.Newest)
		if err != nil {
			return err
		}
		if rv.Key != k {
			return fmt.Errorf("review for %s built with key %s", k, rv.Key)
		}
		row, err := toReviewRow(rv)
		if err != nil {
			return err
		}
		if err := namedGet(ctx, tx, &row, insertReview, row); err != nil {
			if pgdb.IsUniqueViolation(err) {
				return review.ErrAlreadyReviewed
			}
			return fmt.Errorf("inserting review %s: %w", k, err)
		}
		// A first revision has nothing to supersede; skipping the update
		// saves a round trip on the common path.
		if !row.SupersededBy.Valid && existing.Newest > 0 {
			if _, err := tx.NamedExecContext(ctx, supersedeOlder, row); err != nil {
				return fmt.Errorf("superseding revisions older than %s: %w", k, err)
			}
		}
		if err := outbox.Publish(tx.Tx, s.prefix, s.logger, evs...); err != nil {
			return err
		}
		out, err = row.toReview()
		return err
	})
	return out, err
}

// lockCreatives takes the advisory locks of several creatives in one round
// trip, in hash order: two batches that share creatives then lock them in
// the same order and cannot deadlock. The ordered subquery makes the order
// the one the locks are taken in.
const lockCreatives = `
SELECT pg_advisory_xact_lock(h) FROM (
	SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1
) AS locks`

// selectRevisionsOf reads every stored revision of several creatives.
const selectRevisionsOf = `
SELECT r.account_id, r.creative_id, r.revision
FROM reviews r
JOIN unnest($1::text[], $2::text[]) AS k(account_id, creative_id)
  ON r.account_id = k.account_id AND r.creative_id = k.creative_id`

// insertReviews is insertReview for many rows: sqlx expands the VALUES
// clause once per row of the slice it is given.
const insertReviews = `
INSERT INTO reviews (account_id, creative_id, revision, score, reasons, state, recommendation,
	policy_triggered, decided_by, reviewer, decision_reason, human_override, approve_threshold,
	reject_threshold, creative, correlation_id, source_event_id, superseded_by, created_at, decided_at)
VALUES (:account_id, :creative_id, :revision, :score, :reasons, :state, :recommendation,
	:policy_triggered, :decided_by, :reviewer, :decision_reason, :human_override, :approve_threshold,
	:reject_threshold, :creative, :correlation_id, :source_event_id, :superseded_by, :created_at, :decided_at)`

// maxInsertRows keeps one INSERT below Postgres' 65,535 parameters (20 a
// row).
const maxInsertRows = 1000

// CreateReviews implements review.Store: CreateReview for many revisions in
// one transaction, with a constant number of statements however many there
// are (the supersede updates apart, one per revision that replaces a stored
// one). Revisions are taken in the order given, each seeing the ones before
// it as stored, so the outcome is the one CreateReview called in that order
// would give.
func (s *Store) CreateReviews(ctx context.Context, reqs []review.CreateRequest) ([]review.Review, []error, error) {
	out := make([]review.Review, len(reqs))
	errs := make([]error, len(reqs))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		clear(out) // InTx may run this again after a serialization failure
		clear(errs)
		var locks, accounts, creatives []string
		seen := map[string]bool{}
		for _, r := range reqs {
			ck := r.Key.AccountID + "\x1f" + r.Key.CreativeID
			if !seen[ck] {
				seen[ck] = true
				locks = append(locks, ck)
				accounts, creatives = append(accounts, r.Key.AccountID), append(creatives, r.Key.CreativeID)
			}
		}
		if _, err := tx.ExecContext(ctx, lockCreatives, pq.StringArray(locks)); err != nil {
			return fmt.Errorf("locking %d creatives: %w", len(locks), err)
		}
		var stored []struct {
			AccountID  string `db:"account_id"`
			CreativeID string `db:"creative_id"`
			Revision   int64  `db:"revision"`
		}
		if err := tx.SelectContext(ctx, &stored, selectRevisionsOf, pq.StringArray(accounts), pq.StringArray(creatives)); err != nil {
			return fmt.Errorf("reading revisions of %d creatives: %w", len(locks), err)
		}
		newest := map[string]int64{}
		present := map[review.Key]bool{}
		for _, r := range stored {
			k := review.Key{AccountID: r.AccountID, CreativeID: r.CreativeID, Revision: r.Revision}
			present[k] = true
			ck := r.AccountID + "\x1f" + r.CreativeID
			newest[ck] = max(newest[ck], r.Revision)
		}
		var (
			rows       []reviewRow
			supersedes []reviewRow
			evs        []events.Event
		)
		for i, r := range reqs {
			if present[r.Key] {
				errs[i] = review.ErrAlreadyReviewed
				continue
			}
			ck := r.Key.AccountID + "\x1f" + r.Key.CreativeID
			rv, revEvs, err := r.Build(newest[ck])
			if err == nil && rv.Key != r.Key {
				err = fmt.Errorf("review for %s built with key %s", r.Key, rv.Key)
			}
			var row reviewRow
			if err == nil {
				row, err = toReviewRow(rv)
			}
			if err == nil {
				row.UpdatedAt = row.CreatedAt
				out[i], err = row.toReview()
			}
			if err != nil {
				errs[i] = err
				continue
			}
			if !row.SupersededBy.Valid && newest[ck] > 0 {
				supersedes = append(supersedes, row)
			}
			present[r.Key] = true
			newest[ck] = max(newest[ck], r.Key.Revision)
			rows = append(rows, row)
			evs = append(evs, revEvs...)
		}
		for chunk := range slices.Chunk(rows, maxInsertRows) {
			if _, err := tx.NamedExecContext(ctx, insertReviews, chunk); err != nil {
				return fmt.Errorf("inserting %d reviews: %w", len(chunk), err)
			}
		}
		// In the order given, as CreateReview would have run them: each
		// marks what is older than it and not yet superseded.
		for _, row := range supersedes {
			if _, err := tx.NamedExecContext(ctx, supersedeOlder, row); err != nil {
				return fmt.Errorf("superseding revisions older than %s/%s/%d: %w", row.AccountID, row.CreativeID, row.Revision, err)
			}
		}
		return outbox.Publish(tx.Tx, s.prefix, s.logger, evs...)
	})
	if err != nil {
		return nil, nil, err
	}
	return out, errs, nil
}

// UpdateReview implements review.Store.
func (s *Store) UpdateReview(ctx context.Context, k review.Key, update func(*review.Review) ([]events.Event, error)) (review.Review, error) {
	var out review.Review
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row reviewRow
		if err := tx.GetContext(ctx, &row, selectReviewForUpdate, k.AccountID, k.CreativeID, k.Revision); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return review.NotFound(k)
			}
			return fmt.Errorf("loading review %s: %w", k, err)
		}
		rv, err := row.toReview()
		if err != nil {
			return err
		}
		evs, err := update(&rv)
		if err != nil {
			return err
		}
		rv.Key = k
		updated, err := toReviewRow(rv)
		if err != nil {
			return err
		}
		if err := namedGet(ctx, tx, &row, updateDecision, updated); err != nil {
			return fmt.Errorf("updating review %s: %w", k, err)
		}
		if err := outbox.Publish(tx.Tx, s.prefix, s.logger, evs...); err != nil {
			return err
		}
		out, err = row.toReview()
		return err
	})
	return out, err
}

// GetReview implements review.Store.
func (s *Store) GetReview(ctx context.Context, k review.Key) (review.Review, error) {
	var row reviewRow
	if err := s.db.GetContext(ctx, &row, selectReview, k.AccountID, k.CreativeID, k.Revision); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return review.Review{}, review.NotFound(k)
		}
		return review.Review{}, fmt.Errorf("loading review %s: %w", k, err)
	}
	return row.toReview()
}

type listParams struct {
	State           string    `db:"state"`
	AccountID       string    `db:"account_id"`
	HasCursor       bool      `db:"has_cursor"`
	AfterCreatedAt  time.Time `db:"after_created_at"`
	AfterAccountID  string    `db:"after_account_id"`
	AfterCreativeID string    `db:"after_creative_id"`
	AfterRevision   int64     `db:"after_revision"`
	Limit           int       `db:"limit"`
}

// ListReviews implements review.Store.
func (s *Store) ListReviews(ctx context.Context, q review.ListQuery) (review.Page, error) {
	p := listParams{State: string(q.State), AccountID: q.AccountID, Limit: q.Limit + 1}
	if q.After != nil {
		p.HasCursor = true
		p.AfterCreatedAt = q.After.CreatedAt
		p.AfterAccountID = q.After.AccountID
		p.AfterCreativeID = q.After.CreativeID
		p.AfterRevision = q.After.Revision
	}
	rows, err := s.db.NamedQueryContext(ctx, listReviews, p)
	if err != nil {
		return review.Page{}, fmt.Errorf("listing reviews: %w", err)
	}
	defer rows.Close()
	page := review.Page{Reviews: []review.Review{}}
	for rows.Next() {
		var row reviewRow
		if err := rows.StructScan(&row); err != nil {
			return review.Page{}, fmt.Errorf("reading review row: %w", err)
		}
		rv, err := row.toReview()
		if err != nil {
			return review.Page{}, err
		}
		page.Reviews = append(page.Reviews, rv)
	}
	if err := rows.Err(); err != nil {
		return review.Page{}, fmt.Errorf("listing reviews: %w", err)
	}
	// One row more than asked tells whether another page exists without a
	// second count query.
	if len(page.Reviews) > q.Limit {
		page.Reviews = page.Reviews[:q.Limit]
		last := page.Reviews[len(page.Reviews)-1]
		page.Next = &review.Cursor{CreatedAt: last.CreatedAt, Key: last.Key}
	}
	return page, nil
}

// queueOrders are the ORDER BY clauses of the queue's sorts; the key
// columns make every order total, so offsets are stable between requests.
var queueOrders = map[string]string{
	"oldest": "queued_since, created_at, account_id, creative_id, revision",
	"newest": "queued_since DESC, created_at DESC, account_id, creative_id, revision",
	"score":  "score, queued_since, account_id, creative_id, revision",
	"-score": "score DESC, queued_since, account_id, creative_id, revision",
}

// Queue implements review.Store. queued_since is the oldest pending
// revision of the same creative, so a re-synced creative keeps its place
// instead of going to the back of the queue.
func (s *Store) Queue(ctx context.Context, q review.QueueQuery) (review.QueuePage, error) {
	order, ok := queueOrders[q.Sort]
	if !ok {
		return review.QueuePage{}, fmt.Errorf("unknown queue sort %q", q.Sort)
	}
	var rows []struct {
		reviewRow
		QueuedSince time.Time `db:"queued_since"`
		Total       int       `db:"total"`
	}
	err := s.db.SelectContext(ctx, &rows, `
SELECT * FROM (
  SELECT `+reviewColumns+`,
    (SELECT min(o.created_at) FROM reviews o
      WHERE o.account_id = r.account_id AND o.creative_id = r.creative_id AND o.state = 'pending_human') AS queued_since,
    count(*) OVER () AS total
  FROM reviews r
  WHERE state = 'pending_human' AND superseded_by IS NULL
    AND ($1 = '' OR account_id = $1) AND ($2 = '' OR policy_triggered = $2)
    AND ($3 = '' OR creative->'format_id'->>'id' = $3)
    AND ($6::float8 IS NULL OR score >= $6) AND ($7::float8 IS NULL OR score <= $7)
) q ORDER BY `+order+` OFFSET $4 LIMIT $5`, q.AccountID, q.Policy, q.FormatID, q.Offset, q.Limit, q.MinScore, q.MaxScore)
	if err != nil {
		return review.QueuePage{}, fmt.Errorf("reading the queue: %w", err)
	}
	page := review.QueuePage{Reviews: make([]review.Review, 0, len(rows))}
	for _, row := range rows {
		rv, err := row.toReview()
		if err != nil {
			return review.QueuePage{}, err
		}
		rv.QueuedSince = row.QueuedSince.UTC()
		page.Reviews = append(page.Reviews, rv)
		page.Total = row.Total
	}
	if len(rows) == 0 && q.Offset > 0 {
		// Past the end: the total still matters for the pager.
		if err := s.db.GetContext(ctx, &page.Total, `SELECT count(*) FROM reviews
WHERE state = 'pending_human' AND superseded_by IS NULL
  AND ($1 = '' OR account_id = $1) AND ($2 = '' OR policy_triggered = $2)
  AND ($3 = '' OR creative->'format_id'->>'id' = $3)
  AND ($4::float8 IS NULL OR score >= $4) AND ($5::float8 IS NULL OR score <= $5)`, q.AccountID, q.Policy, q.FormatID, q.MinScore, q.MaxScore); err != nil {
			return review.QueuePage{}, fmt.Errorf("counting the queue: %w", err)
		}
	}
	return page, nil
}

// History implements review.Store.
func (s *Store) History(ctx context.Context, accountID, creativeID string) ([]review.Review, error) {
	var rows []reviewRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+reviewColumns+` FROM reviews
WHERE account_id = $1 AND creative_id = $2 ORDER BY revision DESC LIMIT 100`, accountID, creativeID); err != nil {
		return nil, fmt.Errorf("loading history of %s/%s: %w", accountID, creativeID, err)
	}
	out := make([]review.Review, 0, len(rows))
	for _, row := range rows {
		rv, err := row.toReview()
		if err != nil {
			return nil, err
		}
		out = append(out, rv)
	}
	return out, nil
}

// CountQueue returns how many revisions wait for a person.
func (s *Store) CountQueue(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.GetContext(ctx, &n, countQueue); err != nil {
		return 0, fmt.Errorf("counting the review queue: %w", err)
	}
	return n, nil
}

// Policy implements review.Store.
func (s *Store) Policy(ctx context.Context, accountID string) (review.Standards, bool, error) {
	return policy(ctx, s.db, accountID)
}

func policy(ctx context.Context, q sqlx.QueryerContext, accountID string) (review.Standards, bool, error) {
	var row policyRow
	if err := sqlx.GetContext(ctx, q, &row, selectPolicy, accountID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return review.Standards{}, false, nil
		}
		return review.Standards{}, false, fmt.Errorf("loading policy of %s: %w", accountID, err)
	}
	st, err := row.toStandards()
	return st, err == nil, err
}

// PutPolicy implements review.Store. The previous standards are read under
// the row lock so the audit record's "before" is what this change replaced.
func (s *Store) PutPolicy(ctx context.Context, actor, accountID string, st review.Standards) error {
	row, err := toPolicyRow(accountID, actor, st)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, lockCreative, "policy\x1f"+accountID); err != nil {
			return fmt.Errorf("locking policy of %s: %w", accountID, err)
		}
		before, had, err := policy(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if _, err := tx.NamedExecContext(ctx, upsertPolicy, row); err != nil {
			return fmt.Errorf("storing policy of %s: %w", accountID, err)
		}
		detail := map[string]any{"after": st}
		if had {
			detail["before"] = before
		}
		return writeAudit(ctx, tx, actor, "standards.update", "account:"+accountID, detail)
	})
}

// inTx runs fn in one transaction (see pgdb.InTx).
func (s *Store) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	return pgdb.InTx(ctx, s.db, fn)
}

// namedGet runs a named query that returns one row and scans it into dest.
func namedGet(ctx context.Context, tx *sqlx.Tx, dest any, query string, arg any) error {
	rows, err := sqlx.NamedQueryContext(ctx, tx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.StructScan(dest); err != nil {
		return err
	}
	return rows.Close()
}
