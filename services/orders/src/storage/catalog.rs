//! The `catalog` table: what can be ordered, and for how much.

use sqlx::{AnyPool, Row};

use super::StorageError;
use crate::domain::{CatalogEntry, Sku};

/// The catalogue entry for `sku`, if there is one.
#[tracing::instrument(skip(db), fields(sku = sku.as_str()), err)]
pub async fn find(db: &AnyPool, sku: &Sku) -> Result<Option<CatalogEntry>, StorageError> {
    let row = sqlx::query("SELECT name, unit_price_minor, currency FROM catalog WHERE sku = $1")
        .bind(sku.as_str())
        .fetch_optional(db)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(CatalogEntry {
        sku: sku.clone(),
        name: row.try_get("name")?,
        unit_price_minor: row.try_get("unit_price_minor")?,
        currency: row.try_get("currency")?,
    }))
}

/// Inserts `entry` unless its SKU is there already (an operator's price change is kept); true
/// if a row was written. Safe on every start and from several processes at once.
#[tracing::instrument(skip(db, entry), fields(sku = entry.sku.as_str()), err)]
pub async fn insert_if_absent(db: &AnyPool, entry: &CatalogEntry) -> Result<bool, StorageError> {
    let result = sqlx::query(
        "INSERT INTO catalog (sku, name, unit_price_minor, currency) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sku) DO NOTHING",
    )
    .bind(entry.sku.as_str())
    .bind(&entry.name)
    .bind(entry.unit_price_minor)
    .bind(&entry.currency)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}
