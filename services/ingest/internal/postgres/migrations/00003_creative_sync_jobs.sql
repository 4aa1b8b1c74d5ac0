-- +goose Up
-- creative_sync jobs (the Drive-link API): one row per job, one per file
-- or folder it names; per-file work is driven by
-- creative_sync_file_requested_v1 messages that commit with these rows.
CREATE TABLE sync_jobs (
    job_id          text PRIMARY KEY,
    principal_id    text NOT NULL,
    account_id      text NOT NULL REFERENCES accounts ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    message         text NOT NULL DEFAULT '',
    webhook_url     text NOT NULL DEFAULT '',
    idempotency_key text NOT NULL DEFAULT '',
    request_hash    text NOT NULL DEFAULT '',
    notified        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    completed_at    timestamptz
);
-- The same Idempotency-Key from the same principal is the same job.
CREATE UNIQUE INDEX sync_jobs_idempotency ON sync_jobs (principal_id, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE sync_job_files (
    job_id          text NOT NULL REFERENCES sync_jobs ON DELETE CASCADE,
    position        int NOT NULL,
    link            text NOT NULL,
    drive_id        text NOT NULL,
    resource_key    text NOT NULL DEFAULT '',
    folder          boolean NOT NULL DEFAULT false,
    status          text NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'expanded')),
    reason          text NOT NULL DEFAULT '',
    name            text NOT NULL DEFAULT '',
    inspection      jsonb,
    md5             text NOT NULL DEFAULT '',
    creative_id     text NOT NULL DEFAULT '',
    format_id       text NOT NULL DEFAULT '',
    revision        bigint NOT NULL DEFAULT 0,
    action          text NOT NULL DEFAULT '',
    creative_status text NOT NULL DEFAULT '',
    decided         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, position)
);
-- Review decisions find the files waiting on a creative revision.
CREATE INDEX sync_job_files_waiting ON sync_job_files (creative_id, revision) WHERE status = 'done' AND NOT decided;

-- +goose Down
DROP TABLE sync_job_files, sync_jobs;
