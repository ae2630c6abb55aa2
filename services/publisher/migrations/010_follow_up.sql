-- Follow-up after a finding (后续处置): what the receiving body of a referral (移送) said, and
-- the re-check of an order to correct (责令整改 复查). A referral itself is its outbox row
-- (destination 'referral', one per result version); a row here exists once the receiving
-- body acknowledged it (已受理) or told its outcome (办结).
CREATE TABLE IF NOT EXISTS referrals (
    referral_id      text PRIMARY KEY,                 -- "<result_id>:v<version>"
    result_id        text NOT NULL,
    version          int NOT NULL,
    receiver         text,
    case_number      text,
    received_at      timestamptz,
    acknowledged_by  text,
    outcome          text,
    decided_at       date,
    penalty          text,
    concluded_by     text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (result_id, version) REFERENCES results (result_id, version)
);
CREATE INDEX IF NOT EXISTS referrals_result ON referrals (result_id);

-- One re-check per result: the order of its latest version when it was recorded.
CREATE TABLE IF NOT EXISTS rectification_checks (
    result_id        text PRIMARY KEY,
    version          int NOT NULL,
    task_id          text NOT NULL,
    checked_on       date NOT NULL,
    rectified        boolean NOT NULL,
    note             text NOT NULL DEFAULT '',
    -- The re-check task (复查) that did it, once the draw opens them; not checked yet.
    recheck_task_id  text,
    checked_by       text NOT NULL,
    recorded_at      timestamptz NOT NULL,
    FOREIGN KEY (result_id, version) REFERENCES results (result_id, version)
);

