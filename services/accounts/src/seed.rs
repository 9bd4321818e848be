//! The demo accounts: one in euros for each demo customer, development mode only.
//!
//! The owners are the fixed demo user ids in `baton_platform::demo`, the same people the STS and
//! the users service seed. The accounts themselves get random ids, as every account does.

use baton_platform::demo;
use baton_platform::time::now_unix;
use sqlx::AnyPool;

use crate::domain::Currency;
use crate::storage::StorageError;
use crate::storage::demo::seed_account;

/// Opens the demo accounts that are not there yet.
pub async fn demo_accounts(db: &AnyPool) -> Result<(), StorageError> {
    // INVARIANT: the demo currency is one we support; if it ever is not, fail the start-up loudly.
    let currency = Currency::parse(demo::CURRENCY).map_err(|_| StorageError::Corrupt {
        table: "demo",
        column: "currency",
    })?;
    for person in demo::ALL {
        let Some(opening) = person.opening_balance_minor else {
            continue;
        };
        if seed_account(db, person.id, currency, opening, now_unix()).await? {
            tracing::info!(username = person.username, "seeded a demo account");
        }
    }
    Ok(())
}
