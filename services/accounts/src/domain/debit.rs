//! The debit: taking money from an account to pay for something, exactly once per reference.
//!
//! The checks, in order: the account exists and belongs to the caller (else "not found"), the
//! currency matches, the reference was not used before (if it was, for the same amount, the
//! first answer is given again: a retry after a timeout must not pay twice). The money moves in
//! [`storage::ledger::debit`], one conditional `UPDATE` and one ledger row in one transaction.

use baton_platform::time::now_unix;
use baton_token::Principal;
use sqlx::AnyPool;

use super::account::AccountId;
use super::money::{Amount, Currency};
use crate::policy::Guard;
use crate::storage::ledger::{DebitOutcome, Entry};
use crate::storage::{self, StorageError};

/// Longest reference accepted; an order id (a UUID) is 36.
pub const MAX_REFERENCE_LEN: usize = 64;

/// The caller's idempotency reference: 1 to 64 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference(String);

impl Reference {
    pub fn parse(unverified: &str) -> Option<Self> {
        let valid = !unverified.is_empty()
            && unverified.len() <= MAX_REFERENCE_LEN
            && unverified.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(unverified.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A debit request whose every field has been parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebitOrder {
    pub account: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    pub reference: Reference,
}

/// A debit that happened (now, or the first time this reference was used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debited {
    pub entry_id: String,
    pub balance_minor: i64,
}

/// Why a debit was refused.
#[derive(Debug, thiserror::Error)]
pub enum DebitError {
    /// No such account, or not the caller's.
    #[error("no such account")]
    NoSuchAccount,
    #[error("currency does not match the account")]
    CurrencyMismatch,
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The caller's own account, frozen by an admin.
    #[error("account frozen")]
    Frozen,
    /// The reference was used before for a different amount: a client bug, never a retry.
    #[error("reference already used for another debit")]
    ReferenceReused,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Takes `order.amount` from `order.account` on behalf of `principal`, once per reference.
pub async fn debit(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    order: &DebitOrder,
) -> Result<Debited, DebitError> {
    let account = storage::accounts::find(db, order.account)
        .await?
        .ok_or(DebitError::NoSuchAccount)?;
    if !guard.may_spend(principal, &account) {
        // The owner of a frozen account is told why; anyone else learns nothing about it.
        let frozen_and_theirs = account.is_frozen() && guard.may_see(principal, &account);
        return Err(if frozen_and_theirs {
            DebitError::Frozen
        } else {
            DebitError::NoSuchAccount
        });
    }
    if account.currency != order.currency {
        return Err(DebitError::CurrencyMismatch);
    }
    // A retry finds its entry here and is answered without touching the balance: checking before
    // the UPDATE matters, because a retry must succeed even if the balance has since run low.
    if let Some(entry) = storage::ledger::find(db, order.account, &order.reference).await? {
        return replay(order, entry);
    }
    match storage::ledger::debit(db, order, now_unix()).await? {
        DebitOutcome::Debited(entry) => Ok(debited(entry)),
        // Either the money ran out, or an admin froze the account since we loaded it.
        DebitOutcome::NotDebited => match storage::accounts::find(db, order.account).await? {
            Some(now) if now.is_frozen() => Err(DebitError::Frozen),
            _ => Err(DebitError::InsufficientFunds),
        },
        // A concurrent call with the same reference won; its transaction committed first and
        // ours was rolled back, so answer with the winner's entry.
        DebitOutcome::ReferenceTaken => {
            let entry = storage::ledger::find(db, order.account, &order.reference)
                .await?
                .ok_or(StorageError::Vanished("ledger"))?;
            replay(order, entry)
        }
    }
}

fn replay(order: &DebitOrder, entry: Entry) -> Result<Debited, DebitError> {
    if entry.amount_minor != order.amount.as_debit() {
        return Err(DebitError::ReferenceReused);
    }
    tracing::info!(entry_id = %entry.id, "answered a repeated debit without debiting again");
    Ok(debited(entry))
}

fn debited(entry: Entry) -> Debited {
    Debited {
        entry_id: entry.id,
        balance_minor: entry.balance_after_minor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_id_is_a_valid_reference() {
        assert!(Reference::parse("0b3e8f5c-7a21-4d6e-9f10-2c4b6d8e0a1f").is_some());
    }

    #[test]
    fn empty_overlong_or_unprintable_references_are_refused() {
        assert_eq!(Reference::parse(""), None);
        assert_eq!(Reference::parse(&"r".repeat(MAX_REFERENCE_LEN + 1)), None);
        assert_eq!(Reference::parse("order 1"), None);
        assert_eq!(Reference::parse("order\n1"), None);
    }

    #[test]
    fn a_reference_of_exactly_the_maximum_length_is_accepted() {
        assert!(Reference::parse(&"r".repeat(MAX_REFERENCE_LEN)).is_some());
    }
}
