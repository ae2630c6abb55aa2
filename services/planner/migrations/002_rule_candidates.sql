-- Candidate rule sets policy staff uploaded or edited in the console, kept so that check, test,
-- simulate and activate work on the same files across requests. A candidate may fail its check
-- (that is what the console shows); it becomes a rule version only when activated.
CREATE TABLE rule_candidates (
    candidate_id  text PRIMARY KEY,            -- SHA-256 of every file (rules and tests)
    files         jsonb NOT NULL,              -- {relative path: UTF-8 text}
    based_on      text,                        -- the candidate or version it was edited from
    note          text NOT NULL DEFAULT '',
    uploaded_by   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rule_candidates_created_at_idx ON rule_candidates (created_at DESC);
