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

-- A USCC typed from its start, a prefecture's regions (`3602%`): prefix searches.
CREATE INDEX IF NOT EXISTS tasks_uscc_prefix ON tasks (uscc text_pattern_ops);
CREATE INDEX IF NOT EXISTS tasks_region ON tasks (region_code text_pattern_ops);
-- Tasks of one item: `items @> '[{"code": …}]'`.
CREATE INDEX IF NOT EXISTS tasks_items ON tasks USING gin (items jsonb_path_ops);
-- 任务公告's order (newest period first) and its year filter.
CREATE INDEX IF NOT EXISTS tasks_period ON tasks (period_start DESC, task_id);
-- 结果公告's order (newest publication first), its category and year filters.
CREATE INDEX IF NOT EXISTS results_published ON results (published_at DESC, result_id)
    WHERE published_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS results_categories ON results USING gin (categories);
CREATE INDEX IF NOT EXISTS results_check_date ON results (check_date);
CREATE INDEX IF NOT EXISTS plans_year ON plans (year, approved_at DESC);
