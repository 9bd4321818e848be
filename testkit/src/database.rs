//! A fresh database per component per platform: SQLite by default, PostgreSQL when asked.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{AnyPool, Row};
use tempfile::TempDir;

/// Databases the test kit creates on PostgreSQL start with this, followed by their creation time,
/// so a later run can drop the ones a crashed run left behind.
const PG_PREFIX: &str = "baton_t_";
/// Databases older than this are assumed abandoned.
const ABANDONED_AFTER_SECS: u64 = 3600;

/// Where the platform's databases live.
#[derive(Debug)]
pub enum Backend {
    /// SQLite files in a temporary folder, removed when the platform is dropped.
    Sqlite(TempDir),
    /// Fresh databases on the PostgreSQL server `admin_url` points at.
    Postgres { admin_url: String, run_id: String },
}

impl Backend {
    /// PostgreSQL if `DATABASE_URL` is set, SQLite otherwise.
    pub async fn from_env() -> anyhow::Result<Self> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => Self::postgres(url).await,
            _ => Ok(Backend::Sqlite(tempfile::tempdir()?)),
        }
    }

    async fn postgres(admin_url: String) -> anyhow::Result<Self> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let run_id = format!(
            "{PG_PREFIX}{now}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        drop_abandoned(&admin_url, now).await?;
        Ok(Backend::Postgres { admin_url, run_id })
    }

    /// The database URL for `component`, creating the database if needed.
    pub async fn url_for(&self, component: &str) -> anyhow::Result<String> {
        match self {
            Backend::Sqlite(dir) => Ok(format!("sqlite://{}/{component}.db", dir.path().display())),
            Backend::Postgres { admin_url, run_id } => {
                let name = format!("{run_id}_{component}");
                let pool = admin_pool(admin_url).await?;
                // The name is built from our own prefix, digits, hex and a component name.
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await?;
                pool.close().await;
                Ok(replace_database(admin_url, &name))
            }
        }
    }
}

async fn admin_pool(admin_url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    Ok(sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await?)
}

/// Drops test databases older than an hour: left behind by runs that crashed or were killed.
async fn drop_abandoned(admin_url: &str, now: u64) -> anyhow::Result<()> {
    let pool = admin_pool(admin_url).await?;
    let rows = sqlx::query(
        "SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'baton_t_%'",
    )
    .fetch_all(&pool)
    .await?;
    for row in rows {
        let name: String = row.try_get("datname")?;
        let created = name
            .strip_prefix(PG_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|created| now.saturating_sub(created) > ABANDONED_AFTER_SECS) {
            // Best effort: a database still in use by a live run is simply left alone.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&pool)
            .await;
        }
    }
    pool.close().await;
    Ok(())
}

/// `postgres://user@host:port/db?x=y` with `db` replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            replace_database("postgres://u@127.0.0.1:5432/test?sslmode=disable", "x"),
            "postgres://u@127.0.0.1:5432/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://127.0.0.1", "x"),
            "postgres://127.0.0.1/x"
        );
    }
}
