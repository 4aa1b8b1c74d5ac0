-- +goose Up

-- reviewers are the people who decide queued creatives. A decision records
-- the authenticated reviewer, never a name typed into a form.
CREATE TABLE reviewers (
    id            bigserial PRIMARY KEY,
    -- lower-cased on the way in, so Ana@x and ana@x are one person
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND email <> ''),
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('reviewer', 'lead', 'admin')),
    -- argon2id PHC string; NULL for people who only sign in through OIDC
    password_hash text,
    -- issuer and subject of a linked OpenID Connect identity
    oidc_issuer   text,
    oidc_subject  text,
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (oidc_issuer, oidc_subject),
    CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL))
);

-- reviewer_sessions are the page's sign-ins. The cookie holds a random id;
-- only its SHA-256 is stored, so a database read does not yield sessions.
-- Sign-out and disabling a reviewer set revoked_at, which ends the session
-- at once however long the cookie would have lived.
CREATE TABLE reviewer_sessions (
    id_hash     bytea PRIMARY KEY,
    reviewer_id bigint NOT NULL REFERENCES reviewers (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX reviewer_sessions_by_reviewer ON reviewer_sessions (reviewer_id) WHERE revoked_at IS NULL;

-- reviewer_tokens are per-reviewer API bearer tokens, stored as SHA-256
-- (they are random, so a slow KDF buys nothing).
CREATE TABLE reviewer_tokens (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    reviewer_id bigint NOT NULL REFERENCES reviewers (id),
    label       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- audit_log records who changed what outside the reviews themselves
-- (reviewer accounts, content standards, claims); reviews carry their own
-- decision trail.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    subject    text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_subject ON audit_log (subject, at);

-- A claim keeps two reviewers off one item: until claimed_until only
-- claimed_by may decide it.
ALTER TABLE reviews ADD COLUMN claimed_by text, ADD COLUMN claimed_until timestamptz;

-- +goose Down
ALTER TABLE reviews DROP COLUMN claimed_until, DROP COLUMN claimed_by;
DROP TABLE audit_log;
DROP TABLE reviewer_tokens;
DROP TABLE reviewer_sessions;
DROP TABLE reviewers;
