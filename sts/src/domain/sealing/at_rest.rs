//! Start-up: every TOTP seed and signing key in the database sealed under the active key.
//!
//! An STS from before sealing stored both in plaintext; a key rotation leaves values sealed under
//! the previous key. [`seal_stored_secrets`] finds every value that does not start with the active
//! key's prefix, and in one transaction seals the plaintext ones and re-seals the others, which it
//! must first open: a value sealed under a key this STS was not given, or altered, or copied from
//! another row, stops the start (fail closed: it is never taken for plaintext, and never skipped).
//! Values already under the active key are left alone and checked when they are used.
//!
//! Each row is replaced only if it still holds what was read, so two replicas starting at once
//! cannot overwrite a seed that was changed in between.

use secrecy::ExposeSecret;
use sqlx::AnyPool;

use super::{Binding, KeyProvider, Sealed, SealingError, is_sealed};
use crate::storage;

/// Why the stored secrets could not be brought under the active key.
#[derive(Debug, thiserror::Error)]
pub enum AtRestError {
    #[error("{what}: {source}")]
    Secret {
        /// Which value, in words (`the TOTP seed of user `…``).
        what: String,
        #[source]
        source: SealingError,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What start-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Plaintext values, sealed now.
    pub sealed: usize,
    /// Values sealed under an older key, re-sealed under the active one.
    pub resealed: usize,
}

/// Seals the plaintext TOTP seeds and signing keys in `pool`, and re-seals those under an older
/// key, in one transaction. Nothing is written if any value fails to open.
pub async fn seal_stored_secrets(
    pool: &AnyPool,
    provider: &dyn KeyProvider,
) -> Result<Report, AtRestError> {
    let prefix = provider.active_prefix();
    let mut report = Report::default();
    let mut tx = pool.begin().await?;
    for (user_id, stored) in storage::totp_seeds_not_under(&mut tx, &prefix).await? {
        let binding = Binding::TotpSeed { user_id: &user_id };
        let resealed = reseal(provider, binding, &stored, &mut report).map_err(|source| {
            AtRestError::Secret {
                what: format!("the TOTP seed of user `{user_id}`"),
                source,
            }
        })?;
        storage::replace_totp_seed(&mut tx, &user_id, &stored, &resealed).await?;
    }
    for (kid, stored) in storage::signing_keys_not_under(&mut tx, &prefix).await? {
        let binding = Binding::SigningKey { kid: &kid };
        let resealed = reseal(provider, binding, &stored, &mut report).map_err(|source| {
            AtRestError::Secret {
                what: format!("the signing key `{kid}`"),
                source,
            }
        })?;
        storage::replace_signing_key(&mut tx, &kid, &stored, &resealed).await?;
    }
    tx.commit().await?;
    if report != Report::default() {
        tracing::info!(
            sealed = report.sealed,
            resealed = report.resealed,
            "sealed the stored secrets under the active key"
        );
    }
    Ok(report)
}

/// `stored` sealed under the active key: sealed as it is if it is plaintext, opened and sealed
/// again if it is sealed under another key.
fn reseal(
    provider: &dyn KeyProvider,
    binding: Binding<'_>,
    stored: &str,
    report: &mut Report,
) -> Result<Sealed, SealingError> {
    if !is_sealed(stored) {
        report.sealed += 1;
        return provider.seal(binding, stored.as_bytes());
    }
    let opened = provider.open(binding, &Sealed::stored(stored.to_owned()))?;
    report.resealed += 1;
    provider.seal(binding, opened.expose_secret())
}
