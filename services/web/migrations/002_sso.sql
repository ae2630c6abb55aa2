-- Sign-in through a province's SSO (OIDC, authorization code with PKCE).

-- A login on its way through the provider: what the callback must match (state, nonce) and
-- prove (the PKCE verifier). Taken (deleted) by its callback; older than 10 minutes it is
-- refused, and rows left behind are removed when later logins start.
CREATE TABLE sso_logins (
    state          text PRIMARY KEY,
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    next           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sso_logins_created_at ON sso_logins (created_at);

-- The person's own access token, passed to the services when they verify tokens by the
-- provider's JWKS. Sealed (AES-GCM) with a key derived from the session's cookie, which is not
-- stored: like the rest of this table, a copy of it calls no service. The session ends when the
-- token does.
ALTER TABLE sessions
    ADD COLUMN access_token      bytea,
    ADD COLUMN access_expires_at timestamptz;
