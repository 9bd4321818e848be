//! The `ledger` table, the debit and the credit: the only places money moves; and the void, which
//! moves none but closes a reference to debits for good.
//!
//! Why the debit is shaped the way it is:
//! - the balance check and the subtraction are one statement, `UPDATE ... WHERE balance_minor >=
//!   $1`. Reading the balance, comparing in Rust and then writing would let two concurrent debits
//!   both see enough money and both take it;
//! - that `UPDATE` is the transaction's first statement: on SQLite a transaction that starts with
//!   a read and later writes can fail with "database is locked" when another writer got in
//!   between; starting with the write takes the lock at once (PostgreSQL takes the row lock);
//! - the ledger row is inserted with `ON CONFLICT (account_id, reference) DO NOTHING`: if a
//!   concurrent call with the same reference committed first, we roll our `UPDATE` back, so the
//!   money is taken once whatever the interleaving;
//! - a void is one insert against that same key, and nothing else: of a void and a debit racing
//!   for one reference, the key lets exactly one row in. Looking in the ledger first and then
//!   writing to a second table would leave a window between the two; there is none here.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::money::MAX_BALANCE_MINOR;
use crate::domain::{AccountId, Amount, DebitOrder, Reference};

/// A ledger entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub kind: EntryKind,
    pub amount_minor: i64,
    pub balance_after_minor: i64,
}

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Money out: a negative amount.
    Debit,
    /// Money in: a positive amount.
    Credit,
    /// No money: the reference was settled as never debited, and no debit may use it after.
    Void,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Debit => "debit",
            EntryKind::Credit => "credit",
            EntryKind::Void => "void",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [Self::Debit, Self::Credit, Self::Void]
            .into_iter()
            .find(|kind| kind.as_str() == stored)
    }
}

/// What [`debit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebitOutcome {
    /// The money was taken and this entry records it.
    Debited(Entry),
    /// The balance is lower than the amount, or the account was frozen in the meantime; nothing
    /// changed.
    NotDebited,
    /// Another debit with the same reference committed first; nothing changed.
    ReferenceTaken,
}

/// The entry recorded for `reference` on `account`, if any.
#[tracing::instrument(skip(db, reference), fields(account_id = %account), err)]
pub async fn find(
    db: &AnyPool,
    account: AccountId,
    reference: &Reference,
) -> Result<Option<Entry>, StorageError> {
    let row = sqlx::query(
        "SELECT id, kind, amount_minor, balance_after_minor FROM ledger \
         WHERE account_id = $1 AND reference = $2",
    )
    .bind(account.to_string())
    .bind(reference.as_str())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// Takes `order.amount` from `order.account` and records it, atomically. Ownership, currency and
/// earlier uses of the reference are the caller's to check first.
#[tracing::instrument(skip(db, order), fields(account_id = %order.account), err)]
pub async fn debit(
    db: &AnyPool,
    order: &DebitOrder,
    now: i64,
) -> Result<DebitOutcome, StorageError> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE accounts SET balance_minor = balance_minor - $1 \
         WHERE id = $2 AND balance_minor >= $1 AND status = 'active' RETURNING balance_minor",
    )
    .bind(order.amount.minor())
    .bind(order.account.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(updated) = updated else {
        tx.rollback().await?;
        return Ok(DebitOutcome::NotDebited);
    };
    let entry = Entry {
        id: Uuid::new_v4().hyphenated().to_string(),
        kind: EntryKind::Debit,
        amount_minor: order.amount.as_debit(),
        balance_after_minor: updated.try_get("balance_minor")?,
    };
    let inserted = sqlx::query(
        "INSERT INTO ledger (id, account_id, amount_minor, balance_after_minor, reference, created_at, kind) \
         VALUES ($1, $2, $3, $4, $5, $6, 'debit') ON CONFLICT (account_id, reference) DO NOTHING",
    )
    .bind(&entry.id)
    .bind(order.account.to_string())
    .bind(entry.amount_minor)
    .bind(entry.balance_after_minor)
    .bind(order.reference.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(DebitOutcome::ReferenceTaken);
    }
    tx.commit().await?;
    Ok(DebitOutcome::Debited(entry))
}

/// What [`credit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditOutcome {
    /// The money was added and this entry records it.
    Credited(Entry),
    /// An earlier credit with the same reference exists; nothing changed.
    ReferenceTaken,
    /// The balance would pass [`MAX_BALANCE_MINOR`]; nothing changed.
    AboveCeiling,
}

/// Adds `amount` to `account` and records it under `reference`, atomically and once per
/// reference: the same shape as [`debit`]. The sum is bounded before it reaches SQL: the
/// `UPDATE` only matches while the balance is at most the ceiling minus the amount, a bound
/// computed (and checked) here, so the database never adds its way past what an `i64` holds.
#[tracing::instrument(skip(db, reference), fields(account_id = %account), err)]
pub async fn credit(
    db: &AnyPool,
    account: AccountId,
    amount: Amount,
    reference: &Reference,
    now: i64,
) -> Result<CreditOutcome, StorageError> {
    let Some(highest_before) = MAX_BALANCE_MINOR.checked_sub(amount.minor()) else {
        return Ok(CreditOutcome::AboveCeiling);
    };
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE accounts SET balance_minor = balance_minor + $1 \
         WHERE id = $2 AND balance_minor <= $3 RETURNING balance_minor",
    )
    .bind(amount.minor())
    .bind(account.to_string())
    .bind(highest_before)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(updated) = updated else {
        tx.rollback().await?;
        return match super::accounts::find(db, account).await? {
            Some(_) => Ok(CreditOutcome::AboveCeiling),
            None => Err(StorageError::Vanished("account")),
        };
    };
    let entry = Entry {
        id: Uuid::new_v4().hyphenated().to_string(),
        kind: EntryKind::Credit,
        amount_minor: amount.minor(),
        balance_after_minor: updated.try_get("balance_minor")?,
    };
    let inserted = sqlx::query(
        "INSERT INTO ledger (id, account_id, amount_minor, balance_after_minor, reference, created_at, kind) \
         VALUES ($1, $2, $3, $4, $5, $6, 'credit') ON CONFLICT (account_id, reference) DO NOTHING",
    )
    .bind(&entry.id)
    .bind(account.to_string())
    .bind(entry.amount_minor)
    .bind(entry.balance_after_minor)
    .bind(reference.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(CreditOutcome::ReferenceTaken);
    }
    tx.commit().await?;
    Ok(CreditOutcome::Credited(entry))
}

/// What [`void`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoidOutcome {
    /// The reference is now void on the account, recorded by this entry.
    Voided(Entry),
    /// A row with the reference was there first (a debit, or an earlier void); nothing changed.
    ReferenceTaken,
    /// There is no such account; nothing was written.
    NoAccount,
}

/// Records that `reference` is void on `account`: a row of kind `void` and amount 0, in one
/// insert against `UNIQUE (account_id, reference)`, so a debit under the reference can never be
/// written after it, and it is not written after a debit. The balance it records is the
/// account's, read by the same statement; a void changes nothing else.
#[tracing::instrument(skip(db, reference), fields(account_id = %account), err)]
pub async fn void(
    db: &AnyPool,
    account: AccountId,
    reference: &Reference,
    now: i64,
) -> Result<VoidOutcome, StorageError> {
    let id = Uuid::new_v4().hyphenated().to_string();
    let inserted = sqlx::query(
        "INSERT INTO ledger (id, account_id, amount_minor, balance_after_minor, reference, created_at, kind) \
         SELECT $1, id, 0, balance_minor, $2, $3, 'void' FROM accounts WHERE id = $4 \
         ON CONFLICT (account_id, reference) DO NOTHING",
    )
    .bind(&id)
    .bind(reference.as_str())
    .bind(now)
    .bind(account.to_string())
    .execute(db)
    .await?;
    if inserted.rows_affected() == 1 {
        return match find(db, account, reference).await? {
            Some(entry) if entry.id == id => Ok(VoidOutcome::Voided(entry)),
            _ => Err(StorageError::Vanished("ledger")),
        };
    }
    match super::accounts::find(db, account).await? {
        Some(_) => Ok(VoidOutcome::ReferenceTaken),
        None => Ok(VoidOutcome::NoAccount),
    }
}

fn entry_from_row(row: &AnyRow) -> Result<Entry, StorageError> {
    let kind: String = row.try_get("kind")?;
    Ok(Entry {
        id: row.try_get("id")?,
        kind: EntryKind::parse(&kind).ok_or(StorageError::Corrupt {
            table: "ledger",
            column: "kind",
        })?,
        amount_minor: row.try_get("amount_minor")?,
        balance_after_minor: row.try_get("balance_after_minor")?,
    })
}

#[cfg(test)]
mod tests {
    use baton_platform::db;

    use super::*;
    use crate::domain::{Account, Amount, Currency};
    use crate::storage::{MIGRATIONS, accounts};

    /// A fresh SQLite database in a temporary folder, with one account holding `balance`.
    async fn account_with(
        balance: i64,
    ) -> Result<(tempfile::TempDir, AnyPool, AccountId), StorageError> {
        let dir = tempfile::tempdir().map_err(|_| StorageError::Vanished("tempdir"))?;
        let url = format!("sqlite://{}/accounts.db", dir.path().display());
        let pool = db::connect(&url, MIGRATIONS)
            .await
            .map_err(|_| StorageError::Vanished("database"))?;
        let account = Account {
            id: AccountId::random(),
            owner_id: Uuid::new_v4(),
            currency: Currency::Eur,
            balance_minor: balance,
            status: crate::domain::AccountStatus::Active,
            created_at: 0,
        };
        accounts::insert(&pool, &account).await?;
        Ok((dir, pool, account.id))
    }

    fn order(account: AccountId, amount: i64, reference: &str) -> Option<DebitOrder> {
        Some(DebitOrder {
            account,
            amount: Amount::parse(amount)?,
            currency: Currency::Eur,
            reference: Reference::parse(reference)?,
        })
    }

    async fn balance(pool: &AnyPool, id: AccountId) -> Option<i64> {
        accounts::find(pool, id)
            .await
            .ok()
            .flatten()
            .map(|a| a.balance_minor)
    }

    #[tokio::test]
    async fn a_second_debit_with_the_same_reference_takes_no_more_money() -> Result<(), StorageError>
    {
        let (_dir, pool, id) = account_with(1_000).await?;
        let order = order(id, 300, "order-1").ok_or(StorageError::Vanished("order"))?;
        let first = debit(&pool, &order, 1).await?;
        assert!(matches!(&first, DebitOutcome::Debited(entry) if entry.balance_after_minor == 700));
        assert_eq!(debit(&pool, &order, 2).await?, DebitOutcome::ReferenceTaken);
        assert_eq!(balance(&pool, id).await, Some(700));
        let recorded = find(&pool, id, &order.reference).await?;
        assert_eq!(recorded.map(|entry| entry.amount_minor), Some(-300));
        Ok(())
    }

    #[tokio::test]
    async fn a_debit_larger_than_the_balance_changes_nothing() -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(100).await?;
        let order = order(id, 101, "order-1").ok_or(StorageError::Vanished("order"))?;
        assert_eq!(debit(&pool, &order, 1).await?, DebitOutcome::NotDebited);
        assert_eq!(balance(&pool, id).await, Some(100));
        assert_eq!(find(&pool, id, &order.reference).await?, None);
        Ok(())
    }

    #[tokio::test]
    async fn a_frozen_account_is_not_debited() -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(1_000).await?;
        accounts::set_status(&pool, id, crate::domain::AccountStatus::Frozen).await?;
        let order = order(id, 1, "order-1").ok_or(StorageError::Vanished("order"))?;
        assert_eq!(debit(&pool, &order, 1).await?, DebitOutcome::NotDebited);
        assert_eq!(balance(&pool, id).await, Some(1_000));
        Ok(())
    }

    #[tokio::test]
    async fn a_second_credit_with_the_same_reference_adds_nothing() -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(100).await?;
        let reference = Reference::parse("deposit-1").ok_or(StorageError::Vanished("ref"))?;
        let fifty = Amount::parse(50).ok_or(StorageError::Vanished("amount"))?;
        let first = credit(&pool, id, fifty, &reference, 1).await?;
        assert!(
            matches!(first, CreditOutcome::Credited(entry) if entry.balance_after_minor == 150)
        );
        assert_eq!(
            credit(&pool, id, fifty, &reference, 2).await?,
            CreditOutcome::ReferenceTaken
        );
        assert_eq!(balance(&pool, id).await, Some(150));
        Ok(())
    }

    #[tokio::test]
    async fn a_credit_that_would_pass_the_ceiling_changes_nothing() -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(MAX_BALANCE_MINOR - 10).await?;
        let reference = Reference::parse("deposit-1").ok_or(StorageError::Vanished("ref"))?;
        let eleven = Amount::parse(11).ok_or(StorageError::Vanished("amount"))?;
        assert_eq!(
            credit(&pool, id, eleven, &reference, 1).await?,
            CreditOutcome::AboveCeiling
        );
        let most = Amount::parse(i64::MAX).ok_or(StorageError::Vanished("amount"))?;
        assert_eq!(
            credit(&pool, id, most, &reference, 1).await?,
            CreditOutcome::AboveCeiling,
            "an amount past the ceiling on its own is refused before any SQL"
        );
        assert_eq!(balance(&pool, id).await, Some(MAX_BALANCE_MINOR - 10));
        let ten = Amount::parse(10).ok_or(StorageError::Vanished("amount"))?;
        assert!(matches!(
            credit(&pool, id, ten, &reference, 1).await?,
            CreditOutcome::Credited(entry) if entry.balance_after_minor == MAX_BALANCE_MINOR
        ));
        Ok(())
    }

    #[tokio::test]
    async fn a_void_closes_a_reference_to_debits_and_takes_nothing() -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(1_000).await?;
        let order = order(id, 300, "order-1").ok_or(StorageError::Vanished("order"))?;
        let voided = void(&pool, id, &order.reference, 1).await?;
        assert!(
            matches!(&voided, VoidOutcome::Voided(entry) if entry.kind == EntryKind::Void
                && entry.amount_minor == 0 && entry.balance_after_minor == 1_000)
        );
        assert_eq!(
            void(&pool, id, &order.reference, 2).await?,
            VoidOutcome::ReferenceTaken,
            "a second void writes nothing"
        );
        assert_eq!(debit(&pool, &order, 3).await?, DebitOutcome::ReferenceTaken);
        assert_eq!(balance(&pool, id).await, Some(1_000));
        Ok(())
    }

    #[tokio::test]
    async fn a_debited_reference_cannot_be_voided() -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(1_000).await?;
        let order = order(id, 300, "order-1").ok_or(StorageError::Vanished("order"))?;
        assert!(matches!(
            debit(&pool, &order, 1).await?,
            DebitOutcome::Debited(_)
        ));
        assert_eq!(
            void(&pool, id, &order.reference, 2).await?,
            VoidOutcome::ReferenceTaken
        );
        let recorded = find(&pool, id, &order.reference).await?;
        assert_eq!(recorded.map(|entry| entry.kind), Some(EntryKind::Debit));
        let nobody = AccountId::random();
        assert_eq!(
            void(&pool, nobody, &order.reference, 3).await?,
            VoidOutcome::NoAccount
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_debits_and_voids_racing_for_one_reference_exactly_one_row_is_written()
    -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(1_000).await?;
        for round in 0..10 {
            let order =
                order(id, 10, &format!("order-{round}")).ok_or(StorageError::Vanished("order"))?;
            let (debited, voided) = tokio::join!(
                debit(&pool, &order, 1),
                void(&pool, id, &order.reference, 1)
            );
            let debited = matches!(debited?, DebitOutcome::Debited(_));
            let voided = matches!(voided?, VoidOutcome::Voided(_));
            assert!(
                debited != voided,
                "round {round}: exactly one of the two wins"
            );
            let kind = find(&pool, id, &order.reference).await?.map(|e| e.kind);
            let expected = if debited {
                EntryKind::Debit
            } else {
                EntryKind::Void
            };
            assert_eq!(kind, Some(expected));
        }
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_debits_never_take_more_than_the_balance() -> Result<(), StorageError> {
        let (_dir, pool, id) = account_with(1_000).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..25 {
            let pool = pool.clone();
            let order =
                order(id, 100, &format!("order-{n}")).ok_or(StorageError::Vanished("order"))?;
            tasks.spawn(async move { debit(&pool, &order, 1).await });
        }
        let mut debited = 0;
        while let Some(joined) = tasks.join_next().await {
            let outcome = joined.map_err(|_| StorageError::Vanished("task"))??;
            if matches!(outcome, DebitOutcome::Debited(_)) {
                debited += 1;
            }
        }
        assert_eq!(debited, 10);
        assert_eq!(balance(&pool, id).await, Some(0));
        Ok(())
    }
}
