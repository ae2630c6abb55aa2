-- A task's progress may end cancelled (the publisher's task.cancelled): it is no visit for the
-- frequency windows and is never merged into.
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_progress_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_progress_check
    CHECK (progress IN ('not_started', 'in_progress', 'result_recorded', 'cancelled'));
