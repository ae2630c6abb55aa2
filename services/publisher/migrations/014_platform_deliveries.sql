-- The outside platforms (监督平台, 公示系统, 执法服务网) are destinations `platform:<id>` of the
-- delivery outbox (services/publisher/domain/platforms.py). A result's rows keep their version;
-- a task's or an approved plan's row has none: version NULL and `result_id` holding the task's
-- or plan's id, which also keeps it out of the foreign key to results (a foreign key is not
-- checked on a row with a NULL in it).
ALTER TABLE outbox ALTER COLUMN version DROP NOT NULL;
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_version_or_platform;
ALTER TABLE outbox ADD CONSTRAINT outbox_version_or_platform
    CHECK (version IS NOT NULL OR destination LIKE 'platform:%');
