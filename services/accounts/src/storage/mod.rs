//! The accounts service's SQL, and the migrations that shape its database.
//!
//! Queries are plain strings for sqlx's `Any` driver, so one text runs on SQLite and PostgreSQL;
//! values are always bound, never formatted into the SQL. Rules live in [`crate::domain`]; what
//! lives here is how a rule is made atomic (see [`ledger::debit`]).

pub mod accounts;
pub mod demo;
pub mod ledger;

use baton_platform::db::EmbeddedMigration;

/// The schema, embedded in the binary and applied at start-up.
pub const MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "accounts and ledger",
        include_str!("../../migrations/0001_init.sql"),
    ),
    (
        2,
        "account status",
        include_str!("../../migrations/0002_status.sql"),
    ),
    (
        3,
        "ledger kind",
        include_str!("../../migrations/0003_ledger_kind.sql"),
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
    /// A row that was just reported to exist could not be read back.
    #[error("a row in `{0}` vanished")]
    Vanished(&'static str),
    /// A test made this step fail ([`baton_platform::faults`]); never in production.
    #[error(transparent)]
    Injected(#[from] baton_platform::faults::Injected),
}
