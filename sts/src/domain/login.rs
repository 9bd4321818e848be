//! Login: the one place a password and a second factor are checked.
//!
//! Every failure, whatever its cause (no such user, wrong password, missing or wrong code), is the
//! same [`LoginError::Rejected`], and an unknown user costs the same Argon2id work as a known one:
//! the answer tells an attacker nothing about which usernames exist.

use secrecy::SecretString;
use sqlx::AnyPool;

use crate::domain::issue::scopes_for;
use crate::domain::opaque::OpaqueToken;
use crate::domain::password::{PasswordError, Passwords};
use crate::domain::totp;
use crate::storage::{self, StoredToken};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("username, password or one-time code is wrong")]
    Rejected,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a successful login hands the client.
#[derive(Debug)]
pub struct Issued {
    pub token: OpaqueToken,
    pub scope: String,
    pub expires_in: i64,
}

/// The login attempt as received; every field is unverified until [`login`] says otherwise.
#[derive(Debug)]
pub struct Attempt {
    pub unverified_username: String,
    pub unverified_password: SecretString,
    pub unverified_totp_code: Option<String>,
}

/// Checks the attempt and, if it holds, issues an opaque access token living `ttl_secs`.
pub async fn login(
    pool: &AnyPool,
    passwords: &Passwords,
    attempt: Attempt,
    now: i64,
    ttl_secs: i64,
) -> Result<Issued, LoginError> {
    let stored = storage::credentials_by_username(pool, &attempt.unverified_username).await?;
    let password_ok = passwords
        .verify(
            attempt.unverified_password,
            stored.as_ref().map(|c| c.password_hash.clone()),
        )
        .await?;
    let credentials = match stored {
        Some(credentials) if password_ok => credentials,
        _ => return Err(LoginError::Rejected),
    };
    if let Some(seed) = &credentials.totp_secret {
        let code = attempt.unverified_totp_code.as_deref().unwrap_or_default();
        if !totp::code_matches(seed, code) {
            return Err(LoginError::Rejected);
        }
    }
    let token = OpaqueToken::generate();
    let record = StoredToken {
        user_id: credentials.user_id,
        scope: scopes_for(&credentials.roles),
        expires_at: now + ttl_secs,
    };
    storage::insert_access_token(pool, &token.hash(), &record, now).await?;
    Ok(Issued {
        token,
        scope: record.scope,
        expires_in: ttl_secs,
    })
}
