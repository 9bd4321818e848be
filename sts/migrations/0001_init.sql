-- The STS's own database: long-term credentials and the opaque access tokens issued for them.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

CREATE TABLE credentials (
    user_id       TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    -- PHC string: algorithm, parameters, salt and hash (Argon2id).
    password_hash TEXT NOT NULL,
    -- Base32 TOTP seed, for users enrolled in the second factor.
    totp_secret   TEXT,
    -- Space-separated role names.
    roles         TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Opaque access tokens are stored only as SHA-256 hashes: a copy of this table lets nobody call
-- the API.
CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
