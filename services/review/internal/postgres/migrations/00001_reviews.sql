-- +goose Up

-- review_policies holds a tenant's own thresholds; tenants without a row get
-- the service defaults (REVIEW_AUTO_APPROVE_THRESHOLD / _REJECT_THRESHOLD).
CREATE TABLE review_policies (
    account_id        text PRIMARY KEY,
    approve_threshold double precision NOT NULL CHECK (approve_threshold BETWEEN 0 AND 1),
    reject_threshold  double precision NOT NULL CHECK (reject_threshold BETWEEN 0 AND 1),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (reject_threshold < approve_threshold)
);

-- reviews has one row per reviewed revision, so a late older revision is
-- stored beside the newer one instead of overwriting its decision.
CREATE TABLE reviews (
    account_id        text NOT NULL,
    creative_id       text NOT NULL,
    revision          bigint NOT NULL CHECK (revision > 0),
    score             double precision NOT NULL CHECK (score BETWEEN 0 AND 1),
    -- findings of the rule set: code, message, field, factor, force_human
    reasons           jsonb NOT NULL DEFAULT '[]',
    state             text NOT NULL CHECK (state IN ('pending_human', 'approved', 'rejected')),
    -- what the scorer advises; a human decision against it is an override
    recommendation    text NOT NULL CHECK (recommendation IN ('approve', 'reject')),
    policy_triggered  text NOT NULL,
    decided_by        text CHECK (decided_by IN ('auto', 'human')),
    reviewer          text,
    decision_reason   text,
    human_override    boolean NOT NULL DEFAULT false,
    -- thresholds in force when the revision was scored, for audits
    approve_threshold double precision NOT NULL,
    reject_threshold  double precision NOT NULL,
    -- the creative as the reviewer sees it: name, format, assets, tags, provenance
    creative          jsonb NOT NULL,
    correlation_id    text,
    source_event_id   text NOT NULL,
    -- the newer revision that replaced this one; superseded revisions leave the queue
    superseded_by     bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    decided_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, creative_id, revision),
    CHECK ((state = 'pending_human') = (decided_by IS NULL)),
    CHECK ((decided_by IS NULL) = (decided_at IS NULL)),
    CHECK (decided_by IS DISTINCT FROM 'human' OR reviewer IS NOT NULL)
);

-- Lists are oldest first within a state; the queue is the pending part.
CREATE INDEX reviews_by_state ON reviews (state, created_at, account_id, creative_id, revision);
CREATE INDEX reviews_by_account_state ON reviews (account_id, state, created_at, creative_id, revision);

-- +goose Down
DROP TABLE reviews;
DROP TABLE review_policies;
