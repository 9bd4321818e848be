//! Seeding one demo account per demo customer, safely from several processes at once.
//!
//! Account ids are drawn at random like any other; what makes the seed idempotent is the
//! `demo_seeds` row, claimed first in the same transaction. Two processes starting together both
//! try to claim it; the primary key lets one win, and the other inserts nothing. The account is
//! also inserted only if the owner has none yet, so a database where the user already opened one
//! by hand is left as it is.

use sqlx::AnyPool;
use uuid::Uuid;

use super::StorageError;
use crate::domain::{AccountId, Currency};

/// Reference of the ledger entry that explains a demo account's opening balance.
pub const OPENING_REFERENCE: &str = "demo-opening-balance";

/// Opens `owner`'s demo account with `opening_minor`, unless it was done before. True if it was
/// done now.
#[tracing::instrument(skip(db), err)]
pub async fn seed_account(
    db: &AnyPool,
    owner: Uuid,
    currency: Currency,
    opening_minor: i64,
    now: i64,
) -> Result<bool, StorageError> {
    let owner = owner.hyphenated().to_string();
    let account = AccountId::random().to_string();
    let mut tx = db.begin().await?;
    let claimed = sqlx::query(
        "INSERT INTO demo_seeds (owner_id, seeded_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(&owner)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let opened = sqlx::query(
        "INSERT INTO accounts (id, owner_id, currency, balance_minor, created_at) \
         SELECT $1, $2, $3, $4, $5 \
         WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE owner_id = $2)",
    )
    .bind(&account)
    .bind(&owner)
    .bind(currency.code())
    .bind(opening_minor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if opened.rows_affected() == 1 {
        // Every balance is explained by the ledger, the opening balance included.
        sqlx::query(
            "INSERT INTO ledger (id, account_id, amount_minor, balance_after_minor, reference, created_at, kind) \
             VALUES ($1, $2, $3, $3, $4, $5, 'credit')",
        )
        .bind(Uuid::new_v4().hyphenated().to_string())
        .bind(&account)
        .bind(opening_minor)
        .bind(OPENING_REFERENCE)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(opened.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use baton_platform::db;

    use super::*;
    use crate::storage::{MIGRATIONS, accounts};

    #[tokio::test]
    async fn seeding_twice_opens_one_account_with_one_opening_balance() -> Result<(), StorageError>
    {
        let dir = tempfile::tempdir().map_err(|_| StorageError::Vanished("tempdir"))?;
        let url = format!("sqlite://{}/accounts.db", dir.path().display());
        let pool = db::connect(&url, MIGRATIONS)
            .await
            .map_err(|_| StorageError::Vanished("database"))?;
        let owner = Uuid::new_v4();
        assert!(seed_account(&pool, owner, Currency::Eur, 5_000, 1).await?);
        assert!(!seed_account(&pool, owner, Currency::Eur, 5_000, 2).await?);
        let page = baton_platform::db::Page {
            limit: 10,
            offset: 0,
        };
        let opened = accounts::list_by_owner(&pool, owner, page).await?;
        assert_eq!(opened.len(), 1);
        assert_eq!(opened.first().map(|a| a.balance_minor), Some(5_000));
        Ok(())
    }
}
