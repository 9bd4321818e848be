//! The STS's published signing keys, cached by `kid`.
//!
//! A service fetches the JWKS on its first token and again whenever a token names a `kid` it has
//! not seen: that is how a key rotation at the STS reaches every service with no failed request.
//! Refreshes are rate-limited (one per `min_refresh_interval`), so an attacker sending tokens with
//! made-up `kid`s cannot turn every request into a call to the STS.
//!
//! Known keys age too: a set older than [`MAX_AGE`] is fetched again on the next token, so a key
//! the STS stopped publishing (retired, or removed because it leaked) stops being trusted within
//! minutes, not at the next restart. While the STS cannot be reached the last set keeps working
//! for at most [`MAX_STALENESS`]; after that nothing verifies until a fetch succeeds (fail
//! closed). A failed fetch may be retried after [`RETRY_AFTER_FAILURE`], not a whole refresh
//! interval later, so one failure at start-up does not refuse every token for the interval.

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

/// A fetched set older than this is fetched again on the next token.
pub const MAX_AGE: Duration = Duration::from_secs(300);
/// The last fetched set is trusted at most this long while no fetch succeeds.
pub const MAX_STALENESS: Duration = Duration::from_secs(3600);
/// After a failed fetch, the next may come this soon (the refresh interval still bounds fetches
/// that succeed).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// The keys we trust, by `kid`, and when we last asked for them.
#[derive(Debug)]
pub struct JwksCache {
    /// Where to fetch the keys, and the client to fetch them with; `None` for a fixed set given
    /// at construction.
    remote: Option<(String, reqwest::Client)>,
    min_refresh_interval: Duration,
    ages: Ages,
    keys: RwLock<KeySet>,
    /// Held while fetching, so concurrent misses cause one fetch, not one each.
    last_fetch: Mutex<Option<Attempt>>,
}

/// How long fetched keys are trusted: [`MAX_AGE`], [`MAX_STALENESS`], [`RETRY_AFTER_FAILURE`]
/// (shorter in tests).
#[derive(Debug, Clone, Copy)]
struct Ages {
    max_age: Duration,
    max_staleness: Duration,
    retry_after_failure: Duration,
}

impl Default for Ages {
    fn default() -> Self {
        Self {
            max_age: MAX_AGE,
            max_staleness: MAX_STALENESS,
            retry_after_failure: RETRY_AFTER_FAILURE,
        }
    }
}

/// The keys of the last successful fetch, and when it was.
#[derive(Debug, Default)]
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    /// `None`: never fetched, or fixed at construction (which never ages).
    fetched_at: Option<Instant>,
}

impl KeySet {
    /// The key for `kid` if it is known and the set is no older than `max_age`.
    fn get(&self, kid: &str, max_age: Duration) -> Option<DecodingKey> {
        let young = self.fetched_at.is_none_or(|at| at.elapsed() < max_age);
        young.then(|| self.keys.get(kid).cloned()).flatten()
    }
}

/// The last fetch: when, and whether it worked.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    at: Instant,
    succeeded: bool,
}

impl JwksCache {
    pub fn new(url: String, client: reqwest::Client, min_refresh_interval: Duration) -> Self {
        Self {
            remote: Some((url, client)),
            min_refresh_interval,
            ages: Ages::default(),
            keys: RwLock::new(KeySet::default()),
            last_fetch: Mutex::new(None),
        }
    }

    /// A fixed set of keys that is never refreshed: for tests, and for verifiers whose keys are
    /// configured rather than fetched.
    pub fn fixed(set: &JwkSet) -> Self {
        Self {
            remote: None,
            min_refresh_interval: Duration::MAX,
            ages: Ages::default(),
            keys: RwLock::new(KeySet {
                keys: usable_keys(set),
                fetched_at: None,
            }),
            last_fetch: Mutex::new(None),
        }
    }

    /// The key for `kid`, fetching the JWKS if `kid` is unknown or the set has aged past
    /// [`MAX_AGE`], as often as the refresh interval allows.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let ages = self.ages;
        if let Some(key) = self.keys.read().await.get(kid, ages.max_age) {
            return Ok(key);
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // Another task may have refreshed while we waited for the lock.
        if let Some(key) = self.keys.read().await.get(kid, ages.max_age) {
            return Ok(key);
        }
        let may_fetch = self.remote.is_some()
            && last_fetch.is_none_or(|last| {
                let wait = if last.succeeded {
                    self.min_refresh_interval
                } else {
                    ages.retry_after_failure.min(self.min_refresh_interval)
                };
                last.at.elapsed() >= wait
            });
        let mut failure = None;
        if may_fetch {
            let fetched = self.fetch().await;
            *last_fetch = Some(Attempt {
                at: Instant::now(),
                succeeded: fetched.is_ok(),
            });
            match fetched {
                Ok(keys) => {
                    *self.keys.write().await = KeySet {
                        keys,
                        fetched_at: Some(Instant::now()),
                    };
                }
                Err(err) => failure = Some(err),
            }
        }
        // What we hold now, fresh or (while the STS cannot be reached) stale within bounds.
        if let Some(key) = self.keys.read().await.get(kid, ages.max_staleness) {
            return Ok(key);
        }
        Err(failure.unwrap_or(TokenError::UnknownKey))
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::Router;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;

    use super::*;

    /// What the fake STS publishes: a set, or (None) a 503.
    #[derive(Clone, Default)]
    struct Published {
        set: Arc<std::sync::Mutex<Option<JwkSet>>>,
        served: Arc<AtomicU32>,
    }

    impl Published {
        fn publish(&self, kids: &[&str]) {
            let keys = kids.iter().map(|kid| ed25519_jwk(kid, &[7; 32])).collect();
            if let Ok(mut set) = self.set.lock() {
                *set = Some(JwkSet { keys });
            }
        }

        fn go_down(&self) {
            if let Ok(mut set) = self.set.lock() {
                *set = None;
            }
        }
    }

    async fn jwks(State(published): State<Published>) -> Response {
        published.served.fetch_add(1, Ordering::SeqCst);
        let set = published.set.lock().ok().and_then(|set| set.clone());
        match set {
            Some(set) => axum::Json(set).into_response(),
            None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }

    /// A cache fetching from a fake STS on loopback, with the given ages.
    async fn cache(ages: Ages, min_refresh_interval: Duration) -> (JwksCache, Published) {
        let published = Published::default();
        let router = Router::new()
            .route("/jwks", get(jwks))
            .with_state(published.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}/jwks", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        let mut cache = JwksCache::new(url, reqwest::Client::new(), min_refresh_interval);
        cache.ages = ages;
        (cache, published)
    }

    const SHORT: Ages = Ages {
        max_age: Duration::from_millis(100),
        max_staleness: Duration::from_millis(400),
        retry_after_failure: Duration::from_millis(50),
    };

    #[tokio::test]
    async fn a_key_the_sts_stopped_publishing_stops_verifying_once_the_set_has_aged() {
        let (cache, published) = cache(SHORT, Duration::ZERO).await;
        published.publish(&["k1"]);
        assert!(cache.key("k1").await.is_ok());
        published.publish(&["k2"]);
        assert!(
            cache.key("k1").await.is_ok(),
            "a young set is not fetched again"
        );
        tokio::time::sleep(SHORT.max_age).await;
        assert!(matches!(cache.key("k1").await, Err(TokenError::UnknownKey)));
        assert!(cache.key("k2").await.is_ok());
    }

    #[tokio::test]
    async fn a_failed_fetch_is_retried_soon_whatever_the_refresh_interval() {
        let (cache, published) = cache(SHORT, Duration::from_secs(3600)).await;
        published.go_down();
        assert!(matches!(
            cache.key("k1").await,
            Err(TokenError::KeysUnavailable)
        ));
        published.publish(&["k1"]);
        tokio::time::sleep(SHORT.retry_after_failure).await;
        assert!(cache.key("k1").await.is_ok(), "retried after a failure");
        // A fetch that worked waits the whole interval before the next, unknown kids or not.
        let served = published.served.load(Ordering::SeqCst);
        assert!(matches!(cache.key("k9").await, Err(TokenError::UnknownKey)));
        assert_eq!(published.served.load(Ordering::SeqCst), served);
    }

    #[tokio::test]
    async fn while_the_sts_is_down_known_keys_work_for_a_bounded_time_then_nothing_does() {
        let (cache, published) = cache(SHORT, Duration::ZERO).await;
        published.publish(&["k1"]);
        assert!(cache.key("k1").await.is_ok());
        published.go_down();
        tokio::time::sleep(SHORT.max_age).await;
        assert!(
            cache.key("k1").await.is_ok(),
            "stale but within bounds while the STS cannot be reached"
        );
        tokio::time::sleep(SHORT.max_staleness).await;
        assert!(matches!(
            cache.key("k1").await,
            Err(TokenError::KeysUnavailable)
        ));
    }
}
