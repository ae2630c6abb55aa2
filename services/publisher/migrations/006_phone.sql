-- 掌上查: what the inspector's phone needs of the publisher (DESIGN §10).
-- - tasks.batch from task.assigned (the draw's batch order); tasks received before: 1.
-- - the task list per inspector (team), per department, ordered by due date.
-- - results keep the follow-up (责令整改, 移送) and the representative's confirmation; the
--   checklist answers live in each item of `items`.
-- - result_drafts: an inspector's result until every other team member confirmed it with
--   their own sign-in; at most one awaiting per task. Drafts are never deleted: a repeat of
--   the phone's offline queue, or a member reading an old one, learns what became of it.
-- - submission_keys: the phone's idempotency keys; the primary key is what makes a repeated
--   or racing submission record once.
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS batch int NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS tasks_team ON tasks USING gin (team);
CREATE INDEX IF NOT EXISTS tasks_departments ON tasks USING gin (departments);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (period_end, batch, task_id);

ALTER TABLE results ADD COLUMN IF NOT EXISTS follow_up jsonb;
ALTER TABLE results ADD COLUMN IF NOT EXISTS representative jsonb;

CREATE TABLE result_drafts (
    draft_id        text PRIMARY KEY,
    task_id         text NOT NULL REFERENCES tasks (task_id),
    submission      jsonb NOT NULL,          -- canonical: no confirmations, key, inline content
    content_sha256  text NOT NULL,
    submitted_by    text NOT NULL,           -- the inspector who submitted
    confirmations   jsonb NOT NULL,          -- [{inspector_id, confirmed_at}], submitter first
    state           text NOT NULL DEFAULT 'awaiting'
                    CHECK (state IN ('awaiting', 'accepted', 'returned', 'replaced')),
    created_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    closed_by       text,
    reason          text,                    -- why returned, or what replaced it
    result_id       text,                    -- the result version it became
    version         int,
    accepted        jsonb                    -- that version's ResultAccepted
);
CREATE UNIQUE INDEX result_drafts_awaiting ON result_drafts (task_id) WHERE state = 'awaiting';
CREATE INDEX result_drafts_task ON result_drafts (task_id, created_at);

CREATE TABLE submission_keys (
    submitted_by     text NOT NULL,
    task_id          text NOT NULL,
    idempotency_key  text NOT NULL,
    content_sha256   text NOT NULL,
    draft_id         text REFERENCES result_drafts (draft_id),
    reply            jsonb,                  -- ResultAccepted, when it was accepted at once
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (submitted_by, task_id, idempotency_key)
);
