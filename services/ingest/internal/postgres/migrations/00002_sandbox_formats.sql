-- +goose Up
-- Formats a principal seeded for its sandbox accounts through
-- comply_test_controller. Kept in the database so every replica and every
-- restart sees the same sandbox catalog.
CREATE TABLE sandbox_formats (
    principal_id text NOT NULL REFERENCES principals ON DELETE CASCADE,
    format_id    text NOT NULL,
    definition   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal_id, format_id)
);

-- +goose Down
DROP TABLE sandbox_formats;
