-- Events waiting to be published: written in the same transaction as the change they record.
CREATE TABLE IF NOT EXISTS event_outbox (
    id            bigserial PRIMARY KEY,
    event_id      text NOT NULL UNIQUE,
    subject       text NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX IF NOT EXISTS event_outbox_pending ON event_outbox (id) WHERE published_at IS NULL;
