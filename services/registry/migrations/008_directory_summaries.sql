-- The 两库 summaries sent to the 监督平台 (through the publisher): at most one a day, and only
-- when the counts changed (services/registry/commands/summaries.py). Each row is the summary
-- of a China day with the SHA-256 of its counts; its `directory.summary` event leaves through
-- the outbox in the same transaction.
CREATE TABLE IF NOT EXISTS directory_summaries (
    day         date PRIMARY KEY,
    sha256      text NOT NULL,
    summary     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
