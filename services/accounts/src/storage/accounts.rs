//! The `accounts` table.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::{Account, AccountId, Currency};

/// The account `id`, if there is one.
#[tracing::instrument(skip(db), fields(account_id = %id), err)]
pub async fn find(db: &AnyPool, id: AccountId) -> Result<Option<Account>, StorageError> {
    let row = sqlx::query(
        "SELECT id, owner_id, currency, balance_minor, created_at FROM accounts WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(account_from_row).transpose()
}

/// Up to `limit` accounts of `owner`, oldest first.
#[tracing::instrument(skip(db), err)]
pub async fn list_by_owner(
    db: &AnyPool,
    owner: Uuid,
    limit: i64,
) -> Result<Vec<Account>, StorageError> {
    let rows = sqlx::query(
        "SELECT id, owner_id, currency, balance_minor, created_at FROM accounts \
         WHERE owner_id = $1 ORDER BY created_at, id LIMIT $2",
    )
    .bind(owner.hyphenated().to_string())
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(account_from_row).collect()
}

/// Inserts a new account.
#[tracing::instrument(skip(db, account), fields(account_id = %account.id), err)]
pub async fn insert(db: &AnyPool, account: &Account) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO accounts (id, owner_id, currency, balance_minor, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account.id.to_string())
    .bind(account.owner_id.hyphenated().to_string())
    .bind(account.currency.code())
    .bind(account.balance_minor)
    .bind(account.created_at)
    .execute(db)
    .await?;
    Ok(())
}

fn account_from_row(row: &AnyRow) -> Result<Account, StorageError> {
    let corrupt = |column| StorageError::Corrupt {
        table: "accounts",
        column,
    };
    let id: String = row.try_get("id")?;
    let owner_id: String = row.try_get("owner_id")?;
    let currency: String = row.try_get("currency")?;
    Ok(Account {
        id: AccountId::parse(&id).ok_or_else(|| corrupt("id"))?,
        owner_id: Uuid::try_parse(&owner_id).map_err(|_| corrupt("owner_id"))?,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        balance_minor: row.try_get("balance_minor")?,
        created_at: row.try_get("created_at")?,
    })
}
