//! User ids, profiles, and the one ownership rule: a caller reads their own profile; an admin
//! reads anyone's; anyone else is told there is no such user.

use std::fmt;

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

/// A user's profile as the REST API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: String,
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No such user, or not one the caller may see: the same answer for both, by design.
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The profile of `user`, if `principal` may see it.
pub async fn profile(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    user: UserId,
) -> Result<Profile, LookupError> {
    // Decide before reading: a refused caller causes no database read, so the time it takes to
    // answer says nothing about whether the user exists.
    // Who may read which profile is the policy's call (`policy/policies.cedar`).
    if !guard.may_read_profile(principal, user.0) {
        return Err(LookupError::NotFound);
    }
    storage::users::find(db, user)
        .await?
        .ok_or(LookupError::NotFound)
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
    fn a_demo_user_id_round_trips_through_parse() {
        let alice = baton_platform::demo::ALICE.id;
        assert_eq!(UserId::parse(&alice.to_string()), Some(UserId::from(alice)));
    }
}
