//! SQL for codes, grants, refresh tokens and spent TOTP steps. Every "use once" is a conditional
//! `UPDATE` (or an `INSERT … ON CONFLICT DO NOTHING`) whose row count says whether this caller was
//! first: no read-then-write race, on SQLite or PostgreSQL.

use sqlx::{AnyConnection, AnyPool, Row};

/// An authorization code, as stored.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub challenge_method: Option<String>,
    pub grant_id: String,
    pub expires_at: i64,
}

#[tracing::instrument(skip_all)]
pub async fn insert_code(
    pool: &AnyPool,
    code_hash: &str,
    code: &CodeRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, user_id, scope, code_challenge, challenge_method, grant_id, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(code_hash)
    .bind(&code.client_id)
    .bind(&code.redirect_uri)
    .bind(&code.user_id)
    .bind(&code.scope)
    .bind(code.code_challenge.clone())
    .bind(code.challenge_method.clone())
    .bind(&code.grant_id)
    .bind(code.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum Redemption {
    /// First use: the code is now spent and is ours to honour.
    First(CodeRow),
    /// The code was spent before: whatever it produced must be revoked, even if its first
    /// redemption has not made the grant yet.
    Replayed(CodeRow),
    Unknown,
}

/// Marks the code used, if nobody did before.
#[tracing::instrument(skip_all)]
pub async fn redeem_code(
    pool: &AnyPool,
    code_hash: &str,
    now: i64,
) -> Result<Redemption, sqlx::Error> {
    let first = sqlx::query(
        "UPDATE authorization_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL",
    )
    .bind(code_hash)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()
        == 1;
    let row = sqlx::query(
        "SELECT client_id, redirect_uri, user_id, scope, code_challenge, challenge_method, grant_id, expires_at \
         FROM authorization_codes WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(Redemption::Unknown);
    };
    let code = CodeRow {
        client_id: row.try_get("client_id")?,
        redirect_uri: row.try_get("redirect_uri")?,
        user_id: row.try_get("user_id")?,
        scope: row.try_get("scope")?,
        code_challenge: row.try_get("code_challenge")?,
        challenge_method: row.try_get("challenge_method")?,
        grant_id: row.try_get("grant_id")?,
        expires_at: row.try_get("expires_at")?,
    };
    Ok(if first {
        Redemption::First(code)
    } else {
        Redemption::Replayed(code)
    })
}

/// A grant: one client's authorization by one user.
#[derive(Debug, Clone)]
pub struct GrantRow {
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub expires_at: i64,
    pub revoked: bool,
}

/// Makes the grant a code's first redemption produced. If a replay of the code got there first
/// (see [`revoke_code_grant`]), the grant is already there, revoked, and stays so.
#[tracing::instrument(skip_all)]
pub async fn insert_grant(pool: &AnyPool, grant: &GrantRow, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO grants (grant_id, client_id, user_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (grant_id) DO NOTHING",
    )
    .bind(&grant.grant_id)
    .bind(&grant.client_id)
    .bind(&grant.user_id)
    .bind(&grant.scope)
    .bind(now)
    .bind(grant.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip(pool))]
pub async fn grant_by_id(pool: &AnyPool, grant_id: &str) -> Result<Option<GrantRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT grant_id, client_id, user_id, scope, expires_at, revoked_at FROM grants WHERE grant_id = $1",
    )
    .bind(grant_id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        Ok(GrantRow {
            grant_id: row.try_get("grant_id")?,
            client_id: row.try_get("client_id")?,
            user_id: row.try_get("user_id")?,
            scope: row.try_get("scope")?,
            expires_at: row.try_get("expires_at")?,
            revoked: revoked_at.is_some(),
        })
    })
    .transpose()
}

/// Revokes a grant: marks it, and deletes its refresh and access tokens, in one transaction. The
/// mark comes first, so the transaction holds the grant's row (see [`hold_grant`]) while it
/// deletes: tokens being issued beside it are either refused or committed before it deletes.
#[tracing::instrument(skip(pool))]
pub async fn revoke_grant(pool: &AnyPool, grant_id: &str, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    mark_revoked_and_delete_tokens(&mut tx, grant_id, now).await?;
    tx.commit().await
}

/// Revokes the grant a replayed code produced, whether or not its first redemption has made it
/// yet: a grant not there yet is made revoked, so the first redemption finds it so and issues
/// nothing (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
#[tracing::instrument(skip_all, fields(grant_id = %code.grant_id))]
pub async fn revoke_code_grant(
    pool: &AnyPool,
    code: &CodeRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO grants (grant_id, client_id, user_id, scope, created_at, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $5) ON CONFLICT (grant_id) DO NOTHING",
    )
    .bind(&code.grant_id)
    .bind(&code.client_id)
    .bind(&code.user_id)
    .bind(&code.scope)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    mark_revoked_and_delete_tokens(&mut tx, &code.grant_id, now).await?;
    tx.commit().await
}

async fn mark_revoked_and_delete_tokens(
    conn: &mut AnyConnection,
    grant_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE grants SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL")
        .bind(grant_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM refresh_tokens WHERE grant_id = $1")
        .bind(grant_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM access_tokens WHERE grant_id = $1")
        .bind(grant_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Holds `grant_id` for issuing tokens in it, inside the caller's transaction: true if the grant
/// stands (there, and not revoked). The `UPDATE` takes the grant's row lock on PostgreSQL (the
/// database's write lock on SQLite) until the transaction ends, and a revocation's first
/// statement needs the same lock: either the revocation commits first and this finds the grant
/// revoked, or it waits until the new tokens are committed and deletes them with the rest.
#[tracing::instrument(skip(conn))]
pub async fn hold_grant(
    conn: &mut AnyConnection,
    grant_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let held = sqlx::query(
        "UPDATE grants SET last_issued_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL",
    )
    .bind(grant_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(held.rows_affected() == 1)
}

/// Stores a new refresh token, on `conn` (the transaction that holds its grant).
#[tracing::instrument(skip_all)]
pub async fn insert_refresh_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    grant_id: &str,
    issued_at: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(grant_id)
    .bind(issued_at)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored refresh token.
#[derive(Debug, Clone)]
pub struct RefreshRow {
    pub grant_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used: bool,
}

#[tracing::instrument(skip_all)]
pub async fn refresh_token(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<RefreshRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT grant_id, issued_at, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let used_at: Option<i64> = row.try_get("used_at")?;
        Ok(RefreshRow {
            grant_id: row.try_get("grant_id")?,
            issued_at: row.try_get("issued_at")?,
            expires_at: row.try_get("expires_at")?,
            used: used_at.is_some(),
        })
    })
    .transpose()
}

/// Spends a refresh token. True if this call was the first to use it.
#[tracing::instrument(skip_all)]
pub async fn spend_refresh_token(
    pool: &AnyPool,
    token_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Records that `user_id` spent the TOTP code of `step`. False if it was spent before.
#[tracing::instrument(skip(pool))]
pub async fn spend_totp_step(
    pool: &AnyPool,
    user_id: &str,
    step: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO totp_used_steps (user_id, step) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(step)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}
