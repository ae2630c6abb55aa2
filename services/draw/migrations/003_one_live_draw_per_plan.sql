-- A plan has at most one draw that is not superseded: two officers starting the same plan at
-- once cannot both freeze it; a new draw of the plan only comes through a redraw.
CREATE UNIQUE INDEX IF NOT EXISTS draws_one_live_per_plan ON draws (plan_id)
    WHERE state <> 'superseded';
