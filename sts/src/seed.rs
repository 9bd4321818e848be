//! The demo users' credentials, seeded in development mode only (see `baton_platform::demo`).

use baton_platform::{demo, time::now_unix};
use secrecy::SecretString;
use sqlx::AnyPool;

use crate::domain::password::{PasswordError, Passwords};
use crate::storage::{self, Credentials};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Inserts alice, bob and carol unless they exist. Hashes only for users that are missing, so a
/// restart does not pay for three Argon2id hashes.
pub async fn demo_users(pool: &AnyPool, passwords: &Passwords) -> Result<(), SeedError> {
    for user in demo::ALL {
        if storage::credentials_by_username(pool, user.username)
            .await?
            .is_some()
        {
            continue;
        }
        let credentials = Credentials {
            user_id: user.id.to_string(),
            username: user.username.to_owned(),
            password_hash: passwords.hash(SecretString::from(user.password)).await?,
            totp_secret: user.totp_seed.map(str::to_owned),
            roles: user.roles.iter().map(|role| (*role).to_owned()).collect(),
        };
        storage::insert_credentials_if_absent(pool, &credentials, now_unix()).await?;
    }
    tracing::info!("demo users seeded (development mode)");
    Ok(())
}
