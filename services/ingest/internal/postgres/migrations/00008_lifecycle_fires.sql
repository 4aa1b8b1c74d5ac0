-- +goose Up
-- creative.status_changed fires waiting out the coalescing window
-- (LIFECYCLE_COALESCE_WINDOW): one row per creative and subscriber; a later
-- transition inside the window updates the row, so the subscriber gets one
-- fire from the first state to the last.
CREATE TABLE lifecycle_fires (
    account_id       text NOT NULL,
    creative_id      text NOT NULL,
    subscriber_id    text NOT NULL,
    url              text NOT NULL,
    authentication   jsonb,
    from_status      text NOT NULL,
    to_status        text NOT NULL,
    revision         bigint NOT NULL,
    initiated_by     text NOT NULL,
    rejection_reason text NOT NULL DEFAULT '',
    notification_id  text NOT NULL,
    observed_at      timestamptz NOT NULL,
    correlation_id   text NOT NULL DEFAULT '',
    due_at           timestamptz NOT NULL,
    PRIMARY KEY (account_id, creative_id, subscriber_id)
);
CREATE INDEX lifecycle_fires_due ON lifecycle_fires (due_at);

-- +goose Down
DROP TABLE lifecycle_fires;
