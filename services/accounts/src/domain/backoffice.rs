//! The back office: freezing and unfreezing accounts, deposits, and refunds.
//!
//! These are functions for admins only. The gateway's route table already refused everyone else
//! (`gateway.role`); here the service asks its own policy again, with the account in hand
//! (`service.role`), so a mistake in one layer is not enough. A caller who may see the account but
//! not use the function is told 403; anyone else gets the same 404 as for a missing account.
//!
//! Money only ever comes in through [`storage::ledger::credit`], once per reference: a deposit
//! or refund retried after a timeout is answered again, never paid twice. A refund gives back
//! only what was paid: it must name a debit recorded on the same account under the order's
//! reference, it may not exceed that debit, and there is one per order ([`refund`];
//! `accounts.refund_matches_debit`). A frozen account still receives its refunds: freezing stops
//! money leaving an account, and a refund only puts back what left it.

use baton_platform::time::now_unix;
use baton_platform::{Control, Controls};
use baton_token::Principal;
use sqlx::AnyPool;

use super::account::{Account, AccountError, AccountId, AccountStatus};
use super::debit::Reference;
use super::money::{Amount, Currency};
use crate::policy::Guard;
use crate::storage::ledger::{CreditOutcome, Entry};
use crate::storage::{self, StorageError};

/// The largest single deposit, in minor units (100 000.00): a back-office typo should not be
/// able to mint a fortune.
pub const MAX_DEPOSIT_MINOR: i64 = 10_000_000;

/// Freezes (`frozen = true`) or unfreezes account `id`; answers the account as it now is.
pub async fn set_frozen(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    id: AccountId,
    frozen: bool,
) -> Result<Account, AccountError> {
    let account = storage::accounts::find(db, id)
        .await?
        .ok_or(AccountError::NotFound)?;
    if !guard.may_freeze(principal, &account) {
        return Err(refusal(principal, guard, &account));
    }
    let status = if frozen {
        AccountStatus::Frozen
    } else {
        AccountStatus::Active
    };
    let account = storage::accounts::set_status(db, id, status)
        .await?
        .ok_or(AccountError::NotFound)?;
    tracing::warn!(
        account_id = %id,
        status = status.as_str(),
        by = %principal.user_id(),
        "account status changed"
    );
    Ok(account)
}

/// Money to put into an account, every field parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub account: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    /// Already namespaced (`deposit:…`, `refund:…`) so it cannot collide with a debit's.
    pub reference: Reference,
}

/// A credit that happened (now, or the first time its reference was used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credited {
    pub entry_id: String,
    pub balance_minor: i64,
}

/// Why a credit was refused.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("currency does not match the account")]
    CurrencyMismatch,
    /// The reference was used before for a different amount: a client bug, never a retry.
    #[error("reference already used for another amount")]
    ReferenceReused,
    /// A refund for an order that never debited this account.
    #[error("no debit of this order on this account")]
    NoMatchingDebit,
    /// A refund of more than the order's debit took.
    #[error("more than the order's debit took")]
    MoreThanDebited,
    /// The balance would pass its ceiling ([`super::money::MAX_BALANCE_MINOR`]).
    #[error("the balance would pass its ceiling")]
    AboveCeiling,
}

impl From<StorageError> for CreditError {
    fn from(err: StorageError) -> Self {
        Self::Account(AccountError::Storage(err))
    }
}

/// The reference under which a deposit with the caller's `reference` is recorded.
pub fn deposit_reference(unverified: &str) -> Option<Reference> {
    Reference::parse(&format!("deposit:{unverified}"))
}

/// The reference under which the refund of order `order_id` is recorded: one per order, ever.
pub fn refund_reference(order_id: &str) -> Option<Reference> {
    Reference::parse(&format!("refund:{order_id}"))
}

/// What the refund of the order whose refund reference is `refund` put back into `account`, if
/// it was credited: read only, for orders' reconciler (`RefundState`). No policy is asked: the
/// caller is orders itself, checked by its workload token, and the answer moves no money.
pub async fn refunded(
    db: &AnyPool,
    account: AccountId,
    refund: &Reference,
) -> Result<Option<i64>, StorageError> {
    Ok(storage::ledger::find(db, account, refund)
        .await?
        .map(|entry| entry.amount_minor)
        .filter(|credited| *credited > 0))
}

/// Deposits `credit.amount` into `credit.account` (`admin-runs-the-back-office`).
pub async fn deposit(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    credit: &Credit,
) -> Result<Credited, CreditError> {
    let account = load(db, credit.account).await?;
    if !guard.may_deposit(principal, &account) {
        return Err(refusal(principal, guard, &account).into());
    }
    credit_once(db, &account, credit).await
}

/// Gives an order's money back into the account that paid (`admin-runs-the-back-office`): at
/// most what the debit recorded under `paid_with` (the order's reference) took from this very
/// account, and once.
pub async fn refund(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    controls: &Controls,
    credit: &Credit,
    paid_with: &Reference,
) -> Result<Credited, CreditError> {
    let account = load(db, credit.account).await?;
    if !guard.may_refund(principal, &account) {
        return Err(refusal(principal, guard, &account).into());
    }
    if controls.is_on(Control::AccountsRefundMatchesDebit) {
        let debit = storage::ledger::find(db, credit.account, paid_with)
            .await?
            .filter(|entry| entry.amount_minor < 0)
            .ok_or(CreditError::NoMatchingDebit)?;
        if credit.amount.minor() > -debit.amount_minor {
            return Err(CreditError::MoreThanDebited);
        }
    }
    credit_once(db, &account, credit).await
}

async fn load(db: &AnyPool, id: AccountId) -> Result<Account, CreditError> {
    Ok(storage::accounts::find(db, id)
        .await?
        .ok_or(AccountError::NotFound)?)
}

async fn credit_once(
    db: &AnyPool,
    account: &Account,
    credit: &Credit,
) -> Result<Credited, CreditError> {
    if account.currency != credit.currency {
        return Err(CreditError::CurrencyMismatch);
    }
    if let Some(entry) = storage::ledger::find(db, credit.account, &credit.reference).await? {
        return replay(credit, entry);
    }
    let outcome = storage::ledger::credit(
        db,
        credit.account,
        credit.amount,
        &credit.reference,
        now_unix(),
    )
    .await?;
    match outcome {
        CreditOutcome::Credited(entry) => {
            tracing::warn!(
                account_id = %credit.account,
                amount_minor = credit.amount.minor(),
                reference = credit.reference.as_str(),
                "credited"
            );
            Ok(credited(entry))
        }
        CreditOutcome::AboveCeiling => Err(CreditError::AboveCeiling),
        CreditOutcome::ReferenceTaken => {
            let entry = storage::ledger::find(db, credit.account, &credit.reference)
                .await?
                .ok_or(StorageError::Vanished("ledger"))?;
            replay(credit, entry)
        }
    }
}

fn replay(credit: &Credit, entry: Entry) -> Result<Credited, CreditError> {
    if entry.amount_minor != credit.amount.minor() {
        return Err(CreditError::ReferenceReused);
    }
    tracing::info!(entry_id = %entry.id, "answered a repeated credit without crediting again");
    Ok(credited(entry))
}

fn credited(entry: Entry) -> Credited {
    Credited {
        entry_id: entry.id,
        balance_minor: entry.balance_after_minor,
    }
}

/// 403 for a caller who may see the account (its owner, trying an admin function on it), 404 for
/// anyone else, so the refusal says nothing about accounts the caller cannot see.
fn refusal(principal: &Principal, guard: &Guard, account: &Account) -> AccountError {
    if guard.may_see(principal, account) {
        AccountError::Forbidden
    } else {
        AccountError::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposit_and_refund_references_live_in_their_own_namespaces() {
        let deposit = deposit_reference("order-1").map(|r| r.as_str().to_owned());
        assert_eq!(deposit.as_deref(), Some("deposit:order-1"));
        let uuid = "0b3e8f5c-7a21-4d6e-9f10-2c4b6d8e0a1f";
        assert!(refund_reference(uuid).is_some());
        assert_eq!(deposit_reference("with space"), None);
    }
}
