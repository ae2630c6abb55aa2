-- The draw service's records (DESIGN §6). Ceremony facts are written once: the triggers below
-- refuse to change or delete a frozen list, a committed stratum's numbers, or a seed.

CREATE TABLE IF NOT EXISTS plans (
    plan_id      text PRIMARY KEY,
    body         jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS draws (
    draw_id            text PRIMARY KEY,
    plan_id            text NOT NULL REFERENCES plans (plan_id),
    rules_version      text NOT NULL,
    state              text NOT NULL,
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    snapshot_id        text,
    commitment_sha256  text,
    committed_at       timestamptz,
    seed               text,
    seed_source        text,
    seed_entered_by    text,
    seeded_at          timestamptz,
    supersedes         text REFERENCES draws (draw_id),
    superseded_by      text,
    redraw_reason      text,
    redraw_by          text,
    redraw_at          timestamptz,
    completed_at       timestamptz,
    published          boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS draws_plan ON draws (plan_id);

CREATE TABLE IF NOT EXISTS strata (
    draw_id            text NOT NULL REFERENCES draws (draw_id),
    stratum_id         text NOT NULL,
    n                  integer NOT NULL,
    bp                 integer,
    count              integer,
    k                  integer NOT NULL,
    candidates_sha256  text NOT NULL,
    object_name        text NOT NULL,
    selected           text[],
    cutoff_ticket      text,
    PRIMARY KEY (draw_id, stratum_id)
);

-- The frozen lists exactly as published (each USCC + "\n"), copied from the registry's
-- snapshot after checking their hash; served as <stratum_id>.txt.
CREATE TABLE IF NOT EXISTS candidate_lists (
    draw_id     text NOT NULL,
    stratum_id  text NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (draw_id, stratum_id)
);

-- Which strata a company was a candidate of (GET /draws/{id}/tickets/{uscc}).
CREATE TABLE IF NOT EXISTS candidate_index (
    draw_id     text NOT NULL,
    uscc        text NOT NULL,
    stratum_id  text NOT NULL
);
CREATE INDEX IF NOT EXISTS candidate_index_uscc ON candidate_index (draw_id, uscc);

CREATE TABLE IF NOT EXISTS seed_parties (
    draw_id            text NOT NULL REFERENCES draws (draw_id),
    party_id           text NOT NULL,
    commitment_sha256  text NOT NULL,
    secret             text,
    registered_by      text NOT NULL,
    registered_at      timestamptz NOT NULL DEFAULT now(),
    revealed_at        timestamptz,
    PRIMARY KEY (draw_id, party_id)
);

CREATE TABLE IF NOT EXISTS tasks (
    task_id          text PRIMARY KEY,
    draw_id          text NOT NULL REFERENCES draws (draw_id),
    seq              integer NOT NULL,
    plan_id          text NOT NULL,
    uscc             text NOT NULL,
    state            text NOT NULL,          -- assigned | unstaffed | merged | superseded
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    body             jsonb NOT NULL,         -- the TaskAssigned contract
    expertise        jsonb NOT NULL DEFAULT '{}',  -- item code -> expertise it needs
    merged_into      text,
    unstaffed_reason text
);
CREATE INDEX IF NOT EXISTS tasks_draw ON tasks (draw_id, seq);
CREATE INDEX IF NOT EXISTS tasks_uscc ON tasks (uscc);

CREATE TABLE IF NOT EXISTS team_members (
    task_id       text NOT NULL REFERENCES tasks (task_id),
    inspector_id  text NOT NULL,
    PRIMARY KEY (task_id, inspector_id)
);
CREATE INDEX IF NOT EXISTS team_members_inspector ON team_members (inspector_id);

CREATE OR REPLACE FUNCTION draw_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'draw records are immutable: % on % refused', TG_OP, TG_TABLE_NAME;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS candidate_lists_immutable ON candidate_lists;
CREATE TRIGGER candidate_lists_immutable BEFORE UPDATE OR DELETE ON candidate_lists
    FOR EACH ROW EXECUTE FUNCTION draw_immutable();
DROP TRIGGER IF EXISTS candidate_index_immutable ON candidate_index;
CREATE TRIGGER candidate_index_immutable BEFORE UPDATE OR DELETE ON candidate_index
    FOR EACH ROW EXECUTE FUNCTION draw_immutable();

-- A stratum's committed numbers never change; its selection is written once.
CREATE OR REPLACE FUNCTION strata_write_once() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'draw records are immutable: DELETE on strata refused';
    END IF;
    IF (NEW.n, NEW.bp, NEW.count, NEW.k, NEW.candidates_sha256, NEW.object_name)
       IS DISTINCT FROM (OLD.n, OLD.bp, OLD.count, OLD.k, OLD.candidates_sha256, OLD.object_name)
       OR (OLD.selected IS NOT NULL AND NEW.selected IS DISTINCT FROM OLD.selected) THEN
        RAISE EXCEPTION 'a committed stratum cannot change';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS strata_write_once ON strata;
CREATE TRIGGER strata_write_once BEFORE UPDATE OR DELETE ON strata
    FOR EACH ROW EXECUTE FUNCTION strata_write_once();

-- The seed and the commitment of a draw are written once; a draw is never deleted.
CREATE OR REPLACE FUNCTION draws_write_once() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'draw records are immutable: DELETE on draws refused';
    END IF;
    IF (OLD.seed IS NOT NULL AND NEW.seed IS DISTINCT FROM OLD.seed)
       OR (OLD.commitment_sha256 IS NOT NULL
           AND NEW.commitment_sha256 IS DISTINCT FROM OLD.commitment_sha256) THEN
        RAISE EXCEPTION 'the seed and the commitment of a draw are written once';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS draws_write_once ON draws;
CREATE TRIGGER draws_write_once BEFORE UPDATE OR DELETE ON draws
    FOR EACH ROW EXECUTE FUNCTION draws_write_once();
