//! The `orders` and `order_lines` tables.

use baton_platform::db::Page;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::{Line, Order, OrderId, OrderStatus};

/// Writes `order` and its lines, all or nothing.
#[tracing::instrument(skip(db, order), fields(order_id = %order.id), err)]
pub async fn insert(db: &AnyPool, order: &Order) -> Result<(), StorageError> {
    let id = order.id.to_string();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO orders (id, buyer_id, account_id, status, total_minor, currency, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(order.buyer_id.hyphenated().to_string())
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
    Ok(())
}

#[tracing::instrument(skip(db), fields(order_id = %id), err)]
pub async fn set_status(
    db: &AnyPool,
    id: OrderId,
    status: OrderStatus,
) -> Result<(), StorageError> {
    sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes an order and its lines, all or nothing.
#[tracing::instrument(skip(db), fields(order_id = %id), err)]
pub async fn delete(db: &AnyPool, id: OrderId) -> Result<(), StorageError> {
    let mut tx = db.begin().await?;
    for sql in [
        "DELETE FROM order_lines WHERE order_id = $1",
        "DELETE FROM orders WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The order `id` with its lines, if there is one.
#[tracing::instrument(skip(db), fields(order_id = %id), err)]
pub async fn find(db: &AnyPool, id: OrderId) -> Result<Option<Order>, StorageError> {
    let rows = sqlx::query(
        "SELECT o.id, o.buyer_id, o.account_id, o.status, o.total_minor, o.currency, o.created_at, \
                l.sku, l.quantity, l.unit_price_minor \
         FROM orders o JOIN order_lines l ON l.order_id = o.id \
         WHERE o.id = $1 ORDER BY l.sku",
    )
    .bind(id.to_string())
    .fetch_all(db)
    .await?;
    Ok(group(&rows)?.into_iter().next())
}

/// Moves order `id` from `from` to `to`; false if it was not in `from` (someone else moved it
/// first). The condition in the `UPDATE` is what makes two concurrent refunds refund once.
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

/// One page of the orders of `buyer` with their lines, newest first.
#[tracing::instrument(skip(db), err)]
pub async fn list_by_buyer(
    db: &AnyPool,
    buyer: Uuid,
    page: Page,
) -> Result<Vec<Order>, StorageError> {
    // One query for orders and lines: the limit applies to orders (in the subquery), not to the
    // joined rows, and no order is read twice.
    let rows = sqlx::query(
        "SELECT o.id, o.buyer_id, o.account_id, o.status, o.total_minor, o.currency, o.created_at, \
                l.sku, l.quantity, l.unit_price_minor \
         FROM orders o JOIN order_lines l ON l.order_id = o.id \
         WHERE o.id IN (SELECT id FROM orders WHERE buyer_id = $1 \
                        ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3) \
         ORDER BY o.created_at DESC, o.id DESC, l.sku",
    )
    .bind(buyer.hyphenated().to_string())
    .bind(page.limit)
    .bind(page.offset)
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
