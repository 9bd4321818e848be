//! The STS's published signing keys, cached by `kid`.
//!
//! A service fetches the JWKS on its first token and again whenever a token names a `kid` it has
//! not seen: that is how a key rotation at the STS reaches every service with no failed request.
//! Refreshes are rate-limited (one per `min_refresh_interval`), so an attacker sending tokens with
//! made-up `kid`s cannot turn every request into a call to the STS.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use tokio::sync::{Mutex, RwLock};

use crate::verifier::TokenError;

/// The keys we trust, by `kid`, and when we last asked for them.
#[derive(Debug)]
pub struct JwksCache {
    /// Where to fetch the keys, and the client to fetch them with; `None` for a fixed set given
    /// at construction.
    remote: Option<(String, reqwest::Client)>,
    min_refresh_interval: Duration,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// Held while fetching, so concurrent misses cause one fetch, not one each.
    last_fetch: Mutex<Option<Instant>>,
}

impl JwksCache {
    pub fn new(url: String, client: reqwest::Client, min_refresh_interval: Duration) -> Self {
        Self {
            remote: Some((url, client)),
            min_refresh_interval,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
        }
    }

    /// A fixed set of keys that is never refreshed: for tests, and for verifiers whose keys are
    /// configured rather than fetched.
    pub fn fixed(set: &JwkSet) -> Self {
        Self {
            remote: None,
            min_refresh_interval: Duration::MAX,
            keys: RwLock::new(usable_keys(set)),
            last_fetch: Mutex::new(None),
        }
    }

    /// The key for `kid`, fetching the JWKS if it is unknown and the last fetch is old enough.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(key.clone());
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // Another task may have refreshed while we waited for the lock.
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(key.clone());
        }
        let may_refresh = last_fetch.is_none_or(|at| at.elapsed() >= self.min_refresh_interval);
        if !may_refresh {
            return Err(TokenError::UnknownKey);
        }
        *last_fetch = Some(Instant::now());
        let fresh = self.fetch().await?;
        let key = fresh.get(kid).cloned();
        *self.keys.write().await = fresh;
        key.ok_or(TokenError::UnknownKey)
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, TokenError> {
        let Some((url, client)) = &self.remote else {
            return Err(TokenError::UnknownKey);
        };
        let response = client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| {
                tracing::error!(error = %err, %url, "could not fetch the JWKS");
                TokenError::KeysUnavailable
            })?;
        let set: JwkSet = response.json().await.map_err(|err| {
            tracing::error!(error = %err, "the JWKS does not parse");
            TokenError::KeysUnavailable
        })?;
        Ok(usable_keys(&set))
    }
}

/// The Ed25519 signing keys of `set`, by `kid`. Anything else is skipped: we verify EdDSA only,
/// and a key of another type under a known `kid` is how algorithm-confusion attacks begin.
fn usable_keys(set: &JwkSet) -> HashMap<String, DecodingKey> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let AlgorithmParameters::OctetKeyPair(params) = &jwk.algorithm else {
                return None;
            };
            let is_signing = matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            );
            let is_eddsa = matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::EdDSA));
            // An Ed25519 public key is exactly 32 bytes; checking here also keeps a short `x`
            // from ever reaching the verifier.
            let is_ed25519 = params.curve == EllipticCurve::Ed25519
                && URL_SAFE_NO_PAD
                    .decode(&params.x)
                    .is_ok_and(|x| x.len() == 32);
            if !(is_signing && is_eddsa && is_ed25519) {
                tracing::warn!(%kid, "skipping a JWKS key that is not an Ed25519 signing key");
                return None;
            }
            DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
        })
        .collect()
}

/// The JWK (RFC 8037) that publishes an Ed25519 public key under `kid`, for signing only.
pub fn ed25519_jwk(kid: &str, public_key: &[u8; 32]) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(kid.to_owned()),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(public_key),
        }),
    }
}
