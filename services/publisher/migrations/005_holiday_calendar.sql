-- The holiday schedules of the last activated rule set (planner.rules.activated), which the
-- publisher counts working days with, over the chinese-calendar package's data. One row: every
-- copy reads it holding a shared advisory lock when it computes a deadline, and an activation
-- replaces it holding that lock exclusively (services/publisher/calendars.py).
CREATE TABLE holiday_calendar (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rules_version  text,                      -- null: no activation seen yet (package data only)
    activated_at   timestamptz,
    schedules      jsonb NOT NULL DEFAULT '[]',   -- [HolidaySchedule], by year
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO holiday_calendar DEFAULT VALUES;

-- A due date that counts days of a year whose holidays are not yet published is provisional
-- (weekends and statutory holidays only) until that year's holiday file is activated.
ALTER TABLE results ADD COLUMN due_date_provisional boolean NOT NULL DEFAULT false;
CREATE INDEX results_due_provisional ON results (due_date) WHERE due_date_provisional;
