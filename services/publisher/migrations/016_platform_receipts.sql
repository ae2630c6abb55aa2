-- The 监督平台's receipts (回执) of the plans we sent, as the publisher read them and relayed
-- them to the planner (services/publisher/receipts.py). One row per receipt (the platform's
-- ack id): `applied` once the planner recorded it (a receipt read again changes nothing),
-- `refused` when the planner refused it (an unknown plan, a date before approval…: read
-- again once the file is put back, it is tried again). `source` and `line`: where it was read.
CREATE TABLE IF NOT EXISTS platform_receipts (
    platform        text NOT NULL,
    ack_id          text NOT NULL,
    plan_id         text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('entered', 'filed')),
    acknowledged_on date NOT NULL,
    source          text NOT NULL,
    line            int NOT NULL,
    state           text NOT NULL CHECK (state IN ('applied', 'refused')),
    reason          text,
    flags           text[] NOT NULL DEFAULT '{}',
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, ack_id)
);
