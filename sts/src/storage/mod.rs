//! The STS's SQL, one small instrumented function per statement.

use baton_platform::db::EmbeddedMigration;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::domain::sealing::Sealed;

mod clients;
mod demo;
mod grants;
mod keys;
mod sealing;

pub use clients::*;
pub use demo::*;
pub use grants::*;
pub use keys::*;
pub use sealing::*;

pub const MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (
        2,
        "authorization server",
        include_str!("../../migrations/0002_authorization_server.sql"),
    ),
    (
        3,
        "login code attempts",
        include_str!("../../migrations/0003_login_code_attempts.sql"),
    ),
    (
        4,
        "grant last issued",
        include_str!("../../migrations/0004_grant_last_issued.sql"),
    ),
];

/// A user's stored credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: String,
    pub username: String,
    pub password_hash: String,
    /// The TOTP seed, sealed (`domain::sealing`): only the second login step opens it.
    pub totp_secret: Option<Sealed>,
    pub roles: Vec<String>,
}

/// A stored opaque access token, by hash.
#[derive(Debug, Clone)]
pub struct StoredToken {
    /// The user it speaks for; for a client-credentials token, the client's id.
    pub user_id: String,
    pub scope: String,
    pub expires_at: i64,
}

/// Who an access token was issued to and where it came from (absent for tokens planted by tests
/// or issued before the authorization server existed).
#[derive(Debug, Clone, Default)]
pub struct TokenOrigin {
    pub client_id: Option<String>,
    pub grant_id: Option<String>,
    /// The token speaks for the client itself (client credentials), not for a user.
    pub for_client: bool,
}

/// An access token as introspection and the exchange see it.
#[derive(Debug, Clone)]
pub struct AccessTokenRecord {
    pub token: StoredToken,
    pub origin: TokenOrigin,
    pub issued_at: i64,
}

fn credentials_from(row: &AnyRow) -> Result<Credentials, sqlx::Error> {
    let roles: String = row.try_get("roles")?;
    Ok(Credentials {
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row
            .try_get::<Option<String>, _>("totp_secret")?
            .map(Sealed::stored),
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
    .bind(credentials.totp_secret.as_ref().map(|s| s.as_str().to_owned()))
    .bind(credentials.roles.join(" "))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores a token with no known origin (the test kit plants tokens this way).
#[tracing::instrument(skip_all)]
pub async fn insert_access_token(
    pool: &AnyPool,
    token_hash: &str,
    token: &StoredToken,
    issued_at: i64,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    insert_issued_access_token(
        &mut conn,
        token_hash,
        token,
        &TokenOrigin::default(),
        issued_at,
    )
    .await
}

/// Stores an issued access token, on `conn` (a transaction, when it is issued in a grant).
#[tracing::instrument(skip_all)]
pub async fn insert_issued_access_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    token: &StoredToken,
    origin: &TokenOrigin,
    issued_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, user_id, scope, issued_at, expires_at, client_id, grant_id, subject_type) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token_hash)
    .bind(&token.user_id)
    .bind(&token.scope)
    .bind(issued_at)
    .bind(token.expires_at)
    .bind(origin.client_id.clone())
    .bind(origin.grant_id.clone())
    .bind(if origin.for_client { "client" } else { "user" })
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn access_token_by_hash(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<StoredToken>, sqlx::Error> {
    Ok(access_token_record(pool, token_hash)
        .await?
        .map(|record| record.token))
}

#[tracing::instrument(skip_all)]
pub async fn access_token_record(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<AccessTokenRecord>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT user_id, scope, expires_at, issued_at, client_id, grant_id, subject_type \
         FROM access_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let subject_type: String = row.try_get("subject_type")?;
        Ok(AccessTokenRecord {
            token: StoredToken {
                user_id: row.try_get("user_id")?,
                scope: row.try_get("scope")?,
                expires_at: row.try_get("expires_at")?,
            },
            origin: TokenOrigin {
                client_id: row.try_get("client_id")?,
                grant_id: row.try_get("grant_id")?,
                for_client: subject_type == "client",
            },
            issued_at: row.try_get("issued_at")?,
        })
    })
    .transpose()
}

/// Deletes one access token (revocation of that token alone).
#[tracing::instrument(skip_all)]
pub async fn delete_access_token(pool: &AnyPool, token_hash: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// Forgets tokens, codes, logins and grants that expired before `cutoff`, and spent TOTP steps
/// too old to be accepted anyway. Run from time to time; correctness never depends on it, since
/// every lookup checks the expiry.
#[tracing::instrument(skip(pool))]
pub async fn delete_expired_tokens(pool: &AnyPool, cutoff: i64) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    for statement in [
        "DELETE FROM access_tokens WHERE expires_at < $1",
        "DELETE FROM refresh_tokens WHERE expires_at < $1",
        "DELETE FROM authorization_codes WHERE expires_at < $1",
        "DELETE FROM login_requests WHERE expires_at < $1",
        "DELETE FROM grants WHERE expires_at < $1",
    ] {
        deleted += sqlx::query(statement)
            .bind(cutoff)
            .execute(pool)
            .await?
            .rows_affected();
    }
    // A step is 30 s; ten minutes back is far outside any window a code is accepted in.
    deleted += sqlx::query("DELETE FROM totp_used_steps WHERE step < $1")
        .bind(cutoff / 30 - 20)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted)
}
