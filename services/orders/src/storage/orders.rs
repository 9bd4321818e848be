//! The `orders` and `order_lines` tables.

use baton_platform::db::Page;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::{Line, Order, OrderId, OrderStatus};

/// An orders-with-their-lines query, `WHERE` and `ORDER BY` given: every order read here is read
/// with its lines, in one query, and [`group`] turns the joined rows back into orders.
macro_rules! with_lines {
    ($rest:literal) => {
        concat!(
            "SELECT o.id, o.buyer_id, o.account_id, o.status, o.total_minor, o.currency, \
                    o.created_at, l.sku, l.quantity, l.unit_price_minor \
             FROM orders o JOIN order_lines l ON l.order_id = o.id ",
            $rest
        )
    };
}

/// What [`insert_within`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Written,
    /// The buyer is at the limit already, the oldest of their orders in the window written at
    /// `oldest`. Nothing was written.
    AtLimit {
        oldest: Option<i64>,
    },
}

/// The per-buyer limit [`insert_within`] holds to: at most `max` orders since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub max: i64,
    pub since: i64,
}

/// Writes `order` and its lines, all or nothing, and, with `window`, only while its buyer has
/// placed fewer than `window.max` orders since `window.since`.
///
/// The transaction's first statement writes the buyer's row in `order_buyers`. That write is the
/// lock: a second placement by the same buyer waits for this transaction to end (PostgreSQL's row
/// lock; SQLite's one writer), so counting the buyer's recent orders and inserting the new one
/// happen as one step, and concurrent placements cannot all see room under the limit.
#[tracing::instrument(skip(db, order), fields(order_id = %order.id), err)]
pub async fn insert_within(
    db: &AnyPool,
    order: &Order,
    window: Option<Window>,
) -> Result<Inserted, StorageError> {
    let id = order.id.to_string();
    let buyer = order.buyer_id.hyphenated().to_string();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO order_buyers (buyer_id, orders_placed) VALUES ($1, 1) \
         ON CONFLICT (buyer_id) DO UPDATE SET orders_placed = order_buyers.orders_placed + 1",
    )
    .bind(&buyer)
    .execute(&mut *tx)
    .await?;
    if let Some(window) = window {
        let row = sqlx::query(
            "SELECT COUNT(*) AS recent, MIN(created_at) AS oldest FROM orders \
             WHERE buyer_id = $1 AND created_at > $2",
        )
        .bind(&buyer)
        .bind(window.since)
        .fetch_one(&mut *tx)
        .await?;
        let recent: i64 = row.try_get("recent")?;
        if recent >= window.max {
            tx.rollback().await?;
            return Ok(Inserted::AtLimit {
                oldest: row.try_get("oldest")?,
            });
        }
    }
    sqlx::query(
        "INSERT INTO orders (id, buyer_id, account_id, status, total_minor, currency, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&buyer)
    .bind(order.account_id.hyphenated().to_string())
    .bind(order.status.as_str())
    .bind(order.total_minor)
    .bind(&order.currency)
    .bind(order.created_at)
    .execute(&mut *tx)
    .await?;
    for line in &order.lines {
        sqlx::query(
            "INSERT INTO order_lines (order_id, sku, quantity, unit_price_minor) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&line.sku)
        .bind(line.quantity)
        .bind(line.unit_price_minor)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Inserted::Written)
}

/// The order `id` with its lines, if there is one.
#[tracing::instrument(skip(db), fields(order_id = %id), err)]
pub async fn find(db: &AnyPool, id: OrderId) -> Result<Option<Order>, StorageError> {
    let rows = sqlx::query(with_lines!("WHERE o.id = $1 ORDER BY l.sku"))
        .bind(id.to_string())
        .fetch_all(db)
        .await?;
    Ok(group(&rows)?.into_iter().next())
}

/// Moves order `id` from `from` to `to`; false if it was not in `from` (someone else moved it
/// first). The condition in the `UPDATE` is what makes every move of the payment's state machine
/// happen once: two concurrent refunds refund once, a retry and the reconciler settle once.
#[tracing::instrument(skip(db), fields(order_id = %id), err)]
pub async fn transition(
    db: &AnyPool,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
) -> Result<bool, StorageError> {
    let updated = sqlx::query("UPDATE orders SET status = $1 WHERE id = $2 AND status = $3")
        .bind(to.as_str())
        .bind(id.to_string())
        .bind(from.as_str())
        .execute(db)
        .await?;
    Ok(updated.rows_affected() == 1)
}

/// Records at `now` that a refund of `id` is being asked for, if the order is still `paid`;
/// false if it is not (refunded meanwhile, or never paid).
#[tracing::instrument(skip(db), fields(order_id = %id), err)]
pub async fn request_refund(db: &AnyPool, id: OrderId, now: i64) -> Result<bool, StorageError> {
    let updated =
        sqlx::query("UPDATE orders SET refund_requested_at = $1 WHERE id = $2 AND status = 'paid'")
            .bind(now)
            .bind(id.to_string())
            .execute(db)
            .await?;
    Ok(updated.rows_affected() == 1)
}

/// Forgets the refund asked for `id`: accounts refused it, so no credit was made.
#[tracing::instrument(skip(db), fields(order_id = %id), err)]
pub async fn forget_refund_request(db: &AnyPool, id: OrderId) -> Result<(), StorageError> {
    sqlx::query("UPDATE orders SET refund_requested_at = NULL WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// Orders still `paid` whose refund was asked for at or before `asked_by` and not known to be
/// done, oldest first, at most `limit`: refunds the reconciler finishes.
#[tracing::instrument(skip(db), err)]
pub async fn refunds_requested_since(
    db: &AnyPool,
    asked_by: i64,
    limit: i64,
) -> Result<Vec<Order>, StorageError> {
    let rows = sqlx::query(with_lines!(
        "WHERE o.id IN (SELECT id FROM orders WHERE status = 'paid' \
                          AND refund_requested_at IS NOT NULL AND refund_requested_at <= $1 \
                        ORDER BY refund_requested_at, id LIMIT $2) \
         ORDER BY o.created_at, o.id, l.sku"
    ))
    .bind(asked_by)
    .bind(limit)
    .fetch_all(db)
    .await?;
    group(&rows)
}

/// One page of the orders of `buyer` with their lines, newest first.
#[tracing::instrument(skip(db), err)]
pub async fn list_by_buyer(
    db: &AnyPool,
    buyer: Uuid,
    page: Page,
) -> Result<Vec<Order>, StorageError> {
    // One query for orders and lines: the limit applies to orders (in the subquery), not to the
    // joined rows, and no order is read twice.
    let rows = sqlx::query(with_lines!(
        "WHERE o.id IN (SELECT id FROM orders WHERE buyer_id = $1 \
                        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3) \
         ORDER BY o.created_at DESC, o.id DESC, l.sku"
    ))
    .bind(buyer.hyphenated().to_string())
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    group(&rows)
}

/// Orders still `pending` that were placed at or before `placed_by`, oldest first, at most
/// `limit`: what the reconciler settles.
#[tracing::instrument(skip(db), err)]
pub async fn pending_since(
    db: &AnyPool,
    placed_by: i64,
    limit: i64,
) -> Result<Vec<Order>, StorageError> {
    let rows = sqlx::query(with_lines!(
        "WHERE o.id IN (SELECT id FROM orders WHERE status = 'pending' AND created_at <= $1 \
                        ORDER BY created_at, id LIMIT $2) \
         ORDER BY o.created_at, o.id, l.sku"
    ))
    .bind(placed_by)
    .bind(limit)
    .fetch_all(db)
    .await?;
    group(&rows)
}

/// How many orders `buyer` placed after `since`, and when the oldest of them was placed.
#[tracing::instrument(skip(db), err)]
pub async fn count_since(
    db: &AnyPool,
    buyer: Uuid,
    since: i64,
) -> Result<(i64, Option<i64>), StorageError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS recent, MIN(created_at) AS oldest FROM orders \
         WHERE buyer_id = $1 AND created_at > $2",
    )
    .bind(buyer.hyphenated().to_string())
    .bind(since)
    .fetch_one(db)
    .await?;
    Ok((row.try_get("recent")?, row.try_get("oldest")?))
}

/// Folds joined rows (ordered by order) into orders with their lines.
fn group(rows: &[AnyRow]) -> Result<Vec<Order>, StorageError> {
    let mut orders: Vec<Order> = Vec::new();
    for row in rows {
        let line = Line {
            sku: row.try_get("sku")?,
            quantity: row.try_get("quantity")?,
            unit_price_minor: row.try_get("unit_price_minor")?,
        };
        let id: String = row.try_get("id")?;
        match orders.last_mut() {
            Some(order) if order.id.to_string() == id => order.lines.push(line),
            _ => {
                let mut order = order_from_row(row, &id)?;
                order.lines.push(line);
                orders.push(order);
            }
        }
    }
    Ok(orders)
}

fn order_from_row(row: &AnyRow, id: &str) -> Result<Order, StorageError> {
    let corrupt = |column| StorageError::Corrupt {
        table: "orders",
        column,
    };
    let uuid = |column: &'static str| -> Result<Uuid, StorageError> {
        let raw: String = row.try_get(column)?;
        Uuid::try_parse(&raw).map_err(|_| corrupt(column))
    };
    let status: String = row.try_get("status")?;
    Ok(Order {
        id: OrderId::parse(id).ok_or_else(|| corrupt("id"))?,
        buyer_id: uuid("buyer_id")?,
        account_id: uuid("account_id")?,
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        total_minor: row.try_get("total_minor")?,
        currency: row.try_get("currency")?,
        created_at: row.try_get("created_at")?,
        lines: Vec::new(),
    })
}
