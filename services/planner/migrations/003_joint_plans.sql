-- Joint plan drafts (联合抽查, #13): the lead department starts one, the invited departments
-- join with their own items, the lead submits the assembled plan through the ordinary
-- submission (which stores it in `plans`). `header` holds what every department shares:
-- title, scope, period, batches, filed_on, entered_on.
CREATE TABLE joint_drafts (
    plan_id          text PRIMARY KEY,
    year             integer NOT NULL,
    lead_department  text NOT NULL,
    departments      text[] NOT NULL,
    header           jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'open'
                     CHECK (state IN ('open', 'submitting', 'submitted')),
    plan_status      text CHECK (plan_status IN ('approved', 'rejected')),
    started_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    submitted_by     text,
    submitted_at     timestamptz
);
CREATE INDEX joint_drafts_departments_idx ON joint_drafts USING gin (departments);

-- Each department's items (the lead's from the start; an invited one's when it joins).
CREATE TABLE joint_draft_items (
    plan_id     text NOT NULL REFERENCES joint_drafts(plan_id),
    department  text NOT NULL,
    items       jsonb NOT NULL,                -- [PlanItemEntry]
    joined_by   text NOT NULL,
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, department)
);
