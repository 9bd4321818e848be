//! Taking demo users and clients out again, with everything issued to them.

use sqlx::AnyPool;

/// Deletes the user `user_id`'s credentials and everything the STS issued to them (grants with
/// their refresh tokens, codes, access tokens, pending logins, spent TOTP steps), in one
/// transaction. True if there were credentials to delete.
#[tracing::instrument(skip(pool))]
pub async fn delete_user(pool: &AnyPool, user_id: &str) -> Result<bool, sqlx::Error> {
    delete_with_what_hangs_off(
        pool,
        user_id,
        &[
            "DELETE FROM refresh_tokens WHERE grant_id IN (SELECT grant_id FROM grants WHERE user_id = $1)",
            "DELETE FROM grants WHERE user_id = $1",
            "DELETE FROM authorization_codes WHERE user_id = $1",
            "DELETE FROM access_tokens WHERE user_id = $1",
            "DELETE FROM login_requests WHERE user_id = $1",
            "DELETE FROM totp_used_steps WHERE user_id = $1",
        ],
        "DELETE FROM credentials WHERE user_id = $1",
    )
    .await
}

/// Deletes the client `client_id`'s registration and everything issued to it, in one
/// transaction. True if the client was registered.
#[tracing::instrument(skip(pool))]
pub async fn delete_client(pool: &AnyPool, client_id: &str) -> Result<bool, sqlx::Error> {
    delete_with_what_hangs_off(
        pool,
        client_id,
        &[
            "DELETE FROM refresh_tokens WHERE grant_id IN (SELECT grant_id FROM grants WHERE client_id = $1)",
            "DELETE FROM grants WHERE client_id = $1",
            "DELETE FROM authorization_codes WHERE client_id = $1",
            "DELETE FROM access_tokens WHERE client_id = $1",
            "DELETE FROM login_requests WHERE client_id = $1",
        ],
        "DELETE FROM oauth_clients WHERE client_id = $1",
    )
    .await
}

/// Runs `dependents`, then `owner`, each with `id` as `$1`, in one transaction. True if `owner`
/// deleted its row.
async fn delete_with_what_hangs_off(
    pool: &AnyPool,
    id: &str,
    dependents: &[&'static str],
    owner: &'static str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    for statement in dependents {
        sqlx::query(*statement).bind(id).execute(&mut *tx).await?;
    }
    let owned = sqlx::query(owner).bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(owned.rows_affected() == 1)
}
