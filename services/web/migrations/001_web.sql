-- People and sessions: the only data the web service owns (DESIGN §10).

CREATE TABLE accounts (
    username             text PRIMARY KEY,
    display_name         text NOT NULL,
    role                 text NOT NULL,
    department           text,                 -- planners and inspectors
    inspector_id         text UNIQUE,          -- an inspector's roster id
    password_hash        text,                 -- argon2id; null for SSO-only accounts
    must_change_password boolean NOT NULL DEFAULT false,
    disabled_at          timestamptz,
    disabled_reason      text,
    failed_logins        int NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    last_login_at        timestamptz,
    password_changed_at  timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- A session's cookie holds a random token; only its SHA-256 is stored, so a copy of this
-- table signs nobody in.
CREATE TABLE sessions (
    token_sha256   text PRIMARY KEY,
    username       text NOT NULL REFERENCES accounts (username),
    csrf_token     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    client         text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_username ON sessions (username) WHERE ended_at IS NULL;
