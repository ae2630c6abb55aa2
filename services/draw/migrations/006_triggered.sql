-- Triggered inspections (触发检查, contracts/triggered.py): a task opened for one entity on a
-- trigger, approved by a second named draw officer, then staffed by the draw's team rules.
-- Its task row belongs to no draw and no plan (draw_id NULL, plan_id ''); `kind` keeps it
-- apart from the random tasks in every count, and the database refuses a triggered task
-- without its trigger (清单之外无检查: no ad-hoc check without one).
ALTER TABLE tasks ALTER COLUMN draw_id DROP NOT NULL;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'random';
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS trigger text;
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_kind_trigger;
ALTER TABLE tasks ADD CONSTRAINT tasks_kind_trigger CHECK (
    (kind = 'random' AND trigger IS NULL AND draw_id IS NOT NULL)
    OR (kind = 'triggered' AND trigger IS NOT NULL AND draw_id IS NULL));

CREATE TABLE IF NOT EXISTS triggered_checks (
    task_id        text PRIMARY KEY,
    uscc           text NOT NULL,
    entity         jsonb NOT NULL,          -- the registry's EntityRecord when it was opened
    trigger        text NOT NULL
                   CHECK (trigger IN ('complaint', 'big_data', 'referral', 'statutory',
                                      'superior', 'recheck')),
    evidence_ref   text NOT NULL CHECK (btrim(evidence_ref) <> ''),
    items          jsonb NOT NULL,          -- [PlanItem] of the active catalogue
    departments    text[] NOT NULL,
    lead_department text NOT NULL,
    methods        text[] NOT NULL,
    period_start   date NOT NULL,
    period_end     date NOT NULL CHECK (period_end >= period_start),
    rules_version  text NOT NULL,
    opened_by      text NOT NULL,
    approver       text NOT NULL CHECK (approver <> opened_by),
    opened_at      timestamptz NOT NULL,
    -- The seed: drawn once when opened, its SHA-256 published at once, itself shown once
    -- approved (docs/draw-spec.md §7a).
    nonce          text NOT NULL,
    nonce_sha256   text NOT NULL,
    state          text NOT NULL DEFAULT 'awaiting_approval'
                   CHECK (state IN ('awaiting_approval', 'assigned', 'unstaffed')),
    approved_at    timestamptz,
    eligible       jsonb                    -- [{inspector_id, department}] when the team was drawn
);
CREATE INDEX IF NOT EXISTS triggered_checks_opened ON triggered_checks (opened_at DESC, task_id);

-- What was opened, on which trigger and evidence, with which seed, never changes; a triggered
-- task is never deleted.
CREATE OR REPLACE FUNCTION triggered_checks_write_once() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'draw records are immutable: DELETE on triggered_checks refused';
    END IF;
    IF (NEW.task_id, NEW.uscc, NEW.trigger, NEW.evidence_ref, NEW.items, NEW.opened_by,
        NEW.approver, NEW.nonce, NEW.nonce_sha256, NEW.period_start, NEW.period_end)
       IS DISTINCT FROM
       (OLD.task_id, OLD.uscc, OLD.trigger, OLD.evidence_ref, OLD.items, OLD.opened_by,
        OLD.approver, OLD.nonce, OLD.nonce_sha256, OLD.period_start, OLD.period_end)
       OR (OLD.approved_at IS NOT NULL AND NEW.eligible IS DISTINCT FROM OLD.eligible) THEN
        RAISE EXCEPTION 'a triggered task''s opening and seed are written once';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS triggered_checks_write_once ON triggered_checks;
CREATE TRIGGER triggered_checks_write_once BEFORE UPDATE OR DELETE ON triggered_checks
    FOR EACH ROW EXECUTE FUNCTION triggered_checks_write_once();
