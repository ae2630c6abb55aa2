-- Re-staffing one task (docs/draw-spec.md §7a): one row per replaced member, written once.
-- The task's body and team_members carry the new team; this keeps who left, who came, why,
-- and the inputs that re-derive the pick (the seed's input and the candidates with their
-- counts in the draw), so the public can redo it from the draw's seed.
CREATE TABLE IF NOT EXISTS restaffings (
    task_id      text NOT NULL REFERENCES tasks (task_id),
    n            integer NOT NULL CHECK (n >= 1),
    draw_id      text NOT NULL REFERENCES draws (draw_id),
    body         jsonb NOT NULL,          -- the TaskRestaffed contract
    replaced     text NOT NULL,
    replacement  text NOT NULL,
    done_by      text NOT NULL,
    done_at      timestamptz NOT NULL,
    PRIMARY KEY (task_id, n)
);
CREATE INDEX IF NOT EXISTS restaffings_draw ON restaffings (draw_id, task_id, n);

DROP TRIGGER IF EXISTS restaffings_immutable ON restaffings;
CREATE TRIGGER restaffings_immutable BEFORE UPDATE OR DELETE ON restaffings
    FOR EACH ROW EXECUTE FUNCTION draw_immutable();
