//! Accounts: their ids, who may see or spend from one, and reading and opening them.
//!
//! Who may see or spend from an account is not decided here but by the service's policy (see
//! [`crate::policy`] and `policy/policies.cedar`): this module loads the account and asks.

use std::fmt;

use baton_platform::db::Page;
use baton_platform::time::now_unix;
use baton_token::Principal;
use sqlx::AnyPool;
use uuid::Uuid;

use super::money::Currency;
use crate::policy::Guard;
use crate::storage::{self, StorageError};

/// An account's id: a random UUID, drawn when the account is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(Uuid);

impl AccountId {
    /// Parses an id from a path or a message; anything that is not a UUID is `None` (and the
    /// caller answers "not found": a malformed id names no account).
    pub fn parse(unverified: &str) -> Option<Self> {
        Uuid::try_parse(unverified).ok().map(Self)
    }

    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for AccountId {
    /// The stored form: hyphenated, lowercase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// Whether money may leave an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    #[default]
    Active,
    /// Frozen by an admin: it keeps its money, and nothing is spent from it.
    Frozen,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Frozen => "frozen",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "active" => Some(AccountStatus::Active),
            "frozen" => Some(AccountStatus::Frozen),
            _ => None,
        }
    }
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub owner_id: Uuid,
    pub currency: Currency,
    pub balance_minor: i64,
    pub status: AccountStatus,
    pub created_at: i64,
}

impl Account {
    pub fn is_frozen(&self) -> bool {
        self.status == AccountStatus::Frozen
    }
}

/// Why an account could not be read, opened or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No such account, or not one the caller may see: the same answer for both, by design.
    #[error("no such account")]
    NotFound,
    /// The caller may see the account but may not use this function on it.
    #[error("not allowed")]
    Forbidden,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One page of the caller's own accounts, oldest first. An admin sees their own here too:
/// listing everyone's accounts would be a different, audited, operation.
pub async fn list_own(
    db: &AnyPool,
    principal: &Principal,
    page: Page,
) -> Result<Vec<Account>, StorageError> {
    storage::accounts::list_by_owner(db, principal.user_id(), page).await
}

/// One account, if `principal` may see it.
pub async fn get(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    id: AccountId,
) -> Result<Account, AccountError> {
    storage::accounts::find(db, id)
        .await?
        .filter(|account| guard.may_see(principal, account))
        .ok_or(AccountError::NotFound)
}

/// Opens a new, empty account in `currency` for the caller.
pub async fn open(
    db: &AnyPool,
    principal: &Principal,
    currency: Currency,
) -> Result<Account, StorageError> {
    let account = Account {
        id: AccountId::random(),
        owner_id: principal.user_id(),
        currency,
        balance_minor: 0,
        status: AccountStatus::Active,
        created_at: now_unix(),
    };
    storage::accounts::insert(db, &account).await?;
    tracing::info!(account_id = %account.id, %currency, "opened an account");
    Ok(account)
}

/// LAB MODE ONLY (`service.mass_assignment` off): opens an account from whatever the request
/// body said, the way code that binds a body straight onto the stored row does. A caller can name
/// the owner, the opening balance and the status. Never called otherwise.
pub async fn open_as_told(
    db: &AnyPool,
    principal: &Principal,
    currency: Currency,
    owner_id: Option<Uuid>,
    balance_minor: Option<i64>,
    status: Option<AccountStatus>,
) -> Result<Account, StorageError> {
    let account = Account {
        id: AccountId::random(),
        owner_id: owner_id.unwrap_or(principal.user_id()),
        currency,
        balance_minor: balance_minor.unwrap_or(0).max(0),
        status: status.unwrap_or_default(),
        created_at: now_unix(),
    };
    storage::accounts::insert(db, &account).await?;
    tracing::warn!(account_id = %account.id, "LAB MODE: opened an account as the body told");
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_account_id_parses_to_nothing() {
        assert_eq!(AccountId::parse("not-a-uuid"), None);
        assert_eq!(AccountId::parse("'; DROP TABLE accounts; --"), None);
    }

    #[test]
    fn random_account_ids_differ() {
        assert_ne!(AccountId::random(), AccountId::random());
    }
}
