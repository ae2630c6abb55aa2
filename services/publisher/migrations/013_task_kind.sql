-- Triggered inspections (触发检查): a task.assigned says whether the task was drawn (`random`)
-- or opened on a trigger (`triggered`, with the trigger's code). Tasks received before: random.
-- Every count keeps the two apart (GET /stats/tasks?kind=…; the public notices label them).
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'random';
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS trigger text;
