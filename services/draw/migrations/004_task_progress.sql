-- How far the inspectors are with each task, from the publisher's events (task.started,
-- result.accepted). A column of its own: `state` keeps saying what the draw did with a task
-- (assigned | unstaffed | merged | superseded), and the frequency rules read `state` alone.
-- Progress only moves forward; visit merging absorbs only tasks that are not started.
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS progress text NOT NULL DEFAULT 'not_started'
    CHECK (progress IN ('not_started', 'in_progress', 'result_recorded'));
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS progress_at timestamptz;
