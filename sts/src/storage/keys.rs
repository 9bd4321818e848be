//! SQL for the signing keys.

use sqlx::{AnyPool, Row};

use crate::domain::sealing::Sealed;

/// A stored signing key: PKCS#8 DER, base64, sealed (`domain::sealing`); and when it starts
/// signing.
#[derive(Clone)]
pub struct KeyRow {
    pub kid: String,
    pub private_key: Sealed,
    pub activate_at: i64,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("activate_at", &self.activate_at)
            .finish_non_exhaustive()
    }
}

#[tracing::instrument(skip(pool))]
pub async fn signing_keys(pool: &AnyPool) -> Result<Vec<KeyRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kid, private_key, activate_at FROM signing_keys ORDER BY activate_at, kid",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(KeyRow {
                kid: row.try_get("kid")?,
                private_key: Sealed::stored(row.try_get("private_key")?),
                activate_at: row.try_get("activate_at")?,
            })
        })
        .collect()
}

#[tracing::instrument(skip(pool, key), fields(kid = %key.kid))]
pub async fn insert_signing_key(pool: &AnyPool, key: &KeyRow, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, activate_at, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&key.kid)
    .bind(key.private_key.as_str())
    .bind(key.activate_at)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip(pool))]
pub async fn delete_signing_key(pool: &AnyPool, kid: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
        .bind(kid)
        .execute(pool)
        .await?;
    Ok(())
}
