-- +goose Up
-- The AdCP major version of the request that started a task: its final
-- result and webhook are written in that version's shape (AdCP 2 reports a
-- rejected creative as action "failed", AdCP 3 as status "rejected").
ALTER TABLE tasks ADD COLUMN adcp_major_version int NOT NULL DEFAULT 3;

-- +goose Down
ALTER TABLE tasks DROP COLUMN adcp_major_version;
