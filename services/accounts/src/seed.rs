//! The demo accounts: one in euros for each demo customer, development mode only.
//!
//! The owners are the fixed demo user ids in `baton_platform::demo`, the same people the STS and
//! the users service seed. The accounts themselves get random ids, as every account does.

use baton_platform::demo as people;
use baton_platform::time::now_unix;
use sqlx::AnyPool;

use crate::domain::Currency;
use crate::storage::StorageError;
use crate::storage::demo::{self, seed_account};

/// Opens the demo accounts that are not there yet.
pub async fn demo_accounts(db: &AnyPool) -> Result<(), StorageError> {
    // INVARIANT: the demo currency is one we support; if it ever is not, fail the start-up loudly.
    let currency = Currency::parse(people::CURRENCY).map_err(|_| StorageError::Corrupt {
        table: "demo",
        column: "currency",
    })?;
    for person in people::ALL {
        let Some(opening) = person.opening_balance_minor else {
            continue;
        };
        if seed_account(db, person.id, currency, opening, now_unix()).await? {
            tracing::info!(username = person.username, "seeded a demo account");
        }
    }
    Ok(())
}

/// The demo customers with an account or a seed claim here, as `demo account of <name>`.
pub async fn demo_accounts_found(db: &AnyPool) -> Result<Vec<String>, StorageError> {
    let mut found = Vec::new();
    for person in people::ALL {
        if demo::seeded(db, person.id).await? {
            found.push(format!("demo account of {}", person.username));
        }
    }
    Ok(found)
}

/// Deletes every demo account with its ledger; says whose were there.
pub async fn remove_demo_accounts(db: &AnyPool) -> Result<Vec<String>, StorageError> {
    let mut removed = Vec::new();
    for person in people::ALL {
        if demo::remove(db, person.id).await? {
            removed.push(format!("demo account of {}", person.username));
        }
    }
    Ok(removed)
}
