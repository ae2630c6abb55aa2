-- Our copy of each draw's public facts (draw.completed, draw.superseded) for 任务公告.
-- The two events come through one consumer but either may be the first we see of a draw.

CREATE TABLE draws (
    draw_id            text PRIMARY KEY,
    plan_id            text,
    completed_at       timestamptz,
    tasks              int,
    unstaffed          int,
    seed               text,
    seed_source        text,
    commitment_sha256  text,
    supersedes         text,                  -- the draw this one redrew, if any
    superseded_by      text,                  -- set by draw.superseded: both stay public
    superseded_reason  text,
    superseded_at      timestamptz
);
CREATE INDEX tasks_draw ON tasks (draw_id);
