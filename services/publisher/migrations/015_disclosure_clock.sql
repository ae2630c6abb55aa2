-- The 20-working-day clock counts every disclosure (docs/operations.md, "Connecting your
-- platforms"): a result version is disclosed once each of its disclosure deliveries is
-- delivered — the built-in disclosure (`disclosure`, which also makes it public on our own
-- pages: `published_at`) and each outside platform that makes results public (公示系统,
-- 执法服务网: a mapping with `discloses: true`). `outbox.discloses` marks those rows as they are
-- queued; `results.disclosed_at` is the last of their deliveries, the moment the clock stops.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS discloses boolean NOT NULL DEFAULT false;
UPDATE outbox SET discloses = true WHERE destination = 'disclosure' AND NOT discloses;
ALTER TABLE results ADD COLUMN IF NOT EXISTS disclosed_at timestamptz;
-- Before this migration only the built-in disclosure counted.
UPDATE results SET disclosed_at = published_at
 WHERE disclosed_at IS NULL AND published_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS results_undisclosed ON results (due_date) WHERE disclosed_at IS NULL;
-- The settling of a delivered batch looks up a result version's disclosure rows.
CREATE INDEX IF NOT EXISTS outbox_discloses ON outbox (result_id, version) WHERE discloses;
