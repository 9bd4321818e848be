-- The orders service's own database: the catalogue it prices orders from, and the orders.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- Reference data, seeded in every mode. Prices are minor units (cents).
CREATE TABLE catalog (
    sku              TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    currency         TEXT NOT NULL
);

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    -- The user who placed the order: the `sub` of their token, never a field of the request.
    buyer_id    TEXT NOT NULL,
    -- The account the order is paid from (an id in the accounts service's database).
    account_id  TEXT NOT NULL,
    -- `pending` until the accounts service confirms the debit, then `paid`.
    status      TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX orders_buyer_id_created_at ON orders (buyer_id, created_at);

-- The price is copied into the line when the order is placed: a later change to the catalogue
-- must not change what a past order cost.
CREATE TABLE order_lines (
    order_id         TEXT NOT NULL,
    sku              TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    PRIMARY KEY (order_id, sku)
);
