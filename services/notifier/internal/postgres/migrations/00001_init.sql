-- +goose Up
-- deliveries is the notifier's durable outbox towards buyers: one row per
-- notification, keyed by the payload's idempotency_key so a redelivered
-- event cannot create a second delivery.
CREATE TABLE deliveries (
    id               bigserial PRIMARY KEY,
    idempotency_key  text        NOT NULL UNIQUE,
    event_id         text        NOT NULL,
    correlation_id   text        NOT NULL DEFAULT '',
    account_id       text        NOT NULL,
    task_id          text        NOT NULL DEFAULT '',
    kind             text        NOT NULL,
    url              text        NOT NULL,
    token            text        NOT NULL DEFAULT '',
    -- '' means RFC 9421 signing; otherwise Bearer or HMAC-SHA256.
    auth_scheme      text        NOT NULL DEFAULT '' CHECK (auth_scheme IN ('', 'Bearer', 'HMAC-SHA256')),
    auth_credentials text        NOT NULL DEFAULT '',
    -- bytea, not jsonb: jsonb reorders keys and drops whitespace, and the
    -- signatures cover the exact bytes.
    payload          bytea       NOT NULL,
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    window_start     timestamptz NOT NULL,
    window_attempts  integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_status_code integer,
    last_error       text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    finished_at      timestamptz
);

-- The dispatcher's claim query; partial so delivered history does not bloat it.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_account ON deliveries (account_id, id DESC);
CREATE INDEX deliveries_status ON deliveries (status, id DESC);

CREATE TABLE delivery_attempts (
    id           bigserial   PRIMARY KEY,
    delivery_id  bigint      NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  double precision NOT NULL,
    status_code  integer,
    error        text        NOT NULL DEFAULT '',
    outcome      text        NOT NULL
);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt);

-- signing_keys holds the generated webhook key when none is configured, so
-- every replica and every restart signs with the key the JWKS publishes.
CREATE TABLE signing_keys (
    purpose    text        PRIMARY KEY,
    kid        text        NOT NULL,
    seed       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
