//! User ids, profiles, and who sees how much of them: a caller reads and changes their own
//! profile; support reads anyone's with the contact details masked; an admin reads anyone's and
//! lists users; anyone else is told there is no such user.

use std::fmt;

use baton_platform::db::Page;
use baton_token::Principal;
use serde::Serialize;
use sqlx::AnyPool;
use uuid::Uuid;

use crate::policy::Guard;
use crate::storage::{self, StorageError};

/// A user's id. Built only by [`UserId::parse`] or from a verified token, so a value of this type
/// is always a well-formed UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UserId(Uuid);

impl UserId {
    /// Parses an id from a path or a message. Anything that is not a UUID is `None`, and callers
    /// answer "not found": a malformed id names no user, and saying so differently would only
    /// help someone probing the API.
    pub fn parse(unverified: &str) -> Option<Self> {
        Uuid::try_parse(unverified).ok().map(Self)
    }

    /// The id of the user a verified token speaks for.
    pub fn of(principal: &Principal) -> Self {
        Self(principal.user_id())
    }
}

impl From<Uuid> for UserId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for UserId {
    /// The stored form: hyphenated, lowercase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A user as stored. Never serialized as it is: the API answers with a view chosen for the caller
/// ([`Visible`]), so a column added here is not shown to anyone until a view names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub created_at: i64,
}

/// How much of a user's contact details the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    /// The user themself, and admins.
    Full,
    /// Support: enough to confirm an address with a caller, not enough to copy it.
    Masked,
}

/// A user, with how much of them this caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visible {
    pub user: User,
    pub contact: Contact,
}

/// The changes a user may make to their own profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub display_name: Option<String>,
    pub phone: Option<String>,
    /// Set only by the careless binding lab mode offers when `service.mass_assignment` is off:
    /// the strict request type has no such field, so in normal operation this is always `None`.
    pub email: Option<String>,
}

/// Why a profile could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No such user, or not one the caller may see: the same answer for both, by design.
    #[error("no such user")]
    NotFound,
    /// The caller may not use this function at all (a customer listing users).
    #[error("not allowed")]
    Forbidden,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The profile of `user`, if `principal` may see it, with the contact details they may see.
pub async fn profile(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    user: UserId,
) -> Result<Visible, LookupError> {
    // Decide before reading: a refused caller causes no database read, so the time it takes to
    // answer says nothing about whether the user exists.
    // Who may read which profile is the policy's call (`policy/policies.cedar`).
    if !guard.may_read_profile(principal, user.0) {
        return Err(LookupError::NotFound);
    }
    let user = storage::users::find(db, user)
        .await?
        .ok_or(LookupError::NotFound)?;
    Ok(visible_to(principal, guard, user))
}

/// One page of every user, for the back office (`admin-lists-users`).
pub async fn list(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    page: Page,
) -> Result<Vec<Visible>, LookupError> {
    if !guard.may_list_users(principal) {
        return Err(LookupError::Forbidden);
    }
    let users = storage::users::list(db, page).await?;
    Ok(users
        .into_iter()
        .map(|user| visible_to(principal, guard, user))
        .collect())
}

/// Applies `changes` to the caller's own profile and answers the result.
pub async fn update_own(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    changes: ProfileChanges,
) -> Result<Visible, LookupError> {
    let own = UserId::of(principal);
    if !guard.may_update_profile(principal, own.0) {
        return Err(LookupError::NotFound);
    }
    if !storage::users::update(db, own, &changes).await? {
        return Err(LookupError::NotFound);
    }
    tracing::info!(user_id = %own, "profile changed");
    profile(db, principal, guard, own).await
}

fn visible_to(principal: &Principal, guard: &Guard, user: User) -> Visible {
    let contact = if guard.may_see_contact(principal, user.id.0) {
        Contact::Full
    } else {
        Contact::Masked
    };
    Visible { user, contact }
}

/// `alice@example.com` → `a***@example.com`: the first character and the domain, which is what a
/// support call needs to confirm ("the address at example.com starting with a?").
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// `+44 20 7946 0001` → `***0001`: the last four digits and nothing else.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits.iter().skip(digits.len().saturating_sub(4)).collect();
    format!("***{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_id_parses_to_nothing() {
        assert_eq!(UserId::parse("../../etc/passwd"), None);
        assert_eq!(UserId::parse(""), None);
        assert_eq!(UserId::parse("1 OR 1=1"), None);
    }

    #[test]
    fn an_id_prints_in_the_stored_lowercase_form_whatever_case_it_was_sent_in() {
        let id = UserId::parse("3F6C1A8E-5B2D-4C71-9E0A-7D4B2C8F1E63");
        assert_eq!(
            id.map(|id| id.to_string()).as_deref(),
            Some("3f6c1a8e-5b2d-4c71-9e0a-7d4b2c8f1e63")
        );
    }

    #[test]
    fn masking_keeps_only_what_a_support_call_needs() {
        assert_eq!(mask_email("alice@example.com"), "a***@example.com");
        assert_eq!(mask_email("no-at-sign"), "***");
        assert_eq!(mask_phone("+44 20 7946 0001"), "***0001");
        assert_eq!(mask_phone("12"), "***12");
    }

    #[test]
    fn a_demo_user_id_round_trips_through_parse() {
        let alice = baton_platform::demo::ALICE.id;
        assert_eq!(UserId::parse(&alice.to_string()), Some(UserId::from(alice)));
    }
}
