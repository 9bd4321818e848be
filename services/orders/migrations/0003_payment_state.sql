-- The order's payment as a state machine: `pending` -> `paid` | `failed`, `paid` -> `refunded`.
-- No new column: `status` takes the new value `failed` (a debit the accounts service refused;
-- nothing was taken). Orders are never deleted any more.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- One row per buyer who ever placed an order. Placing writes this row first, in the same
-- transaction as the order: that write serializes one buyer's placements (a row lock on
-- PostgreSQL, the write lock on SQLite), so the count of their recent orders and the insert of a
-- new one cannot interleave with another placement and overshoot the per-buyer limit.
CREATE TABLE order_buyers (
    buyer_id      TEXT PRIMARY KEY,
    orders_placed BIGINT NOT NULL
);

-- The reconciler looks for orders left pending.
CREATE INDEX orders_status_created_at ON orders (status, created_at);

-- A settled order releases the key that placed it.
CREATE INDEX order_idempotency_order_id ON order_idempotency (order_id);
