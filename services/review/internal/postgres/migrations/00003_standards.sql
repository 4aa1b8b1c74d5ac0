-- +goose Up

-- standards holds the rest of an account's content standards (blocked
-- terms, domains, categories, AI disclosure policy, reasons); the
-- thresholds stay in their checked columns.
ALTER TABLE review_policies
    ADD COLUMN standards  jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN updated_by text;

-- +goose Down
ALTER TABLE review_policies DROP COLUMN updated_by, DROP COLUMN standards;
