-- The 两库 summaries sent to the 监督平台 (through the publisher): at most one a day, and only
-- when the counts changed (services/registry/commands/summaries.py). A row per China day the
-- registry counted: `sent` when that day's summary went out (its `directory.summary` event
-- leaves through the outbox in the same transaction), else a look that found nothing changed
-- (so the periodic look counts once a day; an import commit may still send that day).
CREATE TABLE IF NOT EXISTS directory_summaries (
    day         date PRIMARY KEY,
    sha256      text NOT NULL,
    sent        boolean NOT NULL,
    summary     jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
