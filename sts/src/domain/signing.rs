//! The STS's signing keys, their rotation, and the JWKS that publishes their public halves.
//!
//! Ed25519 (`EdDSA`): small keys, fast signatures, no parameter choices to get wrong. The `kid` is
//! the key's RFC 7638 thumbprint, so it names the key itself and not a counter.
//!
//! A key's life, driven by [`Signer::rotate`] on a timer:
//! 1. **published**: created one rotation period before it signs, and in the JWKS from then on, so
//!    every verifier can know it before the first token it signs arrives;
//! 2. **signing**: from its `activate_at`, until the next key activates;
//! 3. **retired**: still published until every token it signed has expired (the successor has been
//!    signing for the longest token lifetime, plus a minute of clock skew), then deleted.
//!
//! Verifiers (`baton_token::jwks`) refetch the JWKS when a token names a `kid` they have not seen,
//! at most once per 10 s; a rotation period of at least that long therefore costs no failed
//! request. Keys are kept in the STS's own database (PKCS#8, base64), sealed under the sealing
//! key ([`crate::domain::sealing`], bound to their `kid`): every replica then signs with the same
//! key set, a restart invalidates nothing, and a copy of the database signs nothing. The rejected
//! alternative, a key file per process (as the development CA keeps its key), would give each
//! replica its own keys and need a shared volume to survive a pod's restart.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton_platform::time::now_unix;
use baton_token::Claims;
use baton_token::claims::USER_TOKEN_TYPE;
use baton_token::jwks::ed25519_jwk;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::OsRng;
use secrecy::ExposeSecret;
use secrecy::zeroize::Zeroizing;
use serde::Serialize;
use sqlx::AnyPool;

use crate::domain::sealing::{Binding, KeyProvider, LocalKeys, SealingError};
use crate::storage::{self, KeyRow};

/// Clock skew forgiven before a retired key's last tokens are taken to have expired.
const RETIREMENT_SKEW_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("could not generate the signing key: {0}")]
    KeyGeneration(String),
    #[error("a stored signing key does not decode: {0}")]
    KeyDecoding(String),
    #[error("a stored signing key belongs to another row: it is `{found}`, its row says `{row}`")]
    KidMismatch { row: String, found: String },
    #[error("there is no signing key")]
    NoKey,
    #[error(transparent)]
    Sealing(#[from] SealingError),
    #[error("could not sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// How often keys rotate, and how long the tokens they sign live.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    pub period: Duration,
    pub max_token_lifetime: Duration,
}

/// One key, ready to sign and to publish.
struct Key {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
    activate_at: i64,
}

/// Signs internal tokens with the key set's current key.
pub struct Signer {
    /// Sorted by `activate_at`. Swapped whole on rotation, so signing never waits for a lock.
    keys: ArcSwap<Vec<Key>>,
    /// Seals new keys before they are stored, and opens stored ones.
    sealer: Arc<dyn KeyProvider>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.keys.load().iter().map(|k| k.kid.clone()).collect();
        f.debug_struct("Signer")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with one freshly generated key that lives only in memory (unit tests).
    pub fn generate() -> Result<Self, SigningError> {
        let sealer: Arc<dyn KeyProvider> = Arc::new(
            LocalKeys::ephemeral().map_err(|err| SigningError::KeyGeneration(err.to_string()))?,
        );
        let row = new_key(0, sealer.as_ref())?;
        Ok(Self {
            keys: ArcSwap::from_pointee(vec![key_from(&row, sealer.as_ref())?]),
            sealer,
        })
    }

    /// The key set stored in `pool`, brought up to date first (created on the very first start);
    /// `sealer` seals the keys it stores and opens the stored ones.
    pub async fn load(
        pool: &AnyPool,
        policy: RotationPolicy,
        sealer: Arc<dyn KeyProvider>,
    ) -> Result<Self, SigningError> {
        let signer = Self {
            keys: ArcSwap::from_pointee(Vec::new()),
            sealer,
        };
        signer.rotate(pool, policy, now_unix()).await?;
        Ok(signer)
    }

    /// One rotation step: make sure a key signs now and the next one is already published, delete
    /// keys whose tokens have all expired, and reload the set from the database.
    pub async fn rotate(
        &self,
        pool: &AnyPool,
        policy: RotationPolicy,
        now: i64,
    ) -> Result<(), SigningError> {
        let period = i64::try_from(policy.period.as_secs()).unwrap_or(i64::MAX / 4);
        let lifetime = i64::try_from(policy.max_token_lifetime.as_secs()).unwrap_or(3600);
        let sealer = self.sealer.as_ref();
        let mut rows = storage::signing_keys(pool).await?;
        if rows.is_empty() {
            let first = new_key(now, sealer)?;
            storage::insert_signing_key(pool, &first, now).await?;
            rows.push(first);
        }
        if !rows.iter().any(|row| row.activate_at > now) {
            let next = new_key(now + period, sealer)?;
            storage::insert_signing_key(pool, &next, now).await?;
            tracing::info!(kid = %next.kid, activate_at = next.activate_at, "published the next signing key");
            rows.push(next);
        }
        rows.sort_by_key(|row| row.activate_at);
        for pair in rows.windows(2) {
            let (old, successor) = (&pair[0], &pair[1]);
            if successor.activate_at + lifetime + RETIREMENT_SKEW_SECS <= now {
                storage::delete_signing_key(pool, &old.kid).await?;
                tracing::info!(kid = %old.kid, "retired a signing key: every token it signed has expired");
            }
        }
        let keys = storage::signing_keys(pool)
            .await?
            .iter()
            .map(|row| key_from(row, sealer))
            .collect::<Result<Vec<_>, _>>()?;
        self.keys.store(Arc::new(keys));
        Ok(())
    }

    /// The `kid` of the key that signs now.
    pub fn kid(&self) -> Option<String> {
        let keys = self.keys.load();
        current(&keys, now_unix()).map(|key| key.kid.clone())
    }

    /// A user's internal token: a compact JWS of `claims`, with `alg: EdDSA`, `typ: JWT` and
    /// the current key's `kid`.
    pub fn sign(&self, claims: &Claims) -> Result<String, SigningError> {
        self.sign_typed(USER_TOKEN_TYPE, claims)
    }

    /// A compact JWS of `claims`, explicitly typed `typ` (RFC 8725 §3.11), with `alg: EdDSA`
    /// and the current key's `kid`.
    pub fn sign_typed<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, SigningError> {
        let keys = self.keys.load();
        let key = current(&keys, now_unix()).ok_or(SigningError::NoKey)?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_owned());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// The JWKS to publish: the public half of every key not yet retired, the next one included.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.load().iter().map(|key| key.jwk.clone()).collect(),
        }
    }
}

/// The key that signs at `now`: the latest already active (or, on a clock that went backwards,
/// the oldest).
fn current(keys: &[Key], now: i64) -> Option<&Key> {
    keys.iter()
        .rev()
        .find(|key| key.activate_at <= now)
        .or_else(|| keys.first())
}

fn new_key(activate_at: i64, sealer: &dyn KeyProvider) -> Result<KeyRow, SigningError> {
    let signing_key = SigningKey::generate(&mut OsRng);
    let der = signing_key
        .to_pkcs8_der()
        .map_err(|err| SigningError::KeyGeneration(err.to_string()))?;
    let kid = ed25519_jwk("", &signing_key.verifying_key().to_bytes())
        .thumbprint(ThumbprintHash::SHA256)?;
    let encoded = Zeroizing::new(STANDARD.encode(der.as_bytes()));
    let private_key = sealer.seal(Binding::SigningKey { kid: &kid }, encoded.as_bytes())?;
    Ok(KeyRow {
        kid,
        private_key,
        activate_at,
    })
}

fn key_from(row: &KeyRow, sealer: &dyn KeyProvider) -> Result<Key, SigningError> {
    let encoded = sealer.open_text(Binding::SigningKey { kid: &row.kid }, &row.private_key)?;
    let der = Zeroizing::new(
        STANDARD
            .decode(encoded.expose_secret())
            .map_err(|err| SigningError::KeyDecoding(err.to_string()))?,
    );
    let signing_key = SigningKey::from_pkcs8_der(&der)
        .map_err(|err| SigningError::KeyDecoding(err.to_string()))?;
    let public_key = signing_key.verifying_key().to_bytes();
    // The thumbprint covers only the key's required members, so the kid we add after computing it
    // does not change it.
    let kid = ed25519_jwk("", &public_key).thumbprint(ThumbprintHash::SHA256)?;
    if kid != row.kid {
        return Err(SigningError::KidMismatch {
            row: row.kid.clone(),
            found: kid,
        });
    }
    Ok(Key {
        jwk: ed25519_jwk(&kid, &public_key),
        encoding: EncodingKey::from_ed_der(&der),
        kid,
        activate_at: row.activate_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::AlgorithmParameters;

    #[test]
    fn the_jwks_publishes_the_public_key_under_the_kid() -> Result<(), SigningError> {
        let signer = Signer::generate()?;
        let jwks = signer.jwks();
        assert_eq!(jwks.keys.len(), 1);
        let jwk = &jwks.keys[0];
        assert_eq!(jwk.common.key_id, signer.kid());
        assert!(matches!(
            jwk.algorithm,
            AlgorithmParameters::OctetKeyPair(_)
        ));
        let json = serde_json::to_string(&jwks).unwrap_or_default();
        assert!(
            !json.contains("\"d\""),
            "the private key must never be published: {json}"
        );
        Ok(())
    }

    async fn pool(dir: &tempfile::TempDir) -> AnyPool {
        let url = format!("sqlite://{}", dir.path().join("sts.db").display());
        baton_platform::db::connect(&url, storage::MIGRATIONS)
            .await
            .unwrap_or_else(|err| unreachable!("the test database opens: {err}"))
    }

    fn sealer() -> Arc<dyn KeyProvider> {
        Arc::new(LocalKeys::ephemeral().unwrap_or_else(|err| unreachable!("a key: {err}")))
    }

    const POLICY: RotationPolicy = RotationPolicy {
        period: Duration::from_secs(100),
        max_token_lifetime: Duration::from_secs(300),
    };

    #[tokio::test]
    async fn the_next_key_is_published_before_it_signs_and_the_old_one_stays_until_its_tokens_expired()
    -> Result<(), SigningError> {
        let dir =
            tempfile::tempdir().map_err(|err| SigningError::KeyGeneration(err.to_string()))?;
        let pool = pool(&dir).await;
        let t0 = 1_000_000;
        let signer = Signer {
            keys: ArcSwap::from_pointee(Vec::new()),
            sealer: sealer(),
        };
        signer.rotate(&pool, POLICY, t0).await?;
        let first = current(&signer.keys.load(), t0).map(|k| k.kid.clone());
        assert_eq!(
            signer.jwks().keys.len(),
            2,
            "the signing key and the next one"
        );
        // The next key activates one period later; rotating then publishes the one after it.
        signer.rotate(&pool, POLICY, t0 + 100).await?;
        let second = current(&signer.keys.load(), t0 + 100).map(|k| k.kid.clone());
        assert_ne!(first, second);
        assert_eq!(signer.jwks().keys.len(), 3);
        // The first key's last token expires 300 s after the second started signing.
        signer.rotate(&pool, POLICY, t0 + 100 + 300).await?;
        let kids: Vec<_> = signer
            .jwks()
            .keys
            .iter()
            .filter_map(|k| k.common.key_id.clone())
            .collect();
        assert!(kids.contains(first.as_ref().unwrap_or(&String::new())));
        signer
            .rotate(&pool, POLICY, t0 + 100 + 300 + RETIREMENT_SKEW_SECS)
            .await?;
        let kids: Vec<_> = signer
            .jwks()
            .keys
            .iter()
            .filter_map(|k| k.common.key_id.clone())
            .collect();
        assert!(
            !kids.contains(first.as_ref().unwrap_or(&String::new())),
            "{kids:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_restarted_sts_signs_with_the_keys_it_had() -> Result<(), SigningError> {
        let dir =
            tempfile::tempdir().map_err(|err| SigningError::KeyGeneration(err.to_string()))?;
        let sealer = sealer();
        let before = Signer::load(&pool(&dir).await, POLICY, sealer.clone()).await?;
        let after = Signer::load(&pool(&dir).await, POLICY, sealer).await?;
        assert_eq!(before.kid(), after.kid());
        assert_eq!(before.jwks(), after.jwks());
        Ok(())
    }
}
