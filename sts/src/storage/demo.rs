//! Taking demo users and clients out again, with everything issued to them.

use sqlx::AnyPool;

/// Deletes the user `user_id`'s credentials and everything the STS issued to them (grants with
/// their refresh tokens, codes, access tokens, pending logins, spent TOTP steps), in one
/// transaction. True if there were credentials to delete.
#[tracing::instrument(skip(pool))]
pub async fn delete_user(pool: &AnyPool, user_id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    for statement in [
        "DELETE FROM refresh_tokens WHERE grant_id IN (SELECT grant_id FROM grants WHERE user_id = $1)",
        "DELETE FROM grants WHERE user_id = $1",
        "DELETE FROM authorization_codes WHERE user_id = $1",
        "DELETE FROM access_tokens WHERE user_id = $1",
        "DELETE FROM login_requests WHERE user_id = $1",
        "DELETE FROM totp_used_steps WHERE user_id = $1",
    ] {
        sqlx::query(statement)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    let credentials = sqlx::query("DELETE FROM credentials WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(credentials.rows_affected() == 1)
}

/// Deletes the client `client_id`'s registration and everything issued to it, in one
/// transaction. True if the client was registered.
#[tracing::instrument(skip(pool))]
pub async fn delete_client(pool: &AnyPool, client_id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    for statement in [
        "DELETE FROM refresh_tokens WHERE grant_id IN (SELECT grant_id FROM grants WHERE client_id = $1)",
        "DELETE FROM grants WHERE client_id = $1",
        "DELETE FROM authorization_codes WHERE client_id = $1",
        "DELETE FROM access_tokens WHERE client_id = $1",
        "DELETE FROM login_requests WHERE client_id = $1",
    ] {
        sqlx::query(statement)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
    }
    let client = sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(client.rows_affected() == 1)
}
