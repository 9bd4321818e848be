//! The demo users (Alice, Bob, Carol, Dave), seeded in development mode only.
//!
//! Their ids are the fixed ones in `baton_platform::demo`, shared with the STS and the accounts
//! service so the three seeds describe the same people. Seeding inserts only what is missing, so
//! it runs on every start and from several processes at once without harm. In production they
//! must not be there at all: [`demo_users_found`] is what the start-up refuses on, and
//! [`remove_demo_users`] what `baton-users remove-demo-data` runs.

use baton_platform::demo;
use baton_platform::time::now_unix;
use sqlx::AnyPool;

use crate::domain::UserId;
use crate::storage::StorageError;
use crate::storage::users::{self, NewUser};

/// Inserts every demo user that is not there yet.
pub async fn demo_users(db: &AnyPool) -> Result<(), StorageError> {
    let now = now_unix();
    for person in demo::ALL {
        let inserted = users::insert_if_absent(
            db,
            NewUser {
                id: UserId::from(person.id),
                username: person.username,
                display_name: person.display_name,
                email: person.email,
                phone: Some(person.phone),
                created_at: now,
            },
        )
        .await?;
        if inserted {
            tracing::info!(username = person.username, "seeded a demo user");
        }
    }
    Ok(())
}

/// The demo users in the database, as `demo user <name>`.
pub async fn demo_users_found(db: &AnyPool) -> Result<Vec<String>, StorageError> {
    let mut found = Vec::new();
    for person in demo::ALL {
        if users::find(db, UserId::from(person.id)).await?.is_some() {
            found.push(format!("demo user {}", person.username));
        }
    }
    Ok(found)
}

/// Deletes every demo user; says which were there.
pub async fn remove_demo_users(db: &AnyPool) -> Result<Vec<String>, StorageError> {
    let mut removed = Vec::new();
    for person in demo::ALL {
        if users::delete(db, UserId::from(person.id)).await? {
            removed.push(format!("demo user {}", person.username));
        }
    }
    Ok(removed)
}
