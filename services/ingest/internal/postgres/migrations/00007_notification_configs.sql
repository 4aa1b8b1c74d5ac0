-- +goose Up
-- AdCP 3.1 account-level webhook subscribers (sync_accounts
-- accounts[].notification_configs[]), replaced as a set per account.
CREATE TABLE account_notification_configs (
    account_id    text NOT NULL REFERENCES accounts ON DELETE CASCADE,
    subscriber_id text NOT NULL,
    url           text NOT NULL,
    event_types   text[] NOT NULL,
    -- What the buyer asked for; fires need proven_at as well.
    active        boolean NOT NULL,
    -- Legacy authentication {schemes, credentials}; credentials are
    -- write-only and never echoed.
    authentication jsonb,
    -- When the endpoint last proved control of this exact tuple (url,
    -- event types, authentication mode); NULL until proven.
    proven_at     timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, subscriber_id)
);

-- +goose Down
DROP TABLE account_notification_configs;
