//! Settling a reference: what became of an order's debit, asked by orders' reconciler when the
//! payment's answer never reached it.
//!
//! The ledger is the truth about a reference, and settling makes it final:
//! - a debit is recorded under the reference: the answer is "debited", with its entry and amount;
//! - nothing is recorded: the reference is **voided** ([`storage::ledger::void`]), one row of
//!   kind `void` and amount 0 under the same `UNIQUE (account_id, reference)` a debit needs, so
//!   no debit under it can happen after ([`super::debit`] refuses it with `ReferenceVoided`). The
//!   answer is "voided": the order was not paid, and never will be;
//! - a void is recorded already: "voided" again. Settling is idempotent.
//!
//! Of a settle and a debit racing for one reference, the unique key lets one row in: if the
//! debit's is first, the void writes nothing and settling reads the debit back. There is no
//! check in one table and write in another, so no window between them.
//!
//! No user is behind the call, so there is no owner to ask the policy about: who may settle is
//! decided before this (only orders, with its own workload token: `crate::grpc`). Settling moves
//! no money, so a frozen account is settled like any other.

use baton_platform::faults::Faults;
use baton_platform::time::now_unix;
use sqlx::AnyPool;

use super::account::AccountId;
use super::debit::Reference;
use crate::storage::ledger::{Entry, EntryKind, VoidOutcome};
use crate::storage::{self, StorageError};

/// What became of a reference's debit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The ledger holds a debit under the reference; it took `amount_minor` (positive).
    Debited { entry_id: String, amount_minor: i64 },
    /// No debit is recorded under the reference, and none can be any more.
    Voided,
}

/// Why a reference could not be settled.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("no such account")]
    NoSuchAccount,
    /// The reference names a credit, not a debit: not an order's reference.
    #[error("the reference is not a debit's")]
    NotADebit,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Settles `reference` on `account`: reads its debit back, or voids it.
pub async fn settle(
    db: &AnyPool,
    faults: &Faults,
    account: AccountId,
    reference: &Reference,
) -> Result<Settlement, SettleError> {
    if let Some(entry) = storage::ledger::find(db, account, reference).await? {
        return settlement(entry);
    }
    faults
        .reach("accounts.settle.before_void")
        .await
        .map_err(StorageError::from)?;
    match storage::ledger::void(db, account, reference, now_unix()).await? {
        VoidOutcome::Voided(entry) => {
            tracing::warn!(account_id = %account, entry_id = %entry.id, "voided a reference: no debit was recorded under it");
            Ok(Settlement::Voided)
        }
        // A debit (or another settle) wrote its row first: that row is the answer.
        VoidOutcome::ReferenceTaken => {
            let entry = storage::ledger::find(db, account, reference)
                .await?
                .ok_or(StorageError::Vanished("ledger"))?;
            settlement(entry)
        }
        VoidOutcome::NoAccount => Err(SettleError::NoSuchAccount),
    }
}

fn settlement(entry: Entry) -> Result<Settlement, SettleError> {
    match entry.kind {
        EntryKind::Void => Ok(Settlement::Voided),
        EntryKind::Debit => {
            // A debit's amount is negative; its opposite is what it took. Checked, not assumed.
            let amount_minor = entry
                .amount_minor
                .checked_neg()
                .filter(|taken| *taken > 0)
                .ok_or(StorageError::Corrupt {
                    table: "ledger",
                    column: "amount_minor",
                })?;
            Ok(Settlement::Debited {
                entry_id: entry.id,
                amount_minor,
            })
        }
        EntryKind::Credit => Err(SettleError::NotADebit),
    }
}

#[cfg(test)]
mod tests {
    use baton_platform::db;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{Account, AccountStatus, Amount, Currency, DebitOrder};
    use crate::storage::{MIGRATIONS, accounts, ledger};

    async fn account_with(balance: i64) -> (tempfile::TempDir, AnyPool, AccountId) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}/accounts.db", dir.path().display());
        let pool = db::connect(&url, MIGRATIONS).await.expect("a database");
        let account = Account {
            id: AccountId::random(),
            owner_id: Uuid::new_v4(),
            currency: Currency::Eur,
            balance_minor: balance,
            status: AccountStatus::Active,
            created_at: 0,
        };
        accounts::insert(&pool, &account).await.expect("inserted");
        (dir, pool, account.id)
    }

    fn reference() -> Reference {
        Reference::parse(&Uuid::new_v4().to_string()).expect("a reference")
    }

    #[tokio::test]
    async fn settling_twice_answers_the_same_whether_debited_or_voided() {
        let (_dir, pool, id) = account_with(1_000).await;
        let faults = Faults::none();
        let paid = DebitOrder {
            account: id,
            amount: Amount::parse(250).expect("an amount"),
            currency: Currency::Eur,
            reference: reference(),
        };
        ledger::debit(&pool, &paid, 1).await.expect("debited");
        let first = settle(&pool, &faults, id, &paid.reference).await.ok();
        assert!(matches!(
            &first,
            Some(Settlement::Debited {
                amount_minor: 250,
                ..
            })
        ));
        assert_eq!(
            settle(&pool, &faults, id, &paid.reference).await.ok(),
            first
        );

        let unpaid = reference();
        for _ in 0..2 {
            let settled = settle(&pool, &faults, id, &unpaid).await.ok();
            assert_eq!(settled, Some(Settlement::Voided));
        }
        let balance = accounts::find(&pool, id).await.ok().flatten();
        assert_eq!(
            balance.map(|a| a.balance_minor),
            Some(750),
            "settling moved nothing"
        );
    }

    #[tokio::test]
    async fn a_reference_on_an_account_that_does_not_exist_is_not_settled() {
        let (_dir, pool, _) = account_with(0).await;
        let settled = settle(&pool, &Faults::none(), AccountId::random(), &reference()).await;
        assert!(matches!(settled, Err(SettleError::NoSuchAccount)));
    }
}
