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
	"example.com/creativesync/services/ingest/internal/creative"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies ingest's migrations and creates the outbox tables.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	if err := pgdb.MigrateEmbedded(ctx, db.DB, migrations); err != nil {
		return err
	}
	// The outbox only logs its schema queries, at debug level.
	if err := outbox.Initialize(db.DB, watermill.NopLogger{}); err != nil {
		return fmt.Errorf("initialising outbox: %w", err)
	}
	return nil
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

const productionAccounts = `
SELECT account_id, principal_id, name, brand_domain, operator, sandbox, status
FROM accounts WHERE principal_id = $1 AND NOT sandbox ORDER BY account_id LIMIT 2`

// ProductionAccounts returns up to two of the principal's non-sandbox
// accounts: enough to tell "the only one" from "ambiguous".
func (s *Store) ProductionAccounts(ctx context.Context, principalID string) ([]creative.Account, error) {
	var rows []accountRow
	if err := s.db.SelectContext(ctx, &rows, productionAccounts, principalID); err != nil {
		return nil, err
	}
	out := make([]creative.Account, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
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

const saveAgentFormats = `
INSERT INTO agent_formats (agent_url, definitions, fetched_at) VALUES ($1, $2, $3)
ON CONFLICT (agent_url) DO UPDATE SET definitions = EXCLUDED.definitions, fetched_at = EXCLUDED.fetched_at
WHERE agent_formats.fetched_at <= EXCLUDED.fetched_at`

// SaveAgentFormats stores what a trusted creative agent listed at at; an
// older refresh (another replica's, late) does not overwrite a newer one.
func (s *Store) SaveAgentFormats(ctx context.Context, agentURL string, defs []json.RawMessage, at time.Time) error {
	b, err := json.Marshal(defs)
	if err != nil {
		return fmt.Errorf("encoding agent formats: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, saveAgentFormats, creative.CanonicalAgentURL(agentURL), b, at); err != nil {
		return fmt.Errorf("saving formats of %s: %w", agentURL, err)
	}
	return nil
}

const loadAgentFormats = `SELECT agent_url, definitions, fetched_at FROM agent_formats ORDER BY agent_url`

// AgentFormats returns every stored agent's last listed formats.
func (s *Store) AgentFormats(ctx context.Context) ([]creative.AgentSnapshot, error) {
	var rows []struct {
		URL       string    `db:"agent_url"`
		Defs      []byte    `db:"definitions"`
		FetchedAt time.Time `db:"fetched_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, loadAgentFormats); err != nil {
		return nil, fmt.Errorf("loading agent formats: %w", err)
	}
	out := make([]creative.AgentSnapshot, len(rows))
	for i, r := range rows {
		out[i] = creative.AgentSnapshot{URL: r.URL, FetchedAt: r.FetchedAt.UTC()}
		if err := json.Unmarshal(r.Defs, &out[i].Defs); err != nil {
			return nil, fmt.Errorf("formats of %s: %w", r.URL, err)
		}
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
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("claiming idempotency key: %w", err)
	}
	if n == 1 {
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
}

// domain converts a row. A row whose JSON does not decode is an error, not
// a creative with parts silently missing.
func (r creativeRow) domain() (creative.Creative, error) {
	c := creative.Creative{AccountID: r.AccountID, CreativeID: r.CreativeID, PlatformID: r.PlatformID, Name: r.Name,
		Tags: []string(r.Tags), ContentHash: r.ContentHash, Revision: r.Revision, Status: r.Status,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ArchivedAt: r.ArchivedAt}
	if err := json.Unmarshal(r.FormatRef, &c.FormatID); err != nil {
		return c, fmt.Errorf("creative %s/%s format_ref: %w", r.AccountID, r.CreativeID, err)
	}
	if err := json.Unmarshal(r.Body, &c.Body); err != nil {
		return c, fmt.Errorf("creative %s/%s body: %w", r.AccountID, r.CreativeID, err)
	}
	if len(r.ReviewReasons) > 0 {
		if err := json.Unmarshal(r.ReviewReasons, &c.ReviewReasons); err != nil {
			return c, fmt.Errorf("creative %s/%s review_reasons: %w", r.AccountID, r.CreativeID, err)
		}
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return c, nil
}

const creativeColumns = `account_id, creative_id, platform_id, name, format_ref, body, tags, content_hash, revision, status, review_reasons, created_at, updated_at, archived_at`

// lockCreativeIDs takes a transaction-scoped advisory lock per creative, in
// one fixed order so two transactions never wait on each other in a cycle.
// Row locks alone cannot serialize the first sync of an id: there is no
// row yet, so two concurrent first syncs would both see "new" and both
// answer created with revision 1.
const lockCreativeIDs = `
SELECT count(pg_advisory_xact_lock(k)) FROM (
    SELECT DISTINCT hashtextextended($1 || '/' || id, 0) AS k FROM unnest($2::text[]) AS id ORDER BY k
) AS keys`

const selectCreativesForUpdate = `SELECT ` + creativeColumns + ` FROM creatives
WHERE account_id = $1 AND creative_id = ANY($2) ORDER BY creative_id FOR UPDATE`

const lockLibrary = `SELECT creative_id, revision FROM creatives
WHERE account_id = $1 AND archived_at IS NULL ORDER BY creative_id FOR UPDATE`

const activePackages = `
SELECT a.creative_id, a.package_id FROM creative_assignments a JOIN packages p USING (package_id)
WHERE a.account_id = $1 AND a.creative_id = ANY($2) AND p.status = 'active'
ORDER BY a.creative_id, a.package_id`

const packagesByID = `
SELECT p.package_id, p.media_buy_id, p.status, m.account_id FROM packages p JOIN media_buys m USING (media_buy_id)
WHERE m.account_id = $1 AND p.package_id = ANY($2)`

func (t *txn) lock(ctx context.Context, accountID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, lockCreativeIDs, accountID, pq.Array(ids)); err != nil {
		return fmt.Errorf("locking creatives: %w", err)
	}
	return nil
}

// LoadSyncState reads, under lock, what planning a sync needs: at most
// five statements whatever the request's size.
func (t *txn) LoadSyncState(ctx context.Context, accountID string, ids []string, withLibrary bool, packageIDs []string) (creative.SyncState, error) {
	st := creative.SyncState{Current: map[string]creative.Creative{}, Active: map[string][]string{}, Packages: map[string]creative.Package{}}
	if err := t.lock(ctx, accountID, ids); err != nil {
		return st, err
	}
	if len(ids) > 0 {
		var rows []creativeRow
		if err := t.tx.SelectContext(ctx, &rows, selectCreativesForUpdate, accountID, pq.Array(ids)); err != nil {
			return st, fmt.Errorf("reading creatives: %w", err)
		}
		for _, r := range rows {
			c, err := r.domain()
			if err != nil {
				return st, err
			}
			st.Current[c.CreativeID] = c
		}
	}
	activeFor := ids
	if withLibrary {
		var lib []struct {
			ID       string `db:"creative_id"`
			Revision int64  `db:"revision"`
		}
		if err := t.tx.SelectContext(ctx, &lib, lockLibrary, accountID); err != nil {
			return st, fmt.Errorf("locking the library: %w", err)
		}
		st.Library = make(map[string]int64, len(lib))
		activeFor = slices.Clone(ids)
		for _, c := range lib {
			st.Library[c.ID] = c.Revision
			activeFor = append(activeFor, c.ID)
		}
	}
	if len(activeFor) > 0 {
		rows, err := t.tx.QueryContext(ctx, activePackages, accountID, pq.Array(activeFor))
		if err != nil {
			return st, fmt.Errorf("reading active packages: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c, p string
			if err := rows.Scan(&c, &p); err != nil {
				return st, err
			}
			st.Active[c] = append(st.Active[c], p)
		}
		if err := rows.Err(); err != nil {
			return st, err
		}
	}
	if len(packageIDs) > 0 {
		rows, err := t.tx.QueryContext(ctx, packagesByID, accountID, pq.Array(packageIDs))
		if err != nil {
			return st, fmt.Errorf("reading packages: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p creative.Package
			if err := rows.Scan(&p.ID, &p.MediaBuyID, &p.Status, &p.AccountID); err != nil {
				return st, err
			}
			st.Packages[p.ID] = p
		}
		if err := rows.Err(); err != nil {
			return st, err
		}
	}
	return st, nil
}

// The batched writes below take every row of a sync as one jsonb array,
// expanded by jsonb_to_recordset: one statement and one parameter per
// table, whatever the number of creatives, and no SQL built at run time.

const upsertCreatives = `
INSERT INTO creatives (account_id, creative_id, platform_id, name, format_id, format_ref, body, tags, content_hash,
                       revision, status, review_reasons, created_at, updated_at, archived_at)
SELECT r.account_id, r.creative_id, r.platform_id, r.name, r.format_id, r.format_ref, r.body, coalesce(r.tags, '{}'),
       r.content_hash, r.revision, r.status, '[]', r.created_at, r.updated_at, NULL
FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, creative_id text, platform_id text, name text, format_id text,
    format_ref jsonb, body jsonb, tags text[], content_hash text, revision bigint, status text,
    created_at timestamptz, updated_at timestamptz)
ON CONFLICT (account_id, creative_id) DO UPDATE SET
    name = EXCLUDED.name, format_id = EXCLUDED.format_id, format_ref = EXCLUDED.format_ref, body = EXCLUDED.body,
    tags = EXCLUDED.tags, content_hash = EXCLUDED.content_hash, revision = EXCLUDED.revision, status = EXCLUDED.status,
    review_reasons = '[]', updated_at = EXCLUDED.updated_at, archived_at = NULL`

// creativeIn is one row of upsertCreatives' input.
type creativeIn struct {
	AccountID   string                     `json:"account_id"`
	CreativeID  string                     `json:"creative_id"`
	PlatformID  string                     `json:"platform_id"`
	Name        string                     `json:"name"`
	FormatID    string                     `json:"format_id"`
	FormatRef   creative.FormatID          `json:"format_ref"`
	Body        map[string]json.RawMessage `json:"body"`
	Tags        []string                   `json:"tags"`
	ContentHash string                     `json:"content_hash"`
	Revision    int64                      `json:"revision"`
	Status      string                     `json:"status"`
	CreatedAt   time.Time                  `json:"created_at"`
	UpdatedAt   time.Time                  `json:"updated_at"`
}

func creativeInOf(c creative.Creative) creativeIn {
	return creativeIn{AccountID: c.AccountID, CreativeID: c.CreativeID, PlatformID: c.PlatformID, Name: c.Name,
		FormatID: c.FormatID.ID, FormatRef: c.FormatID, Body: c.Body, Tags: c.Tags, ContentHash: c.ContentHash,
		Revision: c.Revision, Status: c.Status, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

const archiveCreatives = `
UPDATE creatives c SET status = 'archived', archived_at = r.at, updated_at = r.at, revision = r.revision
FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, creative_id text, revision bigint, at timestamptz)
WHERE c.account_id = r.account_id AND c.creative_id = r.creative_id`

type archiveIn struct {
	AccountID  string    `json:"account_id"`
	CreativeID string    `json:"creative_id"`
	Revision   int64     `json:"revision"`
	At         time.Time `json:"at"`
}

const insertAssignments = `
INSERT INTO creative_assignments (account_id, creative_id, package_id, weight, placement_ids)
SELECT r.account_id, r.creative_id, r.package_id, r.weight, r.placement_ids
FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, creative_id text, package_id text, weight float8, placement_ids text[])
ON CONFLICT (account_id, creative_id, package_id) DO UPDATE SET weight = EXCLUDED.weight, placement_ids = EXCLUDED.placement_ids`

type assignmentIn struct {
	AccountID    string   `json:"account_id"`
	CreativeID   string   `json:"creative_id"`
	PackageID    string   `json:"package_id"`
	Weight       *float64 `json:"weight"`
	PlacementIDs []string `json:"placement_ids"`
}

const insertTask = `
INSERT INTO tasks (task_id, principal_id, account_id, task_type, status, context, push_config, created_at, updated_at, adcp_major_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`

const insertTaskItems = `
INSERT INTO task_items (task_id, account_id, creative_id, revision, position, outcome, decided)
SELECT r.task_id, r.account_id, r.creative_id, r.revision, r.position, r.outcome, r.decided
FROM jsonb_to_recordset($1::jsonb) AS r(task_id text, account_id text, creative_id text, revision bigint, position int,
    outcome jsonb, decided boolean)`

type taskItemIn struct {
	TaskID     string              `json:"task_id"`
	AccountID  string              `json:"account_id"`
	CreativeID string              `json:"creative_id"`
	Revision   int64               `json:"revision"`
	Position   int                 `json:"position"`
	Outcome    creative.SyncResult `json:"outcome"`
	Decided    bool                `json:"decided"`
}

// execRecords runs a jsonb_to_recordset statement over rows (none: nothing).
func (t *txn) execRecords(ctx context.Context, what, query string, rows any, n int) error {
	if n == 0 {
		return nil
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", what, err)
	}
	if _, err := t.tx.ExecContext(ctx, query, b); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	return nil
}

// CommitSync writes a planned sync: one statement per kind of row.
func (t *txn) CommitSync(ctx context.Context, w creative.SyncWrites) error {
	ups := make([]creativeIn, len(w.Upserts))
	for i, c := range w.Upserts {
		ups[i] = creativeInOf(c)
	}
	if err := t.execRecords(ctx, "creatives", upsertCreatives, ups, len(ups)); err != nil {
		return err
	}
	arch := make([]archiveIn, len(w.Archives))
	for i, a := range w.Archives {
		arch[i] = archiveIn{AccountID: a.AccountID, CreativeID: a.CreativeID, Revision: a.Revision, At: a.At}
	}
	if err := t.execRecords(ctx, "archives", archiveCreatives, arch, len(arch)); err != nil {
		return err
	}
	as := make([]assignmentIn, len(w.Assignments))
	for i, a := range w.Assignments {
		as[i] = assignmentIn{AccountID: a.AccountID, CreativeID: a.CreativeID, PackageID: a.PackageID, Weight: a.Weight, PlacementIDs: a.PlacementIDs}
	}
	if err := t.execRecords(ctx, "assignments", insertAssignments, as, len(as)); err != nil {
		return err
	}
	if w.Task != nil {
		if err := t.createTask(ctx, *w.Task, w.TaskItems); err != nil {
			return err
		}
	}
	return t.Publish(ctx, w.Events...)
}

func (t *txn) createTask(ctx context.Context, task creative.Task, items []creative.TaskItem) error {
	push, err := json.Marshal(task.Push)
	if err != nil {
		return fmt.Errorf("encoding push config: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, insertTask, task.ID, task.PrincipalID, task.AccountID, task.Type, task.Status,
		nullJSON(task.Context), push, task.CreatedAt, task.MajorVersion); err != nil {
		return fmt.Errorf("creating task: %w", err)
	}
	rows := make([]taskItemIn, len(items))
	for i, it := range items {
		rows[i] = taskItemIn{TaskID: task.ID, AccountID: it.AccountID, CreativeID: it.CreativeID, Revision: it.Revision,
			Position: it.Position, Outcome: it.Outcome, Decided: it.Decided}
	}
	return t.execRecords(ctx, "task items", insertTaskItems, rows, len(rows))
}

const upsertCreative = `
INSERT INTO creatives (account_id, creative_id, platform_id, name, format_id, format_ref, body, tags, content_hash,
                       revision, status, review_reasons, created_at, updated_at, archived_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '[]', $12, $13, NULL)
ON CONFLICT (account_id, creative_id) DO UPDATE SET
    name = EXCLUDED.name, format_id = EXCLUDED.format_id, format_ref = EXCLUDED.format_ref, body = EXCLUDED.body,
    tags = EXCLUDED.tags, content_hash = EXCLUDED.content_hash, revision = EXCLUDED.revision, status = EXCLUDED.status,
    review_reasons = '[]', updated_at = EXCLUDED.updated_at, archived_at = NULL`

// UpsertCreative writes one creative (test-controller seeds, unarchiving).
func (t *txn) UpsertCreative(ctx context.Context, c creative.Creative) error {
	ref, err := json.Marshal(c.FormatID)
	if err != nil {
		return err
	}
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

// ArchiveCreative archives one creative.
func (t *txn) ArchiveCreative(ctx context.Context, a creative.Archive) error {
	_, err := t.tx.ExecContext(ctx, archiveCreative, a.AccountID, a.CreativeID, a.Revision, a.At)
	return err
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

const creativeForUpdate = `SELECT ` + creativeColumns + ` FROM creatives WHERE account_id = $1 AND creative_id = $2 FOR UPDATE`

// CreativeForUpdate locks one creative (see lockCreativeIDs: the lock holds
// even while the creative does not exist yet) and reads it.
func (t *txn) CreativeForUpdate(ctx context.Context, accountID, creativeID string) (creative.Creative, error) {
	if err := t.lock(ctx, accountID, []string{creativeID}); err != nil {
		return creative.Creative{}, err
	}
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
	rs, err := json.Marshal(reasons)
	if err != nil {
		return fmt.Errorf("encoding review reasons: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, setReview, accountID, creativeID, revision, status, rs)
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

// domain converts a row; an outcome that does not decode is an error, so a
// corrupt row cannot silently drop out of a task's result.
func (r taskItemRow) domain() (creative.TaskItem, error) {
	it := creative.TaskItem{TaskID: r.TaskID, AccountID: r.AccountID, CreativeID: r.CreativeID, Revision: r.Revision,
		Position: r.Position, Decided: r.Decided}
	if err := json.Unmarshal(r.Outcome, &it.Outcome); err != nil {
		return it, fmt.Errorf("task %s item %s outcome: %w", r.TaskID, r.CreativeID, err)
	}
	return it, nil
}

func taskItemsOf(rows []taskItemRow) ([]creative.TaskItem, error) {
	out := make([]creative.TaskItem, len(rows))
	for i, r := range rows {
		it, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[i] = it
	}
	return out, nil
}

const pendingTaskItems = `
SELECT task_id, account_id, creative_id, revision, position, outcome, decided FROM task_items
WHERE account_id = $1 AND creative_id = $2 AND revision = $3 AND NOT decided ORDER BY task_id FOR UPDATE`

func (t *txn) PendingTaskItems(ctx context.Context, accountID, creativeID string, revision int64) ([]creative.TaskItem, error) {
	var rows []taskItemRow
	if err := t.tx.SelectContext(ctx, &rows, pendingTaskItems, accountID, creativeID, revision); err != nil {
		return nil, err
	}
	return taskItemsOf(rows)
}

const decideTaskItem = `UPDATE task_items SET decided = true, outcome = $3 WHERE task_id = $1 AND creative_id = $2`

func (t *txn) DecideTaskItem(ctx context.Context, it creative.TaskItem) error {
	out, err := json.Marshal(it.Outcome)
	if err != nil {
		return fmt.Errorf("encoding outcome: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, decideTaskItem, it.TaskID, it.CreativeID, out)
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
	Major       int        `db:"adcp_major_version"`
}

func (r taskRow) domain() (creative.Task, error) {
	t := creative.Task{ID: r.ID, PrincipalID: r.PrincipalID, AccountID: r.AccountID, Type: r.Type, Status: r.Status,
		Context: r.Context, Result: r.Result, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), CompletedAt: r.CompletedAt, MajorVersion: r.Major}
	if len(r.Push) > 0 && string(r.Push) != "null" {
		var pc creative.PushConfig
		if err := json.Unmarshal(r.Push, &pc); err != nil {
			return t, fmt.Errorf("task %s push_config: %w", r.ID, err)
		}
		t.Push = &pc
	}
	return t, nil
}

const taskColumns = `task_id, principal_id, account_id, task_type, status, context, push_config, result, created_at, updated_at, completed_at, adcp_major_version`

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
	items, err := taskItemsOf(rows)
	if err != nil {
		return creative.Task{}, nil, err
	}
	task, err := r.domain()
	return task, items, err
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
	return r.domain()
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
