-- The two directories (两库), their valid-time history, imports, and frozen snapshots.
-- USCCs and stratum ids are compared by bytes (COLLATE "C"), the committed order of DESIGN §6.

CREATE TABLE entity (
    uscc            text COLLATE "C" PRIMARY KEY,
    name            text NOT NULL,
    entity_type     text NOT NULL,
    region_code     text COLLATE "C" NOT NULL,
    industry_code   text COLLATE "C" NOT NULL,
    status          text NOT NULL,
    abnormal        boolean NOT NULL DEFAULT false,
    risk_class      text,
    risk_class_date date,
    tags            text[] NOT NULL DEFAULT '{}',
    key_supervision text[] NOT NULL DEFAULT '{}',
    address         text NOT NULL DEFAULT '',
    established     date,
    -- the moment this version became true; earlier versions live in entity_history
    valid_from      timestamptz NOT NULL
);
-- Search by name prefix (名称前缀). No index on region: freezing and stats scan anyway, and
-- each secondary index costs about 2 µs per imported row.
CREATE INDEX entity_name ON entity (name text_pattern_ops);

-- Superseded versions: the entity looked like this during [valid_from, valid_to).
CREATE TABLE entity_history (
    uscc            text COLLATE "C" NOT NULL,
    name            text NOT NULL,
    entity_type     text NOT NULL,
    region_code     text COLLATE "C" NOT NULL,
    industry_code   text COLLATE "C" NOT NULL,
    status          text NOT NULL,
    abnormal        boolean NOT NULL,
    risk_class      text,
    risk_class_date date,
    tags            text[] NOT NULL,
    key_supervision text[] NOT NULL,
    address         text NOT NULL,
    established     date,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz NOT NULL,
    PRIMARY KEY (uscc, valid_from)
);

CREATE TABLE inspector (
    inspector_id       text PRIMARY KEY,
    name               text NOT NULL,
    department         text NOT NULL,
    region_codes       text[] NOT NULL,
    certificate_no     text NOT NULL,
    certificate_expiry date NOT NULL,
    expertise          text[] NOT NULL DEFAULT '{}',
    status             text NOT NULL,
    capacity           integer NOT NULL,
    recusal_usccs      text[] NOT NULL DEFAULT '{}',
    valid_from         timestamptz NOT NULL
);
CREATE INDEX inspector_department ON inspector (department);

CREATE TABLE inspector_history (
    LIKE inspector,
    valid_to timestamptz NOT NULL,
    PRIMARY KEY (inspector_id, valid_from)
);

-- Bulk imports: rows are staged per import (COPY), then applied in one transaction.
CREATE TABLE import_run (
    import_id   text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('entities', 'inspectors')),
    source      text NOT NULL DEFAULT '',
    actor       text NOT NULL,
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'committed')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    summary     jsonb
);

-- Each import stages its rows in an UNLOGGED table of its own (stage_<import_id>), dropped
-- when the import is committed: dropping is instant where deleting millions of rows is not.

-- Full pushes of risk classes (全量推送) arrive in chunks and are applied once complete.
CREATE TABLE risk_push_chunk (
    push_id        text NOT NULL,
    chunk          integer NOT NULL,
    total_chunks   integer NOT NULL,
    effective_date date NOT NULL,
    items          jsonb NOT NULL,
    PRIMARY KEY (push_id, chunk)
);
CREATE TABLE risk_push (
    push_id    text PRIMARY KEY,
    state      text NOT NULL CHECK (state IN ('applied', 'refused')),
    items      integer NOT NULL,
    reason     text NOT NULL DEFAULT '',
    decided_at timestamptz NOT NULL DEFAULT now()
);

-- Frozen snapshots: immutable once written (see the trigger below).
CREATE TABLE snapshot (
    snapshot_id text COLLATE "C" PRIMARY KEY,
    request_id  text NOT NULL UNIQUE,
    as_of       timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    request     jsonb NOT NULL
);
CREATE TABLE snapshot_stratum (
    snapshot_id       text COLLATE "C" NOT NULL REFERENCES snapshot,
    stratum_id        text COLLATE "C" NOT NULL,
    n                 bigint NOT NULL,
    candidates_sha256 text NOT NULL,
    object_name       text NOT NULL,
    spec              jsonb NOT NULL,
    PRIMARY KEY (snapshot_id, stratum_id)
);
-- A candidate list as consecutive blocks of "USCC\n" lines.
CREATE TABLE snapshot_block (
    snapshot_id text COLLATE "C" NOT NULL,
    stratum_id  text COLLATE "C" NOT NULL,
    block       integer NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (snapshot_id, stratum_id, block)
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'frozen snapshots are immutable (% on %)', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER snapshot_immutable BEFORE UPDATE OR DELETE ON snapshot
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER snapshot_stratum_immutable BEFORE UPDATE OR DELETE ON snapshot_stratum
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER snapshot_block_immutable BEFORE UPDATE OR DELETE ON snapshot_block
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Counts per chunk of an import (a resent chunk replaces its row).
CREATE TABLE import_chunk (
    import_id text NOT NULL REFERENCES import_run,
    chunk     integer NOT NULL,
    accepted  integer NOT NULL,
    rejected  integer NOT NULL,
    PRIMARY KEY (import_id, chunk)
);
