-- The audit trail of this service (全过程留痕): a hash chain, append-only.
CREATE TABLE IF NOT EXISTS audit_log (
    seq          bigint PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL,
    subject      text NOT NULL,
    data         jsonb NOT NULL,
    prev_sha256  text NOT NULL,
    sha256       text NOT NULL,
    published    boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS audit_log_unpublished ON audit_log (seq) WHERE NOT published;
