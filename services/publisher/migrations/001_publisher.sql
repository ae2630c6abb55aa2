-- The publisher's own copies of tasks and plans (from events; no shared tables), results as
-- immutable versions, and the transactional outbox of their deliveries.

CREATE TABLE tasks (
    task_id          text PRIMARY KEY,
    draw_id          text NOT NULL,
    plan_id          text NOT NULL,
    uscc             text NOT NULL,
    entity_name      text NOT NULL,
    region_code      text NOT NULL,
    departments      text[] NOT NULL,
    lead_department  text NOT NULL,
    items            jsonb NOT NULL,          -- [{code, name, department}]
    team             text[] NOT NULL,         -- inspector ids
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_uscc ON tasks (uscc);

CREATE TABLE plans (
    plan_id          text PRIMARY KEY,
    year             int NOT NULL,
    title            text NOT NULL,
    departments      text[] NOT NULL,
    approved_at      timestamptz NOT NULL,
    strata           int NOT NULL,
    rules_version    text NOT NULL,
    items            jsonb NOT NULL           -- [{code, name, department, kind}]
);

-- One row per version; a correction is a new row, never an update of an old one.
CREATE TABLE results (
    result_id          text NOT NULL,
    version            int NOT NULL,
    task_id            text NOT NULL REFERENCES tasks (task_id),
    supersedes         int,
    correction_reason  text,
    submitted_by       text NOT NULL,
    check_date         date NOT NULL,
    due_date           date NOT NULL,
    method             text NOT NULL,
    items              jsonb NOT NULL,        -- [{item_code, category, category_name, problems, rooted_at_approval}]
    categories         text[] NOT NULL,
    violation          boolean NOT NULL,
    confirmations      jsonb NOT NULL,
    attachments        jsonb NOT NULL,
    accepted_at        timestamptz NOT NULL,
    published_at       timestamptz,           -- set when the disclosure delivery succeeded
    PRIMARY KEY (result_id, version),
    UNIQUE (task_id, version)
);
CREATE INDEX results_unpublished ON results (due_date) WHERE published_at IS NULL;

CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    result_id        text NOT NULL,
    version          int NOT NULL,
    destination      text NOT NULL,
    idempotency_key  text NOT NULL UNIQUE,
    subject          text,                    -- NATS destinations
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    FOREIGN KEY (result_id, version) REFERENCES results (result_id, version)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
