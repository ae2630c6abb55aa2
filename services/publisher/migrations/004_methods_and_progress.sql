-- What a result is checked against and what the draw learns of each task (DESIGN §7):
-- - methods: the check methods the task allows (from task.assigned; e.g. class-A tasks allow
--   no on-site visit). Tasks received before this column hold '{}': no method recorded, so
--   none can be checked against.
-- - started_at/started_by: an inspector marked the visit begun (POST /tasks/{id}/start,
--   event task.started).
-- - the two officers of a redraw, from draw.superseded, for 任务公告.
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS methods text[] NOT NULL DEFAULT '{}';
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS started_at timestamptz;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS started_by text;
ALTER TABLE draws ADD COLUMN IF NOT EXISTS superseded_requested_by text;
ALTER TABLE draws ADD COLUMN IF NOT EXISTS superseded_confirmed_by text;

-- result.accepted events (contracts.publisher.ResultAccepted) were not published before this
-- migration: queue one per result version already accepted, with the ids new ones get
-- (intake: "result.accepted:<result_id>:v<version>"), so the draw learns of every result recorded.
INSERT INTO event_outbox (event_id, subject, body)
SELECT 'result.accepted:' || r.result_id || ':v' || r.version,
       'spotcheck.v1.publisher.result.accepted',
       json_build_object(
           'result_id', r.result_id,
           'version', r.version,
           'task_id', r.task_id,
           'check_date', r.check_date,
           'due_date', r.due_date,
           'destinations', coalesce(
               (SELECT json_agg(o.destination ORDER BY o.id) FROM outbox o
                WHERE o.result_id = r.result_id AND o.version = r.version),
               '[]'::json),
           'accepted_at', r.accepted_at)::text
FROM results r
ORDER BY r.accepted_at, r.result_id, r.version
ON CONFLICT (event_id) DO NOTHING;
