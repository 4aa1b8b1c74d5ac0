-- +goose Up
-- The formats each trusted outside creative agent last listed, so a restart
-- while an agent is down still accepts them, and every replica starts from
-- the same copy. One row per agent: a refresh replaces its list at once.
CREATE TABLE agent_formats (
    agent_url   text PRIMARY KEY,   -- canonical (creative.CanonicalAgentURL)
    definitions jsonb NOT NULL,     -- the format objects as the agent sent them
    fetched_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE agent_formats;
