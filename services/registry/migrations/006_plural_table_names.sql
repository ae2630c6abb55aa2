-- Tables are named for the rows they hold, in the plural, in every schema (docs/development.md):
-- the registry's singular names are renamed in place, data and all. With each table go the
-- names made after it: its constraints (keys, checks, foreign keys, and the NOT NULL ones
-- PostgreSQL 18 names after their table), its indexes, its sequences and its triggers
-- ("entity_pkey" becomes "entities_pkey", "snapshot_immutable" "snapshots_immutable").
-- entity_history and inspector_history keep their names: a history is already a set (of the
-- superseded versions; the current one is in entities), as audit_log is.

-- The constraints, indexes, owned sequences and triggers of `tbl` named after `from_name`
-- ("from_name_…") are named after `to_name` instead ("to_name_…").
CREATE FUNCTION pg_temp.rename_derived(tbl text, from_name text, to_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    rel regclass := format('%I', tbl)::regclass;
    r record;
BEGIN
    -- constraints first: renaming a key or unique constraint renames its index with it
    FOR r IN SELECT conname AS name FROM pg_constraint WHERE conrelid = rel
             AND starts_with(conname, from_name || '_')
             AND NOT starts_with(conname, to_name || '_') LOOP
        EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I',
                       tbl, r.name, to_name || substr(r.name, length(from_name) + 1));
    END LOOP;
    FOR r IN SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = rel AND starts_with(c.relname, from_name || '_')
             AND NOT starts_with(c.relname, to_name || '_') LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I',
                       r.name, to_name || substr(r.name, length(from_name) + 1));
    END LOOP;
    FOR r IN SELECT s.relname AS name FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
             WHERE d.classid = 'pg_class'::regclass AND d.refobjid = rel AND s.relkind = 'S'
             AND starts_with(s.relname, from_name || '_')
             AND NOT starts_with(s.relname, to_name || '_') LOOP
        EXECUTE format('ALTER SEQUENCE %I RENAME TO %I',
                       r.name, to_name || substr(r.name, length(from_name) + 1));
    END LOOP;
    FOR r IN SELECT tgname AS name FROM pg_trigger WHERE tgrelid = rel AND NOT tgisinternal
             AND starts_with(tgname, from_name || '_')
             AND NOT starts_with(tgname, to_name || '_') LOOP
        EXECUTE format('ALTER TRIGGER %I ON %I RENAME TO %I',
                       r.name, tbl, to_name || substr(r.name, length(from_name) + 1));
    END LOOP;
END $$;

CREATE FUNCTION pg_temp.rename_table(from_name text, to_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I RENAME TO %I', from_name, to_name);
    PERFORM pg_temp.rename_derived(to_name, from_name, to_name);
END $$;

SELECT pg_temp.rename_table('entity', 'entities');
SELECT pg_temp.rename_table('inspector', 'inspectors');
SELECT pg_temp.rename_table('import_run', 'import_runs');
SELECT pg_temp.rename_table('import_chunk', 'import_chunks');
SELECT pg_temp.rename_table('risk_push', 'risk_pushes');
SELECT pg_temp.rename_table('risk_push_chunk', 'risk_push_chunks');
SELECT pg_temp.rename_table('snapshot', 'snapshots');
SELECT pg_temp.rename_table('snapshot_stratum', 'snapshot_strata');
SELECT pg_temp.rename_table('snapshot_block', 'snapshot_blocks');
-- inspector_history was made LIKE inspector: on PostgreSQL 18 it has NOT NULL constraints
-- named after inspector ("inspector_name_not_null"); they are named after their own table.
SELECT pg_temp.rename_derived('inspector_history', 'inspector', 'inspector_history');

-- The staging tables of imports not yet committed (stage_<import>, stage_<import>_<chunk>)
-- become staged_rows_<import>[_<chunk>], where the commit now looks for them. A first load's
-- build left by a crash (entity_load_<import>) is dropped: the next attempt builds it afresh.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT relname FROM pg_class
             WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'
               AND relname ~ '^stage_[0-9a-f]{32}(_[0-9]+)?$' LOOP
        PERFORM pg_temp.rename_table(r.relname, 'staged_rows_' || substr(r.relname, 7));
    END LOOP;
    FOR r IN SELECT relname FROM pg_class
             WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'
               AND relname ~ '^entity_load_[0-9a-f]{32}$' LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
    END LOOP;
END $$;

DROP FUNCTION pg_temp.rename_table(text, text);
DROP FUNCTION pg_temp.rename_derived(text, text, text);
