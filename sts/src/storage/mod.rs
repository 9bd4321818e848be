//! The STS's SQL, one small instrumented function per statement.

use baton_platform::db::EmbeddedMigration;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

pub const MIGRATIONS: &[EmbeddedMigration] =
    &[(1, "init", include_str!("../../migrations/0001_init.sql"))];

/// A user's stored credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: String,
    pub username: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub roles: Vec<String>,
}

/// A stored opaque access token, by hash.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub user_id: String,
    pub scope: String,
    pub expires_at: i64,
}

fn credentials_from(row: &AnyRow) -> Result<Credentials, sqlx::Error> {
    let roles: String = row.try_get("roles")?;
    Ok(Credentials {
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        roles: roles.split_whitespace().map(str::to_owned).collect(),
    })
}

#[tracing::instrument(skip(pool))]
pub async fn credentials_by_username(
    pool: &AnyPool,
    username: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query(
        "SELECT user_id, username, password_hash, totp_secret, roles FROM credentials WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(credentials_from)
    .transpose()
}

#[tracing::instrument(skip(pool))]
pub async fn credentials_by_id(
    pool: &AnyPool,
    user_id: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query(
        "SELECT user_id, username, password_hash, totp_secret, roles FROM credentials WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(credentials_from)
    .transpose()
}

/// Inserts credentials unless the user already exists (seeding is safe to repeat).
#[tracing::instrument(skip(pool, credentials), fields(username = %credentials.username))]
pub async fn insert_credentials_if_absent(
    pool: &AnyPool,
    credentials: &Credentials,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credentials (user_id, username, password_hash, totp_secret, roles, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&credentials.user_id)
    .bind(&credentials.username)
    .bind(&credentials.password_hash)
    .bind(credentials.totp_secret.clone())
    .bind(credentials.roles.join(" "))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn insert_access_token(
    pool: &AnyPool,
    token_hash: &str,
    token: &StoredToken,
    issued_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, user_id, scope, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(&token.user_id)
    .bind(&token.scope)
    .bind(issued_at)
    .bind(token.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn access_token_by_hash(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<StoredToken>, sqlx::Error> {
    let row =
        sqlx::query("SELECT user_id, scope, expires_at FROM access_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
    row.map(|row| {
        Ok(StoredToken {
            user_id: row.try_get("user_id")?,
            scope: row.try_get("scope")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Forgets tokens that expired before `cutoff`. Run from time to time; correctness never depends
/// on it, since every lookup checks the expiry.
#[tracing::instrument(skip(pool))]
pub async fn delete_expired_tokens(pool: &AnyPool, cutoff: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM access_tokens WHERE expires_at < $1")
            .bind(cutoff)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
