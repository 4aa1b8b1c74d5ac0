// Package postgres is ingest's store: the creative library, accounts, the
// format registry, tasks and idempotency records, with the outbox written in
// the same transactions.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/outbox"
	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/ingest/internal/creative"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies ingest's migrations and creates the outbox tables.
func Migrate(ctx context.Context, db *sqlx.DB, logger *slog.Logger) error {
	sub, _ := fs.Sub(migrations, "migrations")
	if err := pgdb.Migrate(ctx, db.DB, sub); err != nil {
		return err
	}
	return outbox.Initialize(db.DB, broker.Logger(logger))
}

// Store implements creative.Store.
type Store struct {
	db     *sqlx.DB
	prefix string
	wlog   watermill.LoggerAdapter
}

// New returns a store on db; events are published under topic prefix.
func New(db *sqlx.DB, prefix string, logger *slog.Logger) *Store {
	if db == nil {
		panic("postgres.New: nil db")
	}
	return &Store{db: db, prefix: prefix, wlog: broker.Logger(logger)}
}

var _ creative.Store = (*Store)(nil)

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return creative.ErrNotFound
	}
	return err
}

const principalByKeyHash = `
SELECT p.principal_id, p.name FROM api_keys k JOIN principals p USING (principal_id)
WHERE k.key_hash = $1 AND k.revoked_at IS NULL`

func (s *Store) PrincipalByKeyHash(ctx context.Context, keyHash string) (creative.Principal, error) {
	var p creative.Principal
	err := s.db.QueryRowContext(ctx, principalByKeyHash, keyHash).Scan(&p.ID, &p.Name)
	return p, notFound(err)
}

type accountRow struct {
	ID          string `db:"account_id"`
	PrincipalID string `db:"principal_id"`
	Name        string `db:"name"`
	BrandDomain string `db:"brand_domain"`
	Operator    string `db:"operator"`
	Sandbox     bool   `db:"sandbox"`
	Status      string `db:"status"`
}

func (r accountRow) domain() creative.Account {
	return creative.Account{ID: r.ID, PrincipalID: r.PrincipalID, Name: r.Name, BrandDomain: r.BrandDomain,
		Operator: r.Operator, Sandbox: r.Sandbox, Status: r.Status}
}

const accountByID = `
SELECT account_id, principal_id, name, brand_domain, operator, sandbox, status
FROM accounts WHERE principal_id = $1 AND account_id = $2`

func (s *Store) AccountByID(ctx context.Context, principalID, accountID string) (creative.Account, error) {
	var r accountRow
	err := s.db.GetContext(ctx, &r, accountByID, principalID, accountID)
	return r.domain(), notFound(err)
}

const accountByNaturalKey = `
SELECT account_id, principal_id, name, brand_domain, operator, sandbox, status
FROM accounts WHERE principal_id = $1 AND brand_domain = $2 AND operator = $3 AND sandbox = $4`

func (s *Store) AccountByNaturalKey(ctx context.Context, principalID, brand, operator string, sandbox bool) (creative.Account, error) {
	var r accountRow
	err := s.db.GetContext(ctx, &r, accountByNaturalKey, principalID, brand, operator, sandbox)
	return r.domain(), notFound(err)
}

const selectFormats = `SELECT definition FROM formats ORDER BY sort_order, format_id`

func (s *Store) Formats(ctx context.Context) ([]creative.Format, error) {
	return s.loadFormats(ctx, selectFormats)
}

// loadFormats runs a query returning format definitions and parses them.
func (s *Store) loadFormats(ctx context.Context, query string, args ...any) ([]creative.Format, error) {
	var defs []json.RawMessage
	if err := s.db.SelectContext(ctx, &defs, query, args...); err != nil {
		return nil, fmt.Errorf("loading formats: %w", err)
	}
	out := make([]creative.Format, 0, len(defs))
	for _, d := range defs {
		f, err := creative.ParseFormat(d)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

const upsertFormat = `
INSERT INTO formats (format_id, definition, sort_order) VALUES ($1, $2, $3)
ON CONFLICT (format_id) DO UPDATE SET definition = EXCLUDED.definition, sort_order = EXCLUDED.sort_order`

// SeedFormats upserts the standard formats; run at start-up so a new
// release's registry reaches existing databases.
func (s *Store) SeedFormats(ctx context.Context, defs []json.RawMessage) error {
	return s.InTx(ctx, func(t creative.Tx) error {
		tx := t.(*txn)
		for i, d := range defs {
			f, err := creative.ParseFormat(d)
			if err != nil {
				return err
			}
			if _, err := tx.tx.ExecContext(ctx, upsertFormat, f.ID, []byte(d), i); err != nil {
				return fmt.Errorf("seeding format %s: %w", f.ID, err)
			}
		}
		return nil
	})
}

// InTx runs fn in one transaction (see pgdb.InTx).
func (s *Store) InTx(ctx context.Context, fn func(creative.Tx) error) error {
	return pgdb.InTx(ctx, s.db, func(tx *sqlx.Tx) error { return fn(&txn{tx: tx, s: s}) })
}

type txn struct {
	tx *sqlx.Tx
	s  *Store
}

func (t *txn) Publish(ctx context.Context, evs ...events.Event) error {
	return outbox.Publish(t.tx.Tx, t.s.prefix, t.s.wlog, evs...)
}

const claimIdempotency = `
INSERT INTO idempotency_keys (principal_id, account_id, idempotency_key, request_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING`

const selectIdempotency = `
SELECT request_hash, response, created_at, expires_at FROM idempotency_keys
WHERE principal_id = $1 AND account_id = $2 AND idempotency_key = $3`

func (t *txn) ClaimIdempotencyKey(ctx context.Context, rec creative.IdempotencyRecord) (*creative.IdempotencyRecord, error) {
	// The INSERT waits on a concurrent uncommitted insert of the same key
	// (unique index), so the loser sees the winner's committed response.
	res, err := t.tx.ExecContext(ctx, claimIdempotency, rec.PrincipalID, rec.AccountID, rec.Key, rec.RequestHash, rec.CreatedAt, rec.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("claiming idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	prior := rec
	var resp []byte
	err = t.tx.QueryRowContext(ctx, selectIdempotency, rec.PrincipalID, rec.AccountID, rec.Key).
		Scan(&prior.RequestHash, &resp, &prior.CreatedAt, &prior.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("reading idempotency record: %w", err)
	}
	prior.Response = resp
	return &prior, nil
}

const saveIdempotencyResponse = `
UPDATE idempotency_keys SET response = $4
WHERE principal_id = $1 AND account_id = $2 AND idempotency_key = $3`

func (t *txn) SaveIdempotencyResponse(ctx context.Context, rec creative.IdempotencyRecord) error {
	_, err := t.tx.ExecContext(ctx, saveIdempotencyResponse, rec.PrincipalID, rec.AccountID, rec.Key, []byte(rec.Response))
	return err
}

type creativeRow struct {
	AccountID     string         `db:"account_id"`
	CreativeID    string         `db:"creative_id"`
	PlatformID    string         `db:"platform_id"`
	Name          string         `db:"name"`
	FormatRef     []byte         `db:"format_ref"`
	Body          []byte         `db:"body"`
	Tags          pq.StringArray `db:"tags"`
	ContentHash   string         `db:"content_hash"`
	Revision      int64          `db:"revision"`
	Status        string         `db:"status"`
	ReviewReasons []byte         `db:"review_reasons"`
	CreatedAt     time.Time      `db:"created_at"`
	UpdatedAt     time.Time      `db:"updated_at"`
	ArchivedAt    *time.Time     `db:"archived_at"`
	Total         int            `db:"total"`
}

func (r creativeRow) domain() (creative.Creative, error) {
	c := creative.Creative{AccountID: r.AccountID, CreativeID: r.CreativeID, PlatformID: r.PlatformID, Name: r.Name,
		Tags: []string(r.Tags), ContentHash: r.ContentHash, Revision: r.Revision, Status: r.Status,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ArchivedAt: r.ArchivedAt}
	if err := json.Unmarshal(r.FormatRef, &c.FormatID); err != nil {
		return c, fmt.Errorf("creative %s format_ref: %w", r.CreativeID, err)
	}
	if err := json.Unmarshal(r.Body, &c.Body); err != nil {
		return c, fmt.Errorf("creative %s body: %w", r.CreativeID, err)
	}
	if len(r.ReviewReasons) > 0 {
		_ = json.Unmarshal(r.ReviewReasons, &c.ReviewReasons)
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return c, nil
}

const creativeColumns = `account_id, creative_id, platform_id, name, format_ref, body, tags, content_hash, revision, status, review_reasons, created_at, updated_at, archived_at`

const lockCreatives = `SELECT ` + creativeColumns + ` FROM creatives
WHERE account_id = $1 AND creative_id = ANY($2) ORDER BY creative_id FOR UPDATE`

func (t *txn) LockCreatives(ctx context.Context, accountID string, ids []string) (map[string]creative.Creative, error) {
	out := map[string]creative.Creative{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []creativeRow
	if err := t.tx.SelectContext(ctx, &rows, lockCreatives, accountID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("locking creatives: %w", err)
	}
	for _, r := range rows {
		c, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[c.CreativeID] = c
	}
	return out, nil
}

const lockLibrary = `SELECT creative_id FROM creatives WHERE account_id = $1 AND archived_at IS NULL ORDER BY creative_id FOR UPDATE`

func (t *txn) LockLibrary(ctx context.Context, accountID string) ([]string, error) {
	var ids []string
	err := t.tx.SelectContext(ctx, &ids, lockLibrary, accountID)
	return ids, err
}

const activePackages = `
SELECT a.creative_id, a.package_id FROM creative_assignments a JOIN packages p USING (package_id)
WHERE a.account_id = $1 AND a.creative_id = ANY($2) AND p.status = 'active'
ORDER BY a.creative_id, a.package_id`

func (t *txn) ActivePackages(ctx context.Context, accountID string, creativeIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(creativeIDs) == 0 {
		return out, nil
	}
	rows, err := t.tx.QueryContext(ctx, activePackages, accountID, pq.Array(creativeIDs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c, p string
		if err := rows.Scan(&c, &p); err != nil {
			return nil, err
		}
		out[c] = append(out[c], p)
	}
	return out, rows.Err()
}

const packagesByID = `
SELECT p.package_id, p.media_buy_id, p.status, m.account_id FROM packages p JOIN media_buys m USING (media_buy_id)
WHERE m.account_id = $1 AND p.package_id = ANY($2)`

func (t *txn) Packages(ctx context.Context, accountID string, ids []string) (map[string]creative.Package, error) {
	out := map[string]creative.Package{}
	rows, err := t.tx.QueryContext(ctx, packagesByID, accountID, pq.Array(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p creative.Package
		if err := rows.Scan(&p.ID, &p.MediaBuyID, &p.Status, &p.AccountID); err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

const upsertCreative = `
INSERT INTO creatives (account_id, creative_id, platform_id, name, format_id, format_ref, body, tags, content_hash,
                       revision, status, review_reasons, created_at, updated_at, archived_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '[]', $12, $13, NULL)
ON CONFLICT (account_id, creative_id) DO UPDATE SET
    name = EXCLUDED.name, format_id = EXCLUDED.format_id, format_ref = EXCLUDED.format_ref, body = EXCLUDED.body,
    tags = EXCLUDED.tags, content_hash = EXCLUDED.content_hash, revision = EXCLUDED.revision, status = EXCLUDED.status,
    review_reasons = '[]', updated_at = EXCLUDED.updated_at, archived_at = NULL`

func (t *txn) UpsertCreative(ctx context.Context, c creative.Creative) error {
	ref, _ := json.Marshal(c.FormatID)
	body, err := json.Marshal(c.Body)
	if err != nil {
		return err
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	_, err = t.tx.ExecContext(ctx, upsertCreative, c.AccountID, c.CreativeID, c.PlatformID, c.Name, c.FormatID.ID, ref, body,
		pq.Array(tags), c.ContentHash, c.Revision, c.Status, c.CreatedAt, c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("upserting creative %s: %w", c.CreativeID, err)
	}
	return nil
}

const archiveCreative = `
UPDATE creatives SET status = 'archived', archived_at = $4, updated_at = $4, revision = $3
WHERE account_id = $1 AND creative_id = $2`

func (t *txn) ArchiveCreative(ctx context.Context, accountID, creativeID string, revision int64, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, archiveCreative, accountID, creativeID, revision, at)
	return err
}

const assign = `
INSERT INTO creative_assignments (account_id, creative_id, package_id, weight, placement_ids)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (account_id, creative_id, package_id) DO UPDATE SET weight = EXCLUDED.weight, placement_ids = EXCLUDED.placement_ids`

func (t *txn) Assign(ctx context.Context, a creative.Assignment) error {
	var placements any
	if a.PlacementIDs != nil {
		placements = pq.Array(a.PlacementIDs)
	}
	_, err := t.tx.ExecContext(ctx, assign, a.AccountID, a.CreativeID, a.PackageID, a.Weight, placements)
	if err != nil {
		return fmt.Errorf("assigning %s to %s: %w", a.CreativeID, a.PackageID, err)
	}
	return nil
}

const insertTask = `
INSERT INTO tasks (task_id, principal_id, account_id, task_type, status, context, push_config, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`

const insertTaskItem = `
INSERT INTO task_items (task_id, account_id, creative_id, revision, position, outcome, decided) VALUES ($1, $2, $3, $4, $5, $6, $7)`

func (t *txn) CreateTask(ctx context.Context, task creative.Task, items []creative.TaskItem) error {
	push, _ := json.Marshal(task.Push)
	if _, err := t.tx.ExecContext(ctx, insertTask, task.ID, task.PrincipalID, task.AccountID, task.Type, task.Status,
		nullJSON(task.Context), push, task.CreatedAt); err != nil {
		return fmt.Errorf("creating task: %w", err)
	}
	for _, it := range items {
		out, _ := json.Marshal(it.Outcome)
		if _, err := t.tx.ExecContext(ctx, insertTaskItem, task.ID, it.AccountID, it.CreativeID, it.Revision, it.Position, out, it.Decided); err != nil {
			return fmt.Errorf("creating task item: %w", err)
		}
	}
	return nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

const creativeForUpdate = `SELECT ` + creativeColumns + ` FROM creatives WHERE account_id = $1 AND creative_id = $2 FOR UPDATE`

func (t *txn) CreativeForUpdate(ctx context.Context, accountID, creativeID string) (creative.Creative, error) {
	var r creativeRow
	if err := t.tx.GetContext(ctx, &r, creativeForUpdate, accountID, creativeID); err != nil {
		return creative.Creative{}, notFound(err)
	}
	return r.domain()
}

const setReview = `
UPDATE creatives SET status = $4, review_reasons = $5, reviewed_revision = $3, updated_at = now()
WHERE account_id = $1 AND creative_id = $2 AND revision = $3`

func (t *txn) SetReview(ctx context.Context, accountID, creativeID string, revision int64, status string, reasons []events.Reason) error {
	if reasons == nil {
		reasons = []events.Reason{}
	}
	rs, _ := json.Marshal(reasons)
	_, err := t.tx.ExecContext(ctx, setReview, accountID, creativeID, revision, status, rs)
	return err
}

type taskItemRow struct {
	TaskID     string `db:"task_id"`
	AccountID  string `db:"account_id"`
	CreativeID string `db:"creative_id"`
	Revision   int64  `db:"revision"`
	Position   int    `db:"position"`
	Outcome    []byte `db:"outcome"`
	Decided    bool   `db:"decided"`
}

func (r taskItemRow) domain() creative.TaskItem {
	it := creative.TaskItem{TaskID: r.TaskID, AccountID: r.AccountID, CreativeID: r.CreativeID, Revision: r.Revision,
		Position: r.Position, Decided: r.Decided}
	_ = json.Unmarshal(r.Outcome, &it.Outcome)
	return it
}

const pendingTaskItems = `
SELECT task_id, account_id, creative_id, revision, position, outcome, decided FROM task_items
WHERE account_id = $1 AND creative_id = $2 AND revision = $3 AND NOT decided ORDER BY task_id FOR UPDATE`

func (t *txn) PendingTaskItems(ctx context.Context, accountID, creativeID string, revision int64) ([]creative.TaskItem, error) {
	var rows []taskItemRow
	if err := t.tx.SelectContext(ctx, &rows, pendingTaskItems, accountID, creativeID, revision); err != nil {
		return nil, err
	}
	out := make([]creative.TaskItem, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

const decideTaskItem = `UPDATE task_items SET decided = true, outcome = $3 WHERE task_id = $1 AND creative_id = $2`

func (t *txn) DecideTaskItem(ctx context.Context, it creative.TaskItem) error {
	out, _ := json.Marshal(it.Outcome)
	_, err := t.tx.ExecContext(ctx, decideTaskItem, it.TaskID, it.CreativeID, out)
	return err
}

type taskRow struct {
	ID          string     `db:"task_id"`
	PrincipalID string     `db:"principal_id"`
	AccountID   string     `db:"account_id"`
	Type        string     `db:"task_type"`
	Status      string     `db:"status"`
	Context     []byte     `db:"context"`
	Push        []byte     `db:"push_config"`
	Result      []byte     `db:"result"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
	CompletedAt *time.Time `db:"completed_at"`
}

func (r taskRow) domain() creative.Task {
	t := creative.Task{ID: r.ID, PrincipalID: r.PrincipalID, AccountID: r.AccountID, Type: r.Type, Status: r.Status,
		Context: r.Context, Result: r.Result, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), CompletedAt: r.CompletedAt}
	if len(r.Push) > 0 && string(r.Push) != "null" {
		var pc creative.PushConfig
		if json.Unmarshal(r.Push, &pc) == nil {
			t.Push = &pc
		}
	}
	return t
}

const taskColumns = `task_id, principal_id, account_id, task_type, status, context, push_config, result, created_at, updated_at, completed_at`

const taskForUpdate = `SELECT ` + taskColumns + ` FROM tasks WHERE task_id = $1 FOR UPDATE`

const taskItems = `SELECT task_id, account_id, creative_id, revision, position, outcome, decided FROM task_items WHERE task_id = $1`

func (t *txn) TaskForUpdate(ctx context.Context, taskID string) (creative.Task, []creative.TaskItem, error) {
	var r taskRow
	if err := t.tx.GetContext(ctx, &r, taskForUpdate, taskID); err != nil {
		return creative.Task{}, nil, notFound(err)
	}
	var rows []taskItemRow
	if err := t.tx.SelectContext(ctx, &rows, taskItems, taskID); err != nil {
		return creative.Task{}, nil, err
	}
	items := make([]creative.TaskItem, len(rows))
	for i, ir := range rows {
		items[i] = ir.domain()
	}
	return r.domain(), items, nil
}

const completeTask = `UPDATE tasks SET status = $2, result = $3, updated_at = $4, completed_at = $5 WHERE task_id = $1`

func (t *txn) CompleteTask(ctx context.Context, task creative.Task) error {
	_, err := t.tx.ExecContext(ctx, completeTask, task.ID, task.Status, []byte(task.Result), task.UpdatedAt, task.CompletedAt)
	return err
}

const taskByPrincipal = `SELECT ` + taskColumns + ` FROM tasks WHERE principal_id = $1 AND task_id = $2`

func (s *Store) Task(ctx context.Context, principalID, taskID string) (creative.Task, error) {
	var r taskRow
	if err := s.db.GetContext(ctx, &r, taskByPrincipal, principalID, taskID); err != nil {
		return creative.Task{}, notFound(err)
	}
	return r.domain(), nil
}

const sandboxFormats = `SELECT definition FROM sandbox_formats WHERE principal_id = $1 ORDER BY created_at, format_id`

// SandboxFormats returns the formats principalID seeded for its sandbox
// accounts, oldest first.
func (s *Store) SandboxFormats(ctx context.Context, principalID string) ([]creative.Format, error) {
	return s.loadFormats(ctx, sandboxFormats, principalID)
}

const (
	countSandboxFormats = `SELECT count(*) FROM sandbox_formats WHERE principal_id = $1`
	insertSandboxFormat = `INSERT INTO sandbox_formats (principal_id, format_id, definition) VALUES ($1, $2, $3)
ON CONFLICT (principal_id, format_id) DO NOTHING`
	sandboxFormatByID = `SELECT definition FROM sandbox_formats WHERE principal_id = $1 AND format_id = $2`
)

// AddSandboxFormat stores f for principalID unless a format with its id is
// already there, in which case that definition is returned. limit caps the
// catalog's size.
func (s *Store) AddSandboxFormat(ctx context.Context, principalID string, f creative.Format, limit int) (existing json.RawMessage, err error) {
	err = s.InTx(ctx, func(t creative.Tx) error {
		tx := t.(*txn).tx
		var prev []byte
		switch err := tx.QueryRowContext(ctx, sandboxFormatByID, principalID, f.ID).Scan(&prev); {
		case err == nil:
			existing = prev
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, countSandboxFormats, principalID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return creative.ErrLimit
		}
		_, err := tx.ExecContext(ctx, insertSandboxFormat, principalID, f.ID, []byte(f.Definition))
		return err
	})
	return existing, err
}

const pruneIdempotencyKeys = `DELETE FROM idempotency_keys WHERE expires_at < now() - $1::interval`

// PruneIdempotencyKeys deletes keys that expired more than keep ago.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, keep time.Duration) (int64, error) {
	res, err := s.db.ExecContext(ctx, pruneIdempotencyKeys, fmt.Sprintf("%d seconds", int64(keep/time.Second)))
	if err != nil {
		return 0, fmt.Errorf("pruning idempotency keys: %w", err)
	}
	return res.RowsAffected()
}
