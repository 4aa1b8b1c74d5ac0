-- +goose Up
CREATE TABLE principals (
    principal_id text PRIMARY KEY,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored as SHA-256 digests: a leaked table grants nothing.
CREATE TABLE api_keys (
    key_hash     text PRIMARY KEY,
    principal_id text NOT NULL REFERENCES principals ON DELETE CASCADE,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE TABLE accounts (
    account_id   text PRIMARY KEY,
    principal_id text NOT NULL REFERENCES principals ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    brand_domain text NOT NULL DEFAULT '',
    operator     text NOT NULL DEFAULT '',
    sandbox      boolean NOT NULL DEFAULT false,
    status       text NOT NULL DEFAULT 'active',
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- The natural key a buyer may use instead of account_id.
CREATE UNIQUE INDEX accounts_natural_key ON accounts (principal_id, brand_domain, operator, sandbox)
    WHERE brand_domain <> '';

-- The format registry: each row is an AdCP format object served verbatim by
-- list_creative_formats and used to validate manifests.
CREATE TABLE formats (
    format_id  text PRIMARY KEY,
    definition jsonb NOT NULL,
    sort_order int NOT NULL DEFAULT 0
);

CREATE TABLE creatives (
    account_id      text NOT NULL REFERENCES accounts ON DELETE CASCADE,
    creative_id     text NOT NULL,
    platform_id     text NOT NULL UNIQUE,
    name            text NOT NULL,
    format_id       text NOT NULL,
    format_ref      jsonb NOT NULL,
    body            jsonb NOT NULL,   -- the creative object as last merged, minus delivery-only fields
    tags            text[] NOT NULL DEFAULT '{}',
    content_hash    text NOT NULL,
    revision        bigint NOT NULL,
    status          text NOT NULL,
    review_reasons  jsonb NOT NULL DEFAULT '[]',
    reviewed_revision bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    archived_at     timestamptz,
    PRIMARY KEY (account_id, creative_id)
);
CREATE INDEX creatives_account_updated ON creatives (account_id, updated_at, creative_id);
CREATE INDEX creatives_account_status ON creatives (account_id, status);

CREATE TABLE media_buys (
    media_buy_id text PRIMARY KEY,
    account_id   text NOT NULL REFERENCES accounts ON DELETE CASCADE,
    status       text NOT NULL DEFAULT 'active',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE packages (
    package_id   text PRIMARY KEY,
    media_buy_id text NOT NULL REFERENCES media_buys ON DELETE CASCADE,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed', 'canceled')),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE creative_assignments (
    account_id    text NOT NULL,
    creative_id   text NOT NULL,
    package_id    text NOT NULL REFERENCES packages ON DELETE CASCADE,
    weight        double precision,
    placement_ids text[],
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, creative_id, package_id),
    FOREIGN KEY (account_id, creative_id) REFERENCES creatives ON DELETE CASCADE
);
CREATE INDEX creative_assignments_package ON creative_assignments (package_id);

CREATE TABLE tasks (
    task_id      text PRIMARY KEY,
    principal_id text NOT NULL,
    account_id   text NOT NULL REFERENCES accounts ON DELETE CASCADE,
    task_type    text NOT NULL,
    status       text NOT NULL,
    context      jsonb,
    push_config  jsonb,
    result       jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);

-- One row per creative revision a task waits on; the task completes when
-- review has decided every one.
CREATE TABLE task_items (
    task_id     text NOT NULL REFERENCES tasks ON DELETE CASCADE,
    account_id  text NOT NULL,
    creative_id text NOT NULL,
    revision    bigint NOT NULL,
    position    int NOT NULL,
    outcome     jsonb NOT NULL,   -- the per-creative result, updated when decided
    decided     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (task_id, creative_id)
);
CREATE INDEX task_items_pending ON task_items (account_id, creative_id, revision) WHERE NOT decided;

-- Idempotency records live as long as the declared replay TTL, then are
-- kept as tombstones (response cleared) so a late retry gets
-- IDEMPOTENCY_EXPIRED instead of a silent second execution.
CREATE TABLE idempotency_keys (
    principal_id    text NOT NULL,
    account_id      text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (principal_id, account_id, idempotency_key)
);

-- +goose Down
DROP TABLE idempotency_keys, task_items, tasks, creative_assignments, packages, media_buys, creatives, formats, accounts, api_keys, principals;
