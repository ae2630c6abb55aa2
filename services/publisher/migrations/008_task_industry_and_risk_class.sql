-- The leaders' statistics (GET /stats/tasks) count results by the entity's industry and checked
-- entities by its credit risk class: both come with task.assigned (contracts.draw.TaskAssigned,
-- the entity's as the registry held them when the draw made the task). Tasks received before
-- this migration, and tasks of entities the registry no longer returned, hold null: the figures
-- show them as "no industry recorded" and "not classified".
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS industry_code text;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS risk_class text;
