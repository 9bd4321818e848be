//! The orders service's SQL, and the migrations that shape its database.
//!
//! Queries are plain strings for sqlx's `Any` driver, so one text runs on SQLite and PostgreSQL;
//! values are always bound, never formatted into the SQL. Rules live in [`crate::domain`].

pub mod catalog;
pub mod idempotency;
pub mod orders;

use baton_platform::db::EmbeddedMigration;

/// The schema, embedded in the binary and applied at start-up.
pub const MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "catalog and orders",
        include_str!("../../migrations/0001_init.sql"),
    ),
    (
        2,
        "idempotency keys for placing orders",
        include_str!("../../migrations/0002_order_flow_limits.sql"),
    ),
    (
        3,
        "the payment's states, and the per-buyer lock",
        include_str!("../../migrations/0003_payment_state.sql"),
    ),
    (
        4,
        "a refund asked for and not yet known to be done",
        include_str!("../../migrations/0004_refund_requested.sql"),
    ),
];

/// Why a storage call failed. Never shown to a caller: it is logged and answered with fixed text.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value does not parse: written by something other than this service, or corrupt.
    #[error("corrupt row in `{table}`: {column} does not parse")]
    Corrupt {
        table: &'static str,
        column: &'static str,
    },
    /// A test made this step fail ([`baton_platform::faults`]); never in production.
    #[error(transparent)]
    Injected(#[from] baton_platform::faults::Injected),
}
