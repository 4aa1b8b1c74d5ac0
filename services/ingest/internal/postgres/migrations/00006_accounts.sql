-- +goose Up
-- Accounts protocol (AdCP 3.0 sync_accounts / list_accounts).

-- Whether a principal's newly declared accounts are active at once or wait
-- for an operator (`ingest admin set-account-approval`).
ALTER TABLE principals ADD COLUMN account_approval text NOT NULL DEFAULT 'active'
    CHECK (account_approval IN ('active', 'pending_approval'));

ALTER TABLE accounts
    ADD COLUMN brand_id      text NOT NULL DEFAULT '',
    ADD COLUMN billing       text NOT NULL DEFAULT 'operator',
    ADD COLUMN payment_terms text NOT NULL DEFAULT '',
    -- Declared through sync_accounts (or a first natural-key use): only
    -- these are in delete_missing's scope, never operator-made ones.
    ADD COLUMN declared      boolean NOT NULL DEFAULT false,
    -- push_notification_config of the sync that declared it, for status changes.
    ADD COLUMN push_config   jsonb,
    ADD COLUMN updated_at    timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT accounts_status CHECK (status IN
        ('active', 'pending_approval', 'rejected', 'payment_required', 'suspended', 'closed'));

-- The natural key is (brand domain, brand_id, operator, sandbox): a
-- house's sub-brands are separate accounts.
DROP INDEX accounts_natural_key;
CREATE UNIQUE INDEX accounts_natural_key ON accounts (principal_id, brand_domain, brand_id, operator, sandbox)
    WHERE brand_domain <> '';

-- +goose Down
DROP INDEX accounts_natural_key;
CREATE UNIQUE INDEX accounts_natural_key ON accounts (principal_id, brand_domain, operator, sandbox)
    WHERE brand_domain <> '';
ALTER TABLE accounts DROP CONSTRAINT accounts_status, DROP COLUMN brand_id, DROP COLUMN billing,
    DROP COLUMN payment_terms, DROP COLUMN declared, DROP COLUMN push_config, DROP COLUMN updated_at;
ALTER TABLE principals DROP COLUMN account_approval;
