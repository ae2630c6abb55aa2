-- Imports of the supervision-item catalogue exported from 互联网+监管 (a pushed file or a poll
-- of the configured URL). Each import that read cleanly is recorded with its diff against the
-- active items and the rule candidate it proposed (none when the export agreed with them); a
-- refused export records nothing. `sha256` is the export's bytes: a poll whose export is the
-- same as the source's last import records nothing new.
CREATE TABLE catalogue_imports (
    import_id      bigserial PRIMARY KEY,
    source         text NOT NULL,              -- 'upload' or the polled URL
    file_name      text NOT NULL,
    sha256         text NOT NULL,
    format         text NOT NULL CHECK (format IN ('csv', 'json')),
    encoding       text NOT NULL,
    rows           integer NOT NULL,
    based_on       text,                        -- the active rule version it was diffed against
    candidate_id   text REFERENCES rule_candidates(candidate_id),
    diff           jsonb NOT NULL,
    imported_by    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalogue_imports_source_idx ON catalogue_imports (source, import_id DESC);

-- The 监督平台's acknowledgements of a plan's filing (录入平台 / 报送备案): each ack as it came,
-- its id unique per platform; the plan's `entered_on` / `filed_on` are the latest ack's date,
-- and its flags are recomputed from them.
CREATE TABLE plan_filings (
    plan_id          text NOT NULL REFERENCES plans(plan_id),
    platform         text NOT NULL,
    ack_id           text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('entered', 'filed')),
    acknowledged_on  date NOT NULL,
    recorded_by      text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, ack_id)
);
CREATE INDEX plan_filings_plan_id_idx ON plan_filings (plan_id, recorded_at);

ALTER TABLE plans ADD COLUMN entered_on date;  -- as the platform acknowledged it; null = as submitted
ALTER TABLE plans ADD COLUMN filed_on date;
