//! Each component's own database: SQLite by default, PostgreSQL when a URL says so.
//!
//! Components use sqlx's `Any` driver, so the same queries and the same migrations run on both.
//! That keeps the SQL portable and plain: `TEXT` for UUIDs, `BIGINT` for money in minor units and
//! for Unix timestamps, `$1` placeholders (which sqlx also understands for SQLite). The rejected
//! alternative, one storage implementation per database, doubles the code a reader must check.
//!
//! Migrations are embedded in the binary with `include_str!` and handed to [`migrator`]; they run
//! at start-up, before the component accepts a connection.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};

/// One embedded migration: its version, a description and its SQL.
pub type EmbeddedMigration = (i64, &'static str, &'static str);

/// A window of a listing, as storage reads it: at most `limit` rows, skipping `offset`. The HTTP
/// API kit builds one from a caller's query, within the hard limits
/// (`baton_api::input::PageQuery::checked`); storage only binds the two numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("could not migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("could not create the database folder: {0}")]
    Folder(#[source] std::io::Error),
}

/// Builds a migrator from migrations embedded in the binary.
pub fn migrator(migrations: &[EmbeddedMigration]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Opens the pool for `url` and brings the schema up to date.
///
/// A `sqlite://` URL for a file that does not exist yet creates it (and its folder).
pub async fn connect(url: &str, migrations: &[EmbeddedMigration]) -> Result<AnyPool, DbError> {
    install_default_drivers();
    let url = prepare_sqlite(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(if url.starts_with("sqlite:") { 4 } else { 10 })
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .map_err(DbError::Connect)?;
    migrator(migrations)
        .run(&pool)
        .await
        .map_err(DbError::Migrate)?;
    Ok(pool)
}

/// Makes a SQLite URL create its file on first use, and makes sure its folder exists.
fn prepare_sqlite(url: &str) -> Result<String, DbError> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(url.to_owned());
    };
    let file = path.split('?').next().unwrap_or(path);
    if let Some(parent) = std::path::Path::new(file).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(DbError::Folder)?;
    }
    if path.contains("mode=") {
        Ok(url.to_owned())
    } else if path.contains('?') {
        Ok(format!("{url}&mode=rwc"))
    } else {
        Ok(format!("{url}?mode=rwc"))
    }
}

/// The database URL for `component`: `<COMPONENT>_DATABASE_URL`, then `DATABASE_URL`, then a
/// SQLite file under `data_dir`.
pub fn database_url(source: &dyn crate::Source, component: &str, data_dir: &str) -> String {
    let own_key = format!("{}_DATABASE_URL", component.to_ascii_uppercase());
    source
        .get(&own_key)
        .or_else(|| source.get("DATABASE_URL"))
        .unwrap_or_else(|| format!("sqlite://{data_dir}/{component}.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_is_made_to_create_its_file() {
        let dir = std::env::temp_dir().join("baton-db-test");
        let url = format!("sqlite://{}/x.db", dir.display());
        assert_eq!(prepare_sqlite(&url).ok(), Some(format!("{url}?mode=rwc")));
    }

    #[test]
    fn a_postgres_url_is_left_alone() {
        let url = "postgres://127.0.0.1/test";
        assert_eq!(prepare_sqlite(url).ok().as_deref(), Some(url));
    }
}
