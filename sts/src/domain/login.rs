//! Login: the one place a password and a second factor are checked.
//!
//! Every failure, whatever its cause (no such user, wrong password, wrong or replayed code), is the
//! same [`LoginError::Rejected`], and an unknown user costs the same Argon2id work as a known one:
//! the answer tells an attacker nothing about which usernames exist. Throttling happens before
//! either step (see [`crate::domain::throttle`]).

use baton_platform::{Control, Controls};
use secrecy::{ExposeSecret, SecretString};
use sqlx::AnyPool;

use crate::domain::password::{PasswordError, Passwords};
use crate::domain::sealing::{Binding, KeyProvider, SealingError};
use crate::domain::totp;
use crate::storage::{self, Credentials};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("username, password or one-time code is wrong")]
    Rejected,
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The stored seed does not open: never a rejection the user could retry past, always an
    /// internal error (and a start-up check catches it first; see `domain::sealing::at_rest`).
    #[error("the TOTP seed does not open: {0}")]
    Seed(#[from] SealingError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The first step: the user's credentials if `unverified_password` is theirs.
pub async fn check_password(
    pool: &AnyPool,
    passwords: &Passwords,
    unverified_username: &str,
    unverified_password: SecretString,
) -> Result<Credentials, LoginError> {
    let stored = storage::credentials_by_username(pool, unverified_username).await?;
    let password_ok = passwords
        .verify(
            unverified_password,
            stored.as_ref().map(|c| c.password_hash.clone()),
        )
        .await?;
    match stored {
        Some(credentials) if password_ok => Ok(credentials),
        _ => Err(LoginError::Rejected),
    }
}

/// Whether this user must pass a second factor (`sts.totp` switched off in lab mode: never).
pub fn needs_second_factor(controls: &Controls, credentials: &Credentials) -> bool {
    credentials.totp_secret.is_some() && controls.is_on(Control::StsTotp)
}

/// The second step: `unverified_code` must be one of the user's current codes, and not one
/// already spent (`sts.totp_replay`). The seed is opened with `sealer` for this check only.
pub async fn check_second_factor(
    pool: &AnyPool,
    sealer: &dyn KeyProvider,
    controls: &Controls,
    credentials: &Credentials,
    unverified_code: &str,
    now: i64,
) -> Result<(), LoginError> {
    let Some(sealed) = &credentials.totp_secret else {
        return Ok(());
    };
    let binding = Binding::TotpSeed {
        user_id: &credentials.user_id,
    };
    let seed = sealer.open_text(binding, sealed)?;
    let now = u64::try_from(now).unwrap_or(0);
    let step = totp::matching_step(seed.expose_secret(), unverified_code, now)
        .ok_or(LoginError::Rejected)?;
    let first_use = storage::spend_totp_step(pool, &credentials.user_id, step).await?;
    if !first_use && controls.is_on(Control::StsTotpReplay) {
        tracing::warn!(security_event = "totp_replayed", user_id = %credentials.user_id, "a one-time code was presented a second time");
        return Err(LoginError::Rejected);
    }
    Ok(())
}
