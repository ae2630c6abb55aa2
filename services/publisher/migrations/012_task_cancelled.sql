-- A task called off before its visit (取消任务): by whom, when and why. It takes no visit and no
-- result any more and is never overdue.
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS cancelled_at timestamptz;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS cancelled_by text;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS cancel_reason text;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS cancel_note text NOT NULL DEFAULT '';
