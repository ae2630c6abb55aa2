-- Commissioned items (委托检验检测、财务审计): an item of a task handed to a qualified outside
-- body, and the report it returns with its conclusion. The item's result waits for the report
-- and must agree with its conclusion (`allowed_categories`, counted when the report comes).
CREATE TABLE IF NOT EXISTS commissions (
    commission_id     text PRIMARY KEY,
    task_id           text NOT NULL REFERENCES tasks (task_id),
    item_code         text NOT NULL,
    kind              text NOT NULL,
    body_name         text NOT NULL,
    qualification_no  text NOT NULL,
    subject           text NOT NULL,
    commissioned_on   date NOT NULL,
    opened_by         text NOT NULL,
    opened_at         timestamptz NOT NULL,
    report            jsonb,
    conclusion        text,
    reported_on       date,
    reported_by       text,
    note              text NOT NULL DEFAULT '',
    allowed_categories text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS commissions_task ON commissions (task_id);
