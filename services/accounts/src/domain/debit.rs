//! The debit: taking money from an account to pay for something, exactly once per reference.
//!
//! The ledger is the truth about a reference, so it is asked first. The checks, in order:
//! 1. the account exists and the caller may see it (else "not found", whatever the reason);
//! 2. the reference: if a debit was already recorded under it, the first answer is given again
//!    (for the same amount; another amount is a caller's bug) — before the balance, the account's
//!    status or its currency are judged, because a retry of a debit that happened must hear that
//!    it happened, even if the money has since been spent or the account frozen. If the
//!    reference was voided ([`super::settle`]), the debit is refused: that order was settled as
//!    never paid;
//! 3. the caller may spend from the account (its owner, the account not frozen, the call made
//!    for an order), and the currency matches;
//! 4. the money moves in [`storage::ledger::debit`]: one conditional `UPDATE` and one ledger row,
//!    in one transaction. If it moved nothing, the ledger is asked once more: a concurrent debit
//!    with the same reference may have committed in between, and taken the money this one found
//!    missing; then this one answers with that entry too.

use baton_platform::faults::Faults;
use baton_platform::time::now_unix;
use baton_token::Principal;
use sqlx::AnyPool;

use super::account::AccountId;
use super::money::{Amount, Currency};
use crate::policy::Guard;
use crate::storage::ledger::{DebitOutcome, Entry, EntryKind};
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
    /// The reference was settled as never debited: no debit may use it any more.
    #[error("reference voided")]
    ReferenceVoided,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Takes `order.amount` from `order.account` on behalf of `principal`, once per reference.
pub async fn debit(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    faults: &Faults,
    order: &DebitOrder,
) -> Result<Debited, DebitError> {
    let account = storage::accounts::find(db, order.account)
        .await?
        .ok_or(DebitError::NoSuchAccount)?;
    if !guard.may_see(principal, &account) {
        return Err(DebitError::NoSuchAccount);
    }
    if let Some(entry) = storage::ledger::find(db, order.account, &order.reference).await? {
        return replay(order, entry);
    }
    faults
        .reach("accounts.debit.after_lookup")
        .await
        .map_err(StorageError::from)?;
    if !guard.may_spend(principal, &account) {
        return Err(if account.is_frozen() {
            DebitError::Frozen
        } else {
            // The caller may see the account but not spend from it (an admin, or a call that
            // was not made for an order): the same answer as for an account it cannot see.
            DebitError::NoSuchAccount
        });
    }
    if account.currency != order.currency {
        return Err(DebitError::CurrencyMismatch);
    }
    let outcome = storage::ledger::debit(db, order, now_unix()).await?;
    if let DebitOutcome::Debited(entry) = outcome {
        return Ok(debited(entry));
    }
    // Nothing moved. A concurrent debit with our reference may have committed in between (its
    // money is what our UPDATE found missing, or its ledger row is why ours was refused): then it
    // is our debit, and its entry is our answer.
    if let Some(entry) = storage::ledger::find(db, order.account, &order.reference).await? {
        return replay(order, entry);
    }
    match outcome {
        DebitOutcome::ReferenceTaken => Err(StorageError::Vanished("ledger").into()),
        // Either the money ran out, or an admin froze the account since we loaded it.
        _ => match storage::accounts::find(db, order.account).await? {
            Some(now) if now.is_frozen() => Err(DebitError::Frozen),
            _ => Err(DebitError::InsufficientFunds),
        },
    }
}

fn replay(order: &DebitOrder, entry: Entry) -> Result<Debited, DebitError> {
    if entry.kind == EntryKind::Void {
        tracing::info!(entry_id = %entry.id, "refused a debit under a voided reference");
        return Err(DebitError::ReferenceVoided);
    }
    if entry.kind != EntryKind::Debit || entry.amount_minor != order.amount.as_debit() {
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
