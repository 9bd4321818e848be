-- The authorization server: clients, login transactions, authorization codes, grants with their
-- refresh tokens, spent TOTP codes and the signing keys. Portable SQL (SQLite and PostgreSQL).
-- Every token, code and login handle is stored as its SHA-256 hash, never as itself.

-- Which client an access token was issued to, and the grant it belongs to (NULL for client
-- credentials, which have no refresh token and so no family). `subject_type` is `user` or
-- `client`: a client-credentials token speaks for the client itself.
ALTER TABLE access_tokens ADD COLUMN client_id TEXT;
ALTER TABLE access_tokens ADD COLUMN grant_id TEXT;
ALTER TABLE access_tokens ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'user';
CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id);

-- Registered clients. `auth_method` is `none` (public clients: PKCE is their only proof),
-- `client_secret_basic` (`secret_hash` is the SHA-256 of a high-entropy secret) or
-- `tls_client_auth` (`tls_san_uri` is the SPIFFE ID its certificate must carry, RFC 8705).
-- Lists are space-separated; redirect URIs are compared exactly.
CREATE TABLE oauth_clients (
    client_id     TEXT PRIMARY KEY,
    auth_method   TEXT NOT NULL,
    secret_hash   TEXT,
    tls_san_uri   TEXT,
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    scope         TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- A login in progress: the authorization request as validated, bound to the browser that started
-- it (`binding_hash`, the hash of a cookie), and the user once the password step passed.
CREATE TABLE login_requests (
    request_hash   TEXT PRIMARY KEY,
    binding_hash   TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT,
    challenge_method TEXT,
    user_id        TEXT,
    username       TEXT,
    expires_at     BIGINT NOT NULL
);

-- Authorization codes: single use (`used_at`), short-lived. `grant_id` is drawn when the code is
-- issued, so a second redemption can revoke whatever the first one produced.
CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT,
    challenge_method TEXT,
    grant_id       TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);

-- A grant: what one authorization gave one client. Its refresh tokens form a family; revoking the
-- grant ends every token of it.
CREATE TABLE grants (
    grant_id   TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);

-- TOTP time steps already spent per user: a code is accepted once (RFC 6238 §5.2).
CREATE TABLE totp_used_steps (
    user_id TEXT NOT NULL,
    step    BIGINT NOT NULL,
    PRIMARY KEY (user_id, step)
);

-- Ed25519 signing keys (PKCS#8, base64). A key is published as soon as it exists and signs from
-- `activate_at`; it is deleted once every token it signed has expired.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    activate_at BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
