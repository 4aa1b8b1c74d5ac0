package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"example.com/creativesync/services/ingest/internal/creative"
)

// Principals and accounts: authentication, account lookups, the
// sync_accounts writes and list_accounts.

const principalByKeyHash = `
SELECT p.principal_id, p.name, p.account_approval FROM api_keys k JOIN principals p USING (principal_id)
WHERE k.key_hash = $1 AND k.revoked_at IS NULL`

func (s *Store) PrincipalByKeyHash(ctx context.Context, keyHash string) (creative.Principal, error) {
	var p creative.Principal
	err := s.db.QueryRowContext(ctx, principalByKeyHash, keyHash).Scan(&p.ID, &p.Name, &p.AccountApproval)
	return p, notFound(err)
}

type accountRow struct {
	ID           string    `db:"account_id"`
	PrincipalID  string    `db:"principal_id"`
	Name         string    `db:"name"`
	BrandDomain  string    `db:"brand_domain"`
	BrandID      string    `db:"brand_id"`
	Operator     string    `db:"operator"`
	Sandbox      bool      `db:"sandbox"`
	Status       string    `db:"status"`
	Billing      string    `db:"billing"`
	PaymentTerms string    `db:"payment_terms"`
	Declared     bool      `db:"declared"`
	PushConfig   []byte    `db:"push_config"`
	UpdatedAt    time.Time `db:"updated_at"`
}

const accountColumns = `account_id, principal_id, name, brand_domain, brand_id, operator, sandbox, status, billing,
payment_terms, declared, push_config, updated_at`

func (r accountRow) domain() (creative.Account, error) {
	a := creative.Account{ID: r.ID, PrincipalID: r.PrincipalID, Name: r.Name, BrandDomain: r.BrandDomain, BrandID: r.BrandID,
		Operator: r.Operator, Sandbox: r.Sandbox, Status: r.Status, Billing: r.Billing, PaymentTerms: r.PaymentTerms,
		Declared: r.Declared, UpdatedAt: r.UpdatedAt}
	if len(r.PushConfig) > 0 && string(r.PushConfig) != "null" {
		a.Push = &creative.PushConfig{}
		if err := json.Unmarshal(r.PushConfig, a.Push); err != nil {
			return a, fmt.Errorf("account %s push_config: %w", r.ID, err)
		}
	}
	return a, nil
}

func accountsOf(rows []accountRow) ([]creative.Account, error) {
	out := make([]creative.Account, len(rows))
	for i, r := range rows {
		a, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

func (s *Store) getAccount(ctx context.Context, query string, args ...any) (creative.Account, error) {
	var r accountRow
	if err := s.db.GetContext(ctx, &r, query, args...); err != nil {
		return creative.Account{}, notFound(err)
	}
	return r.domain()
}

const accountByID = `SELECT ` + accountColumns + ` FROM accounts WHERE principal_id = $1 AND account_id = $2`

func (s *Store) AccountByID(ctx context.Context, principalID, accountID string) (creative.Account, error) {
	return s.getAccount(ctx, accountByID, principalID, accountID)
}

const accountByNaturalKey = `SELECT ` + accountColumns + ` FROM accounts
WHERE principal_id = $1 AND brand_domain = $2 AND brand_id = $3 AND operator = $4 AND sandbox = $5`

func (s *Store) AccountByNaturalKey(ctx context.Context, principalID string, ref creative.AccountRef) (creative.Account, error) {
	return s.getAccount(ctx, accountByNaturalKey, principalID, ref.BrandDomain, ref.BrandID, ref.Operator, ref.Sandbox)
}

const productionAccounts = `SELECT ` + accountColumns + ` FROM accounts
WHERE principal_id = $1 AND NOT sandbox AND status NOT IN ('rejected', 'closed') ORDER BY account_id LIMIT 2`

// ProductionAccounts returns up to two of the principal's non-sandbox
// accounts: enough to tell "the only one" from "ambiguous". Rejected and
// closed accounts are left out: they are gone for the buyer (gateWrite
// reports them as not found), so they make no fallback ambiguous.
func (s *Store) ProductionAccounts(ctx context.Context, principalID string) ([]creative.Account, error) {
	var rows []accountRow
	if err := s.db.SelectContext(ctx, &rows, productionAccounts, principalID); err != nil {
		return nil, err
	}
	return accountsOf(rows)
}

// listAccounts pages by account_id; the count is over the whole match so
// total_count stays stable across pages.
const listAccounts = `
WITH matching AS (
    SELECT ` + accountColumns + ` FROM accounts
    WHERE principal_id = $1
      AND ($2 = '' OR status = $2)
      AND ($3::boolean IS NULL OR sandbox = $3)
      AND ($4 = '' OR account_id = $4)
      AND ($5 = '' OR (brand_domain = $5 AND brand_id = $6 AND operator = $7 AND sandbox = $8))
)
SELECT m.*, (SELECT count(*) FROM matching) AS total FROM matching m
WHERE m.account_id > $9
ORDER BY m.account_id
LIMIT $10`

func (s *Store) ListAccounts(ctx context.Context, q creative.AccountsQuery) (creative.AccountsPage, error) {
	var ref creative.AccountRef
	if q.Account != nil {
		ref = *q.Account
	}
	var rows []struct {
		accountRow
		Total int `db:"total"`
	}
	err := s.db.SelectContext(ctx, &rows, listAccounts, q.PrincipalID, q.Status, q.Sandbox, ref.AccountID,
		ref.BrandDomain, ref.BrandID, ref.Operator, ref.Sandbox, q.After, q.Limit+1)
	if err != nil {
		return creative.AccountsPage{}, fmt.Errorf("listing accounts: %w", err)
	}
	var page creative.AccountsPage
	if len(rows) > q.Limit {
		page.HasMore, rows = true, rows[:q.Limit]
	}
	plain := make([]accountRow, len(rows))
	for i, r := range rows {
		plain[i] = r.accountRow
		page.Total = r.Total
	}
	if len(rows) == 0 && q.After != "" {
		// A page past the end still reports the whole match's size.
		if err := s.db.GetContext(ctx, &page.Total, countAccounts, q.PrincipalID, q.Status, q.Sandbox, ref.AccountID,
			ref.BrandDomain, ref.BrandID, ref.Operator, ref.Sandbox); err != nil {
			return creative.AccountsPage{}, fmt.Errorf("counting accounts: %w", err)
		}
	}
	if page.Accounts, err = accountsOf(plain); err != nil {
		return page, err
	}
	return page, withSubscribers(ctx, s.db, page.Accounts)
}

const countAccounts = `SELECT count(*) FROM accounts
WHERE principal_id = $1
  AND ($2 = '' OR status = $2)
  AND ($3::boolean IS NULL OR sandbox = $3)
  AND ($4 = '' OR account_id = $4)
  AND ($5 = '' OR (brand_domain = $5 AND brand_id = $6 AND operator = $7 AND sandbox = $8))`

// lockPrincipalAccounts serializes sync_accounts (and first natural-key
// uses) of one principal: two concurrent declarations of a new brand and
// operator then see each other instead of racing on the unique index.
const lockPrincipalAccounts = `SELECT pg_advisory_xact_lock(hashtextextended('accounts:' || $1, 0))`

const principalAccounts = `SELECT ` + accountColumns + ` FROM accounts WHERE principal_id = $1 ORDER BY account_id`

func (t *txn) LockAccounts(ctx context.Context, principalID string) ([]creative.Account, error) {
	if _, err := t.tx.ExecContext(ctx, lockPrincipalAccounts, principalID); err != nil {
		return nil, fmt.Errorf("locking accounts: %w", err)
	}
	var rows []accountRow
	if err := t.tx.SelectContext(ctx, &rows, principalAccounts, principalID); err != nil {
		return nil, fmt.Errorf("reading accounts: %w", err)
	}
	accounts, err := accountsOf(rows)
	if err != nil {
		return nil, err
	}
	return accounts, withSubscribers(ctx, t.tx, accounts)
}

// upsertAccounts writes created and changed accounts in one statement.
// Status is written only on insert: a sync never changes an existing
// account's status (operators and the lifecycle do).
const upsertAccounts = `
INSERT INTO accounts (account_id, principal_id, name, brand_domain, brand_id, operator, sandbox, status, billing,
    payment_terms, declared, push_config, updated_at)
SELECT account_id, principal_id, name, brand_domain, brand_id, operator, sandbox, status, billing,
    payment_terms, declared, push_config, updated_at
FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, principal_id text, name text, brand_domain text, brand_id text,
    operator text, sandbox boolean, status text, billing text, payment_terms text, declared boolean, push_config jsonb,
    updated_at timestamptz)
ON CONFLICT (account_id) DO UPDATE SET billing = EXCLUDED.billing, payment_terms = EXCLUDED.payment_terms,
    declared = EXCLUDED.declared, push_config = EXCLUDED.push_config, updated_at = EXCLUDED.updated_at
WHERE accounts.principal_id = EXCLUDED.principal_id`

type accountIn struct {
	AccountID    string               `json:"account_id"`
	PrincipalID  string               `json:"principal_id"`
	Name         string               `json:"name"`
	BrandDomain  string               `json:"brand_domain"`
	BrandID      string               `json:"brand_id"`
	Operator     string               `json:"operator"`
	Sandbox      bool                 `json:"sandbox"`
	Status       string               `json:"status"`
	Billing      string               `json:"billing"`
	PaymentTerms string               `json:"payment_terms"`
	Declared     bool                 `json:"declared"`
	PushConfig   *creative.PushConfig `json:"push_config"`
	UpdatedAt    time.Time            `json:"updated_at"`
}

func accountInOf(a creative.Account) accountIn {
	return accountIn{AccountID: a.ID, PrincipalID: a.PrincipalID, Name: a.Name, BrandDomain: a.BrandDomain, BrandID: a.BrandID,
		Operator: a.Operator, Sandbox: a.Sandbox, Status: a.Status, Billing: a.Billing, PaymentTerms: a.PaymentTerms,
		Declared: a.Declared, PushConfig: a.Push, UpdatedAt: a.UpdatedAt}
}

const closeAccounts = `UPDATE accounts SET status = 'closed', updated_at = now()
WHERE principal_id = $1 AND account_id = ANY($2)`

func (t *txn) CommitAccounts(ctx context.Context, principalID string, w creative.AccountWrites) error {
	ups := make([]accountIn, len(w.Upserts))
	for i, a := range w.Upserts {
		ups[i] = accountInOf(a)
	}
	if err := t.execRecords(ctx, "accounts", upsertAccounts, ups, len(ups)); err != nil {
		return err
	}
	if len(w.Closed) > 0 {
		if _, err := t.tx.ExecContext(ctx, closeAccounts, principalID, pq.Array(w.Closed)); err != nil {
			return fmt.Errorf("closing accounts: %w", err)
		}
	}
	return t.replaceSubscribers(ctx, w.Subscribers)
}

const provisionAccount = `
INSERT INTO accounts (account_id, principal_id, name, brand_domain, brand_id, operator, sandbox, status, billing,
    payment_terms, declared, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT DO NOTHING`

func (t *txn) ProvisionAccount(ctx context.Context, a creative.Account) (creative.Account, error) {
	if _, err := t.tx.ExecContext(ctx, lockPrincipalAccounts, a.PrincipalID); err != nil {
		return creative.Account{}, fmt.Errorf("locking accounts: %w", err)
	}
	if _, err := t.tx.ExecContext(ctx, provisionAccount, a.ID, a.PrincipalID, a.Name, a.BrandDomain, a.BrandID, a.Operator,
		a.Sandbox, a.Status, a.Billing, a.PaymentTerms, a.Declared, a.UpdatedAt); err != nil {
		return creative.Account{}, fmt.Errorf("provisioning account: %w", err)
	}
	var r accountRow
	if err := t.tx.GetContext(ctx, &r, accountByNaturalKey, a.PrincipalID, a.BrandDomain, a.BrandID, a.Operator, a.Sandbox); err != nil {
		return creative.Account{}, fmt.Errorf("reading the provisioned account: %w", err)
	}
	return r.domain()
}

const accountForUpdate = `SELECT ` + accountColumns + ` FROM accounts WHERE principal_id = $1 AND account_id = $2 FOR UPDATE`

func (t *txn) AccountForUpdate(ctx context.Context, principalID, accountID string) (creative.Account, error) {
	var r accountRow
	if err := t.tx.GetContext(ctx, &r, accountForUpdate, principalID, accountID); err != nil {
		return creative.Account{}, notFound(err)
	}
	return r.domain()
}

const setAccountStatus = `UPDATE accounts SET status = $2, updated_at = $3 WHERE account_id = $1`

func (t *txn) SetAccountStatus(ctx context.Context, accountID, status string, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, setAccountStatus, accountID, status, at)
	return err
}

// subscribersOf reads the notification configs of the given accounts.
const subscribersOf = `SELECT account_id, subscriber_id, url, event_types, active, authentication, proven_at
FROM account_notification_configs WHERE account_id = ANY($1) ORDER BY account_id, subscriber_id`

type subscriberRow struct {
	AccountID    string         `db:"account_id"`
	SubscriberID string         `db:"subscriber_id"`
	URL          string         `db:"url"`
	EventTypes   pq.StringArray `db:"event_types"`
	Active       bool           `db:"active"`
	Auth         []byte         `db:"authentication"`
	ProvenAt     *time.Time     `db:"proven_at"`
}

// withSubscribers fills in each account's subscribers with one query.
func withSubscribers(ctx context.Context, q sqlxQuerier, accounts []creative.Account) error {
	if len(accounts) == 0 {
		return nil
	}
	ids := make([]string, len(accounts))
	at := make(map[string]int, len(accounts))
	for i, a := range accounts {
		ids[i], at[a.ID] = a.ID, i
	}
	var rows []subscriberRow
	if err := q.SelectContext(ctx, &rows, subscribersOf, pq.Array(ids)); err != nil {
		return fmt.Errorf("reading notification configs: %w", err)
	}
	for _, r := range rows {
		s := creative.Subscriber{SubscriberID: r.SubscriberID, URL: r.URL, EventTypes: []string(r.EventTypes), Active: r.Active, ProvenAt: r.ProvenAt}
		if len(r.Auth) > 0 && string(r.Auth) != "null" {
			s.Auth = &creative.PushAuth{}
			if err := json.Unmarshal(r.Auth, s.Auth); err != nil {
				return fmt.Errorf("notification config %s/%s: %w", r.AccountID, r.SubscriberID, err)
			}
		}
		i := at[r.AccountID]
		accounts[i].Subscribers = append(accounts[i].Subscribers, s)
	}
	return nil
}

// sqlxQuerier is what withSubscribers needs of a DB or a transaction.
type sqlxQuerier interface {
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// deleteSubscribers and insertSubscribers replace the sets of the accounts
// named, two statements whatever their number.
const deleteSubscribers = `DELETE FROM account_notification_configs WHERE account_id = ANY($1)`

const insertSubscribers = `
INSERT INTO account_notification_configs (account_id, subscriber_id, url, event_types, active, authentication, proven_at, updated_at)
SELECT account_id, subscriber_id, url, ARRAY(SELECT jsonb_array_elements_text(event_types)), active, authentication, proven_at, now()
FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, subscriber_id text, url text, event_types jsonb, active boolean,
    authentication jsonb, proven_at timestamptz)`

type subscriberIn struct {
	AccountID    string             `json:"account_id"`
	SubscriberID string             `json:"subscriber_id"`
	URL          string             `json:"url"`
	EventTypes   []string           `json:"event_types"`
	Active       bool               `json:"active"`
	Auth         *creative.PushAuth `json:"authentication"`
	ProvenAt     *time.Time         `json:"proven_at"`
}

func (t *txn) replaceSubscribers(ctx context.Context, sets map[string][]creative.Subscriber) error {
	if len(sets) == 0 {
		return nil
	}
	ids := make([]string, 0, len(sets))
	var rows []subscriberIn
	for id, subs := range sets {
		ids = append(ids, id)
		for _, s := range subs {
			rows = append(rows, subscriberIn{AccountID: id, SubscriberID: s.SubscriberID, URL: s.URL, EventTypes: s.EventTypes,
				Active: s.Active, Auth: s.Auth, ProvenAt: s.ProvenAt})
		}
	}
	if _, err := t.tx.ExecContext(ctx, deleteSubscribers, pq.Array(ids)); err != nil {
		return fmt.Errorf("replacing notification configs: %w", err)
	}
	return t.execRecords(ctx, "notification configs", insertSubscribers, rows, len(rows))
}

func (t *txn) Subscribers(ctx context.Context, accountID string) ([]creative.Subscriber, error) {
	accounts := []creative.Account{{ID: accountID}}
	if err := withSubscribers(ctx, t.tx, accounts); err != nil {
		return nil, err
	}
	return accounts[0].Subscribers, nil
}

func (s *Store) Accounts(ctx context.Context, principalID string) ([]creative.Account, error) {
	var rows []accountRow
	if err := s.db.SelectContext(ctx, &rows, principalAccounts, principalID); err != nil {
		return nil, fmt.Errorf("reading accounts: %w", err)
	}
	accounts, err := accountsOf(rows)
	if err != nil {
		return nil, err
	}
	return accounts, withSubscribers(ctx, s.db, accounts)
}

// queueFires upserts coalescing fires in one statement: a waiting fire
// keeps its from_status and due_at and takes the latest transition.
const queueFires = `
INSERT INTO lifecycle_fires (account_id, creative_id, subscriber_id, url, authentication, from_status, to_status, revision,
    initiated_by, rejection_reason, notification_id, observed_at, correlation_id, due_at)
SELECT account_id, creative_id, subscriber_id, url, authentication, from_status, to_status, revision,
    initiated_by, rejection_reason, notification_id, observed_at, correlation_id, due_at
FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, creative_id text, subscriber_id text, url text, authentication jsonb,
    from_status text, to_status text, revision bigint, initiated_by text, rejection_reason text, notification_id text,
    observed_at timestamptz, correlation_id text, due_at timestamptz)
ON CONFLICT (account_id, creative_id, subscriber_id) DO UPDATE SET url = EXCLUDED.url,
    authentication = EXCLUDED.authentication, to_status = EXCLUDED.to_status, revision = EXCLUDED.revision,
    initiated_by = EXCLUDED.initiated_by, rejection_reason = EXCLUDED.rejection_reason,
    notification_id = EXCLUDED.notification_id, observed_at = EXCLUDED.observed_at, correlation_id = EXCLUDED.correlation_id`

type fireRow struct {
	AccountID       string             `json:"account_id" db:"account_id"`
	CreativeID      string             `json:"creative_id" db:"creative_id"`
	SubscriberID    string             `json:"subscriber_id" db:"subscriber_id"`
	URL             string             `json:"url" db:"url"`
	Auth            *creative.PushAuth `json:"authentication" db:"-"`
	AuthRaw         []byte             `json:"-" db:"authentication"`
	FromStatus      string             `json:"from_status" db:"from_status"`
	ToStatus        string             `json:"to_status" db:"to_status"`
	Revision        int64              `json:"revision" db:"revision"`
	InitiatedBy     string             `json:"initiated_by" db:"initiated_by"`
	RejectionReason string             `json:"rejection_reason" db:"rejection_reason"`
	NotificationID  string             `json:"notification_id" db:"notification_id"`
	ObservedAt      time.Time          `json:"observed_at" db:"observed_at"`
	CorrelationID   string             `json:"correlation_id" db:"correlation_id"`
	DueAt           time.Time          `json:"due_at" db:"due_at"`
}

func (t *txn) QueueFires(ctx context.Context, fires []creative.PendingFire) error {
	rows := make([]fireRow, len(fires))
	for i, f := range fires {
		rows[i] = fireRow{AccountID: f.AccountID, CreativeID: f.CreativeID, SubscriberID: f.SubscriberID, URL: f.URL, Auth: f.Auth,
			FromStatus: f.FromStatus, ToStatus: f.ToStatus, Revision: f.Revision, InitiatedBy: f.InitiatedBy,
			RejectionReason: f.RejectionReason, NotificationID: f.NotificationID, ObservedAt: f.ObservedAt,
			CorrelationID: f.CorrelationID, DueAt: f.DueAt}
	}
	return t.execRecords(ctx, "lifecycle fires", queueFires, rows, len(rows))
}

const dueFires = `SELECT account_id, creative_id, subscriber_id, url, authentication, from_status, to_status, revision,
    initiated_by, rejection_reason, notification_id, observed_at, correlation_id, due_at
FROM lifecycle_fires WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`

func (t *txn) DueFires(ctx context.Context, now time.Time, limit int) ([]creative.PendingFire, error) {
	var rows []fireRow
	if err := t.tx.SelectContext(ctx, &rows, dueFires, now, limit); err != nil {
		return nil, fmt.Errorf("reading due lifecycle fires: %w", err)
	}
	out := make([]creative.PendingFire, len(rows))
	for i, r := range rows {
		out[i] = creative.PendingFire{AccountID: r.AccountID, CreativeID: r.CreativeID, SubscriberID: r.SubscriberID, URL: r.URL,
			FromStatus: r.FromStatus, ToStatus: r.ToStatus, Revision: r.Revision, InitiatedBy: r.InitiatedBy,
			RejectionReason: r.RejectionReason, NotificationID: r.NotificationID, ObservedAt: r.ObservedAt,
			CorrelationID: r.CorrelationID, DueAt: r.DueAt}
		if len(r.AuthRaw) > 0 && string(r.AuthRaw) != "null" {
			out[i].Auth = &creative.PushAuth{}
			if err := json.Unmarshal(r.AuthRaw, out[i].Auth); err != nil {
				return nil, fmt.Errorf("lifecycle fire %s/%s authentication: %w", r.CreativeID, r.SubscriberID, err)
			}
		}
	}
	return out, nil
}

const deleteFires = `DELETE FROM lifecycle_fires f USING jsonb_to_recordset($1::jsonb) AS r(account_id text, creative_id text, subscriber_id text)
WHERE f.account_id = r.account_id AND f.creative_id = r.creative_id AND f.subscriber_id = r.subscriber_id`

func (t *txn) DeleteFires(ctx context.Context, fires []creative.PendingFire) error {
	type key struct {
		AccountID    string `json:"account_id"`
		CreativeID   string `json:"creative_id"`
		SubscriberID string `json:"subscriber_id"`
	}
	keys := make([]key, len(fires))
	for i, f := range fires {
		keys[i] = key{f.AccountID, f.CreativeID, f.SubscriberID}
	}
	return t.execRecords(ctx, "sent lifecycle fires", deleteFires, keys, len(keys))
}
