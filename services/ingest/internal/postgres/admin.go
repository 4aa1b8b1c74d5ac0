package postgres

import (
	"context"
	"fmt"

	"example.com/creativesync/platform/pgdb"
	"example.com/creativesync/services/ingest/internal/creative"
)

// The admin operations below back the `ingest admin` command and the
// compliance test controller. They are idempotent upserts so scripts can be
// re-run.

const upsertPrincipal = `INSERT INTO principals (principal_id, name) VALUES ($1, $2)
ON CONFLICT (principal_id) DO UPDATE SET name = EXCLUDED.name`

// UpsertPrincipal creates or renames a principal.
func (s *Store) UpsertPrincipal(ctx context.Context, id, name string) error {
	_, err := s.db.ExecContext(ctx, upsertPrincipal, id, name)
	return err
}

const addAPIKey = `INSERT INTO api_keys (key_hash, principal_id, label) VALUES ($1, $2, $3)
ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL WHERE api_keys.principal_id = EXCLUDED.principal_id`

// AddAPIKey stores the hash of key for principal.
func (s *Store) AddAPIKey(ctx context.Context, principalID, key, label string) error {
	res, err := s.db.ExecContext(ctx, addAPIKey, creative.KeyHash(key), principalID, label)
	if pgdb.IsForeignKeyViolation(err) {
		return fmt.Errorf("principal %s does not exist", principalID)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("that key already belongs to another principal")
	}
	return nil
}

const upsertAccount = `
INSERT INTO accounts (account_id, principal_id, name, brand_domain, operator, sandbox, status)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (account_id) DO UPDATE SET name = EXCLUDED.name, brand_domain = EXCLUDED.brand_domain,
    operator = EXCLUDED.operator, sandbox = EXCLUDED.sandbox, status = EXCLUDED.status
WHERE accounts.principal_id = EXCLUDED.principal_id`

// UpsertAccount creates or updates an account of a principal.
func (s *Store) UpsertAccount(ctx context.Context, a creative.Account) error {
	if a.Status == "" {
		a.Status = "active"
	}
	res, err := s.db.ExecContext(ctx, upsertAccount, a.ID, a.PrincipalID, a.Name, a.BrandDomain, a.Operator, a.Sandbox, a.Status)
	switch {
	case pgdb.IsForeignKeyViolation(err):
		return fmt.Errorf("principal %s does not exist", a.PrincipalID)
	case pgdb.IsUniqueViolation(err):
		return fmt.Errorf("another account already uses brand %s with operator %s", a.BrandDomain, a.Operator)
	case err != nil:
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("account %s belongs to another principal", a.ID)
	}
	return nil
}

const setAccountApproval = `UPDATE principals SET account_approval = $2 WHERE principal_id = $1`

// SetAccountApproval sets whether a principal's newly declared accounts are
// active at once or pending an operator's approval.
func (s *Store) SetAccountApproval(ctx context.Context, principalID, policy string) error {
	if policy != creative.ApprovalActive && policy != creative.ApprovalPending {
		return fmt.Errorf("account approval must be %s or %s", creative.ApprovalActive, creative.ApprovalPending)
	}
	res, err := s.db.ExecContext(ctx, setAccountApproval, principalID, policy)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("principal %s does not exist", principalID)
	}
	return nil
}

const upsertMediaBuy = `INSERT INTO media_buys (media_buy_id, account_id, status) VALUES ($1, $2, $3)
ON CONFLICT (media_buy_id) DO UPDATE SET status = EXCLUDED.status WHERE media_buys.account_id = EXCLUDED.account_id`

// UpsertMediaBuy creates or updates a media buy of an account.
func (s *Store) UpsertMediaBuy(ctx context.Context, id, accountID, status string) error {
	res, err := s.db.ExecContext(ctx, upsertMediaBuy, id, accountID, status)
	if pgdb.IsForeignKeyViolation(err) {
		return fmt.Errorf("account %s does not exist", accountID)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("media buy %s belongs to another account", id)
	}
	return nil
}

const upsertPackage = `INSERT INTO packages (package_id, media_buy_id, status) VALUES ($1, $2, $3)
ON CONFLICT (package_id) DO UPDATE SET status = EXCLUDED.status WHERE packages.media_buy_id = EXCLUDED.media_buy_id`

// UpsertPackage creates a package or changes its status (active, paused, …).
func (s *Store) UpsertPackage(ctx context.Context, id, mediaBuyID, status string) error {
	res, err := s.db.ExecContext(ctx, upsertPackage, id, mediaBuyID, status)
	if pgdb.IsForeignKeyViolation(err) {
		return fmt.Errorf("media buy %s does not exist", mediaBuyID)
	}
	if err != nil {
		return fmt.Errorf("package %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("package %s belongs to another media buy", id)
	}
	return nil
}

const mediaBuyAccount = `SELECT m.account_id FROM media_buys m JOIN accounts a USING (account_id) WHERE m.media_buy_id = $1 AND a.principal_id = $2`

const mediaBuyPackages = `SELECT package_id FROM packages WHERE media_buy_id = $1 ORDER BY package_id`

// MediaBuyPackages returns the account and packages of a media buy the
// principal owns; another principal's buy is not found.
func (s *Store) MediaBuyPackages(ctx context.Context, principalID, mediaBuyID string) (string, []string, error) {
	var id string
	if err := s.db.QueryRowContext(ctx, mediaBuyAccount, mediaBuyID, principalID).Scan(&id); err != nil {
		return "", nil, notFound(err)
	}
	var pkgs []string
	if err := s.db.SelectContext(ctx, &pkgs, mediaBuyPackages, mediaBuyID); err != nil {
		return "", nil, err
	}
	return id, pkgs, nil
}
