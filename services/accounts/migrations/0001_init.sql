-- The accounts service's own database: accounts, their balances, and the ledger that explains
-- every change to a balance. Portable SQL: runs unchanged on SQLite and PostgreSQL.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    -- The user who owns the account: the `sub` of their tokens.
    owner_id      TEXT NOT NULL,
    currency      TEXT NOT NULL,
    -- Minor units (cents). The CHECK is the last line of defence: the debit's conditional UPDATE
    -- already refuses to go below zero, but if a bug ever tried, the database would refuse too.
    balance_minor BIGINT NOT NULL CHECK (balance_minor >= 0),
    created_at    BIGINT NOT NULL
);

CREATE INDEX accounts_owner_id ON accounts (owner_id);

-- One row per change of a balance: negative for a debit, positive for a credit.
CREATE TABLE ledger (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL,
    amount_minor        BIGINT NOT NULL,
    -- The balance right after this entry, so a retried debit can be answered exactly as the
    -- first one was.
    balance_after_minor BIGINT NOT NULL,
    -- The caller's idempotency reference (for a debit from orders: the order id).
    reference           TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    -- The idempotency guarantee: one entry per reference and account, whatever races.
    UNIQUE (account_id, reference)
);

-- One row per demo owner ever seeded. Inserting here first makes concurrent seeders (several
-- processes starting at once) queue on the primary key instead of each opening an account.
CREATE TABLE demo_seeds (
    owner_id  TEXT PRIMARY KEY,
    seeded_at BIGINT NOT NULL
);
