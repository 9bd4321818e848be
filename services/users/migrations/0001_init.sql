-- The users service's own database: profiles, nothing secret. Passwords and TOTP seeds live in
-- the STS, never here. Portable SQL: runs unchanged on SQLite and PostgreSQL.

CREATE TABLE users (
    -- A UUID in its hyphenated lowercase form; the same id the STS writes into `sub`.
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email        TEXT NOT NULL,
    -- Unix seconds.
    created_at   BIGINT NOT NULL
);
