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

/// True if `owner` has a demo seed claimed or any account open: only the seed ever opens an
/// account for a demo user's fixed id.
#[tracing::instrument(skip(db), err)]
pub async fn seeded(db: &AnyPool, owner: Uuid) -> Result<bool, StorageError> {
    let owner = owner.hyphenated().to_string();
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM demo_seeds WHERE owner_id = $1) \
              + (SELECT COUNT(*) FROM accounts WHERE owner_id = $1) AS found",
    )
    .bind(&owner)
    .fetch_one(db)
    .await?;
    let found: i64 = sqlx::Row::try_get(&row, "found")?;
    Ok(found > 0)
}

/// Deletes `owner`'s accounts, their ledgers and the demo seed's claim, in one transaction. True
/// if there was anything to delete.
#[tracing::instrument(skip(db), err)]
pub async fn remove(db: &AnyPool, owner: Uuid) -> Result<bool, StorageError> {
    let owner = owner.hyphenated().to_string();
    let mut tx = db.begin().await?;
    let ledger = sqlx::query(
        "DELETE FROM ledger WHERE account_id IN (SELECT id FROM accounts WHERE owner_id = $1)",
    )
    .bind(&owner)
    .execute(&mut *tx)
    .await?;
    let accounts = sqlx::query("DELETE FROM accounts WHERE owner_id = $1")
        .bind(&owner)
        .execute(&mut *tx)
        .await?;
    let claim = sqlx::query("DELETE FROM demo_seeds WHERE owner_id = $1")
        .bind(&owner)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ledger.rows_affected() + accounts.rows_affected() + claim.rows_affected() > 0)
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

    #[tokio::test]
    async fn removing_a_seed_takes_its_account_and_ledger_and_nothing_else()
    -> Result<(), StorageError> {
        let dir = tempfile::tempdir().map_err(|_| StorageError::Vanished("tempdir"))?;
        let url = format!("sqlite://{}/accounts.db", dir.path().display());
        let pool = db::connect(&url, MIGRATIONS)
            .await
            .map_err(|_| StorageError::Vanished("database"))?;
        let (demo, other) = (Uuid::new_v4(), Uuid::new_v4());
        seed_account(&pool, demo, Currency::Eur, 5_000, 1).await?;
        seed_account(&pool, other, Currency::Eur, 7_000, 1).await?;
        assert!(seeded(&pool, demo).await?);
        assert!(remove(&pool, demo).await?);
        assert!(!seeded(&pool, demo).await?);
        assert!(!remove(&pool, demo).await?);
        let page = baton_platform::db::Page {
            limit: 10,
            offset: 0,
        };
        assert_eq!(accounts::list_by_owner(&pool, other, page).await?.len(), 1);
        let ledger: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger")
            .fetch_one(&pool)
            .await?;
        assert_eq!(ledger, 1, "only the other owner's opening balance is left");
        Ok(())
    }
}
