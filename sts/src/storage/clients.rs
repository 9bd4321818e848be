//! SQL for registered clients and logins in progress.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// A registered client, as stored.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub client_id: String,
    pub auth_method: String,
    pub secret_hash: Option<String>,
    pub tls_san_uri: Option<String>,
    pub redirect_uris: String,
    pub grant_types: String,
    pub scope: String,
}

/// Inserts or refreshes a client registration (seeding is safe to repeat).
#[tracing::instrument(skip(pool, client), fields(client_id = %client.client_id))]
pub async fn upsert_client(
    pool: &AnyPool,
    client: &ClientRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_clients (client_id, auth_method, secret_hash, tls_san_uri, redirect_uris, grant_types, scope, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (client_id) DO UPDATE SET auth_method = excluded.auth_method, secret_hash = excluded.secret_hash, \
         tls_san_uri = excluded.tls_san_uri, redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types, \
         scope = excluded.scope",
    )
    .bind(&client.client_id)
    .bind(&client.auth_method)
    .bind(client.secret_hash.clone())
    .bind(client.tls_san_uri.clone())
    .bind(&client.redirect_uris)
    .bind(&client.grant_types)
    .bind(&client.scope)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

fn client_from(row: &AnyRow) -> Result<ClientRow, sqlx::Error> {
    Ok(ClientRow {
        client_id: row.try_get("client_id")?,
        auth_method: row.try_get("auth_method")?,
        secret_hash: row.try_get("secret_hash")?,
        tls_san_uri: row.try_get("tls_san_uri")?,
        redirect_uris: row.try_get("redirect_uris")?,
        grant_types: row.try_get("grant_types")?,
        scope: row.try_get("scope")?,
    })
}

#[tracing::instrument(skip(pool))]
pub async fn client_by_id(
    pool: &AnyPool,
    client_id: &str,
) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query(
        "SELECT client_id, auth_method, secret_hash, tls_san_uri, redirect_uris, grant_types, scope \
         FROM oauth_clients WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(client_from)
    .transpose()
}

/// The `tls_client_auth` client whose certificate carries `san_uri`.
#[tracing::instrument(skip(pool))]
pub async fn client_by_san_uri(
    pool: &AnyPool,
    san_uri: &str,
) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query(
        "SELECT client_id, auth_method, secret_hash, tls_san_uri, redirect_uris, grant_types, scope \
         FROM oauth_clients WHERE auth_method = 'tls_client_auth' AND tls_san_uri = $1",
    )
    .bind(san_uri)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(client_from)
    .transpose()
}

/// A login in progress.
#[derive(Debug, Clone)]
pub struct LoginRequestRow {
    pub binding_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub challenge_method: Option<String>,
    /// Set once the password step passed and a second factor is due.
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub expires_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn insert_login_request(
    pool: &AnyPool,
    request_hash: &str,
    request: &LoginRequestRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_requests (request_hash, binding_hash, client_id, redirect_uri, scope, state, code_challenge, challenge_method, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(request_hash)
    .bind(&request.binding_hash)
    .bind(&request.client_id)
    .bind(&request.redirect_uri)
    .bind(&request.scope)
    .bind(request.state.clone())
    .bind(request.code_challenge.clone())
    .bind(request.challenge_method.clone())
    .bind(request.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn login_request(
    pool: &AnyPool,
    request_hash: &str,
) -> Result<Option<LoginRequestRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT binding_hash, client_id, redirect_uri, scope, state, code_challenge, challenge_method, user_id, username, expires_at \
         FROM login_requests WHERE request_hash = $1",
    )
    .bind(request_hash)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(LoginRequestRow {
            binding_hash: row.try_get("binding_hash")?,
            client_id: row.try_get("client_id")?,
            redirect_uri: row.try_get("redirect_uri")?,
            scope: row.try_get("scope")?,
            state: row.try_get("state")?,
            code_challenge: row.try_get("code_challenge")?,
            challenge_method: row.try_get("challenge_method")?,
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Records that the password step passed for `user_id`; the second factor is next.
#[tracing::instrument(skip_all)]
pub async fn login_request_password_passed(
    pool: &AnyPool,
    request_hash: &str,
    user_id: &str,
    username: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE login_requests SET user_id = $2, username = $3 WHERE request_hash = $1 AND user_id IS NULL",
    )
    .bind(request_hash)
    .bind(user_id)
    .bind(username)
    .execute(pool)
    .await?;
    Ok(())
}

/// Takes one of the login's `max` second-factor attempts, before the code is checked, so that
/// parallel guesses on one handle cannot outrun the count. False if none is left (or the login is
/// gone): the caller ends the login.
#[tracing::instrument(skip_all)]
pub async fn take_code_attempt(
    pool: &AnyPool,
    request_hash: &str,
    max: i32,
) -> Result<bool, sqlx::Error> {
    let taken = sqlx::query(
        "UPDATE login_requests SET code_attempts = code_attempts + 1 \
         WHERE request_hash = $1 AND code_attempts < $2",
    )
    .bind(request_hash)
    .bind(max)
    .execute(pool)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// Ends a login (it produced a code, or it is abandoned). True if this call ended it.
#[tracing::instrument(skip_all)]
pub async fn delete_login_request(pool: &AnyPool, request_hash: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM login_requests WHERE request_hash = $1")
            .bind(request_hash)
            .execute(pool)
            .await?
            .rows_affected()
            == 1,
    )
}
