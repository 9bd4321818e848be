//! Password hashing with Argon2id at the OWASP-recommended parameters.
//!
//! Argon2id is deliberately slow and memory-hard, so two things matter here:
//! - hashing runs on the blocking thread pool, never on the async workers that serve requests;
//! - at most a few hashes run at once ([`MAX_CONCURRENT_HASHES`]): a login flood queues up here
//!   instead of eating every core and every megabyte the STS has;
//! - the queue is bounded too ([`MAX_WAITING_LOGINS`]): past it a login is refused at once
//!   ([`PasswordError::Busy`], a 503 with `Retry-After`) rather than left waiting behind a flood
//!   until its client gives up. This bound is the control [`Control::StsLoginQueueLimit`]; with it
//!   off in lab mode, every login waits for its turn however long the queue.
//!
//! When the username is unknown we still verify against a dummy hash, so an unknown user costs
//! the same time as a wrong password and the answer time does not reveal who has an account.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use baton_platform::{Control, Controls};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

/// OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB of memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// How many hashes may run at the same time.
pub const MAX_CONCURRENT_HASHES: usize = 2;
/// How many password checks may wait for one of those at the same time.
pub const MAX_WAITING_LOGINS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("the hashing task did not finish")]
    Task,
    /// Too many logins are already waiting for a hash: refused at once, try again shortly.
    #[error("too many logins are waiting")]
    Busy,
}

/// Hashes and verifies passwords, bounded in concurrency.
#[derive(Debug, Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Room to run or wait: [`MAX_CONCURRENT_HASHES`] plus [`MAX_WAITING_LOGINS`]; `None` with
    /// [`Control::StsLoginQueueLimit`] off.
    queue: Option<Arc<Semaphore>>,
    /// A hash of a random password, verified against when the user does not exist.
    dummy_hash: Arc<String>,
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .map_err(|err| PasswordError::Argon2(err.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl Passwords {
    pub async fn new(controls: &Controls) -> Result<Self, PasswordError> {
        let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_HASHES));
        let unguessable = SecretString::from(uuid::Uuid::new_v4().to_string());
        let dummy_hash = hash_blocking(&permits, unguessable).await?;
        let queue = controls
            .is_on(Control::StsLoginQueueLimit)
            .then(|| Arc::new(Semaphore::new(MAX_CONCURRENT_HASHES + MAX_WAITING_LOGINS)));
        Ok(Self {
            permits,
            queue,
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    /// A PHC-format Argon2id hash of `password`, with a fresh random salt.
    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        hash_blocking(&self.permits, password).await
    }

    /// Whether `password` matches `stored_hash`; with no stored hash (unknown user), the same
    /// work is done against the dummy hash and the answer is always no.
    pub async fn verify(
        &self,
        password: SecretString,
        stored_hash: Option<String>,
    ) -> Result<bool, PasswordError> {
        let user_exists = stored_hash.is_some();
        let hash = stored_hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let _place = match &self.queue {
            Some(queue) => Some(
                queue
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| PasswordError::Busy)?,
            ),
            None => None,
        };
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Task)?;
        let matches = tokio::task::spawn_blocking(move || -> Result<bool, PasswordError> {
            let parsed =
                PasswordHash::new(&hash).map_err(|err| PasswordError::Argon2(err.to_string()))?;
            Ok(argon2()?
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(|_| PasswordError::Task)??;
        Ok(user_exists && matches)
    }
}

async fn hash_blocking(
    permits: &Semaphore,
    password: SecretString,
) -> Result<String, PasswordError> {
    let _permit = permits.acquire().await.map_err(|_| PasswordError::Task)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()?
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| PasswordError::Argon2(err.to_string()))
    })
    .await
    .map_err(|_| PasswordError::Task)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_and_no_other() -> Result<(), PasswordError> {
        let passwords = Passwords::new(&Controls::enforcing()).await?;
        let hash = passwords.hash(SecretString::from("correct horse")).await?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify(SecretString::from("correct horse"), Some(hash.clone()))
                .await?
        );
        assert!(
            !passwords
                .verify(SecretString::from("wrong horse"), Some(hash))
                .await?
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() -> Result<(), PasswordError> {
        let passwords = Passwords::new(&Controls::enforcing()).await?;
        let held = passwords
            .queue
            .clone()
            .ok_or(PasswordError::Task)?
            .acquire_many_owned(
                u32::try_from(MAX_CONCURRENT_HASHES + MAX_WAITING_LOGINS).unwrap_or(u32::MAX),
            )
            .await
            .map_err(|_| PasswordError::Task)?;
        let refused = passwords.verify(SecretString::from("x"), None).await;
        assert!(matches!(refused, Err(PasswordError::Busy)));
        drop(held);
        assert!(!passwords.verify(SecretString::from("x"), None).await?);
        Ok(())
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() -> Result<(), PasswordError> {
        let passwords = Passwords::new(&Controls::enforcing()).await?;
        assert!(
            !passwords
                .verify(SecretString::from("anything"), None)
                .await?
        );
        Ok(())
    }
}
