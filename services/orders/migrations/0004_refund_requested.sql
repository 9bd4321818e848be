-- A refund asked for and not yet known to be done: `refund_requested_at` is set (unix seconds)
-- on a `paid` order before orders asks accounts for the credit, and the order moves to
-- `refunded` once the credit is known. A refund left half way (orders stopped after the credit,
-- or the answer lost) is then still findable: the reconciler asks accounts whether the credit
-- was made and finishes the move. NULL: no refund pending.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.
ALTER TABLE orders ADD COLUMN refund_requested_at BIGINT;
