//! The `accounts` table.

use baton_platform::db::Page;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::{Account, AccountId, AccountStatus, Currency};

/// The account `id`, if there is one.
#[tracing::instrument(skip(db), fields(account_id = %id), err)]
pub async fn find(db: &AnyPool, id: AccountId) -> Result<Option<Account>, StorageError> {
    let row = sqlx::query(
        "SELECT id, owner_id, currency, balance_minor, status, created_at FROM accounts \
         WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(account_from_row).transpose()
}

/// One page of the accounts of `owner`, oldest first.
#[tracing::instrument(skip(db), err)]
pub async fn list_by_owner(
    db: &AnyPool,
    owner: Uuid,
    page: Page,
) -> Result<Vec<Account>, StorageError> {
    let rows = sqlx::query(
        "SELECT id, owner_id, currency, balance_minor, status, created_at FROM accounts \
         WHERE owner_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3",
    )
    .bind(owner.hyphenated().to_string())
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    rows.iter().map(account_from_row).collect()
}

/// Inserts a new account.
#[tracing::instrument(skip(db, account), fields(account_id = %account.id), err)]
pub async fn insert(db: &AnyPool, account: &Account) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO accounts (id, owner_id, currency, balance_minor, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account.id.to_string())
    .bind(account.owner_id.hyphenated().to_string())
    .bind(account.currency.code())
    .bind(account.balance_minor)
    .bind(account.status.as_str())
    .bind(account.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Sets the status of account `id`; the account as it is now, or `None` if there is none.
#[tracing::instrument(skip(db), fields(account_id = %id), err)]
pub async fn set_status(
    db: &AnyPool,
    id: AccountId,
    status: AccountStatus,
) -> Result<Option<Account>, StorageError> {
    sqlx::query("UPDATE accounts SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(id.to_string())
        .execute(db)
        .await?;
    find(db, id).await
}

fn account_from_row(row: &AnyRow) -> Result<Account, StorageError> {
    let corrupt = |column| StorageError::Corrupt {
        table: "accounts",
        column,
    };
    let id: String = row.try_get("id")?;
    let owner_id: String = row.try_get("owner_id")?;
    let currency: String = row.try_get("currency")?;
    let status: String = row.try_get("status")?;
    Ok(Account {
        id: AccountId::parse(&id).ok_or_else(|| corrupt("id"))?,
        owner_id: Uuid::try_parse(&owner_id).map_err(|_| corrupt("owner_id"))?,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        balance_minor: row.try_get("balance_minor")?,
        status: AccountStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        created_at: row.try_get("created_at")?,
    })
}
