//! SQL for sealing the stored secrets at start-up (`domain::sealing::at_rest`), on the
//! transaction's connection.

use sqlx::{AnyConnection, Row};

use crate::domain::sealing::Sealed;

/// `(user id, stored seed)` for every TOTP seed that does not start with `prefix`.
#[tracing::instrument(skip(conn))]
pub async fn totp_seeds_not_under(
    conn: &mut AnyConnection,
    prefix: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    // `substr` and not `LIKE`: key ids may hold `_`, a `LIKE` wildcard, and SQLite's `LIKE`
    // ignores case.
    let rows = sqlx::query(
        "SELECT user_id, totp_secret FROM credentials \
         WHERE totp_secret IS NOT NULL AND substr(totp_secret, 1, length($1)) <> $1 \
         ORDER BY user_id",
    )
    .bind(prefix)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("user_id")?, row.try_get("totp_secret")?)))
        .collect()
}

/// Replaces a user's seed, if it still is `old`.
#[tracing::instrument(skip(conn, old, new))]
pub async fn replace_totp_seed(
    conn: &mut AnyConnection,
    user_id: &str,
    old: &str,
    new: &Sealed,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE credentials SET totp_secret = $1 WHERE user_id = $2 AND totp_secret = $3",
    )
    .bind(new.as_str())
    .bind(user_id)
    .bind(old)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `(kid, stored private key)` for every signing key that does not start with `prefix`.
#[tracing::instrument(skip(conn))]
pub async fn signing_keys_not_under(
    conn: &mut AnyConnection,
    prefix: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kid, private_key FROM signing_keys \
         WHERE substr(private_key, 1, length($1)) <> $1 ORDER BY kid",
    )
    .bind(prefix)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("kid")?, row.try_get("private_key")?)))
        .collect()
}

/// Replaces a signing key's private half, if it still is `old`.
#[tracing::instrument(skip(conn, old, new))]
pub async fn replace_signing_key(
    conn: &mut AnyConnection,
    kid: &str,
    old: &str,
    new: &Sealed,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3")
            .bind(new.as_str())
            .bind(kid)
            .bind(old)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
