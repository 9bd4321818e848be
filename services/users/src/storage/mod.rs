//! The users service's SQL, and the migrations that shape its database.
//!
//! Queries are plain strings for sqlx's `Any` driver, so one text runs on SQLite and PostgreSQL;
//! values are always bound, never formatted into the SQL. Functions here are small and do one
//! query each; rules live in [`crate::domain`].

pub mod users;

use baton_platform::db::EmbeddedMigration;

/// The schema, embedded in the binary and applied at start-up.
pub const MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "users", include_str!("../../migrations/0001_init.sql")),
    (2, "phone", include_str!("../../migrations/0002_phone.sql")),
];

/// Why a storage call failed. Never shown to a caller: handlers log it and answer a fixed 500.
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
}
