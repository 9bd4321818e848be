-- Idempotency keys for placing orders (draft-ietf-httpapi-idempotency-key-header).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- One row per key a buyer sent: the primary key is what makes two concurrent retries with the
-- same key race safely (one insert wins, the other reads the winner's row). Kept for 24 hours.
CREATE TABLE order_idempotency (
    buyer_id    TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    -- SHA-256 of the request (account, items, notify_url): the same key with another body is
    -- refused, never taken for a retry.
    fingerprint TEXT NOT NULL,
    -- The order the key placed; also its debit's reference at the accounts service.
    order_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (buyer_id, idem_key)
);

CREATE INDEX order_idempotency_created_at ON order_idempotency (created_at);
