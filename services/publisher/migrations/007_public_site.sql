-- The public site's reads (一公开; services/web's public pages call GET /public/notices/*,
-- /public/companies* and /public/overview.json): every page is filtered, counted and cut in SQL
-- through these indexes, never by reading whole tables, so it stays fast at 250,000 tasks and
-- results (bench/public_notices.py measures it).
--
-- A part of a name in Chinese (`LIKE '%饭店%'`) is found through a trigram index (pg_trgm,
-- shipped with PostgreSQL; trusted, so the service's own user may create it): with the
-- databases' UTF-8 character classes every Chinese character counts as a word character.
-- The extension is database-wide: created in `public` unless some schema already has it, and
-- the operator class is named through the schema it lives in.
DO $$
DECLARE
    ext_schema text;
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS tasks_entity_name_trgm ON tasks '
        'USING gin (entity_name %I.gin_trgm_ops)', ext_schema);
END $$;

-- A USCC typed from its start: a prefix search. A prefecture's regions (`3602…`) are a range
-- of codes, and the regions there are for the filter are read off this index one by one.
CREATE INDEX IF NOT EXISTS tasks_uscc_prefix ON tasks (uscc text_pattern_ops);
CREATE INDEX IF NOT EXISTS tasks_region ON tasks (region_code);
-- Tasks of one item: `items @> '[{"code": …}]'`.
CREATE INDEX IF NOT EXISTS tasks_items ON tasks USING gin (items jsonb_path_ops);
-- 任务公告's order (newest period first) and its year filter.
CREATE INDEX IF NOT EXISTS tasks_period ON tasks (period_start DESC, task_id);
-- 结果公告 shows each result's latest public version. Which version that is, is kept on the
-- rows: `public_superseded` marks a published version that a later published version of the
-- same result replaces (a derived mark kept by the trigger below when versions are published,
-- in whatever order; the versions' content never changes). So the notice, its count and its
-- order are one partial index, instead of an anti-join over every version.
ALTER TABLE results ADD COLUMN IF NOT EXISTS public_superseded boolean NOT NULL DEFAULT false;
UPDATE results r SET public_superseded = true
 WHERE r.published_at IS NOT NULL
   AND EXISTS (SELECT 1 FROM results n WHERE n.result_id = r.result_id
                AND n.version > r.version AND n.published_at IS NOT NULL);

CREATE OR REPLACE FUNCTION results_public_superseded() RETURNS trigger AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;  -- its own update below: nothing more to mark
    END IF;
    UPDATE results r SET public_superseded = true
     WHERE r.result_id IN (SELECT a.result_id FROM published a
                             JOIN unpublished b USING (result_id, version)
                            WHERE a.published_at IS NOT NULL AND b.published_at IS NULL)
       AND r.published_at IS NOT NULL AND NOT r.public_superseded
       AND EXISTS (SELECT 1 FROM results n WHERE n.result_id = r.result_id
                    AND n.version > r.version AND n.published_at IS NOT NULL);
    RETURN NULL;
END $$ LANGUAGE plpgsql;
-- Once per statement, after it: a batch of the relay may publish several versions of one
-- result at once. (A trigger with transition tables cannot name its columns.) A version is
-- always stored unpublished and made public by an update (the relay's, store/outbox.py).
DROP TRIGGER IF EXISTS results_public_superseded ON results;
CREATE TRIGGER results_public_superseded AFTER UPDATE ON results
    REFERENCING OLD TABLE AS unpublished NEW TABLE AS published
    FOR EACH STATEMENT EXECUTE FUNCTION results_public_superseded();

-- 结果公告's order (newest publication first) over the latest public versions; its category
-- and year filters.
CREATE INDEX IF NOT EXISTS results_public ON results (published_at DESC, result_id)
    WHERE published_at IS NOT NULL AND NOT public_superseded;
CREATE INDEX IF NOT EXISTS results_categories ON results USING gin (categories);
CREATE INDEX IF NOT EXISTS results_check_date ON results (check_date);
CREATE INDEX IF NOT EXISTS plans_year ON plans (year, approved_at DESC);

-- The home page's figures of a year, counted from the indexes alone (index-only scans): the
-- live tasks by period and draw, the latest public results by check date and violation.
CREATE INDEX IF NOT EXISTS tasks_live_period ON tasks (period_start, draw_id)
    WHERE merged_into IS NULL;
CREATE INDEX IF NOT EXISTS results_public_checked ON results (check_date, violation)
    WHERE published_at IS NOT NULL AND NOT public_superseded;
