//! Which token a service presents when it calls the next hop: the trust-mode seam.
//!
//! - **E2E mode**: "the one you were given". The internal token travels unchanged down the whole
//!   chain, and each hop verifies it again.
//! - **Exchange mode**: "a new one, from the STS, addressed only to the next hop". The service
//!   trades the token it received (the subject token) at the STS's token endpoint, authenticated
//!   by its own mTLS certificate (the actor), for a token whose audience is the next service alone,
//!   whose scopes are only what the call needs, whose `act` claim records this service in the
//!   delegation chain, and which is bound to this service's certificate.
//!
//! Exchanged tokens are cached per (subject token, audience, scope) until shortly before they
//! expire, so steady traffic does not ask the STS on every call. Callers do not know which mode
//! they are in: they ask [`NextHop::token_for`].
//!
//! A cached token is bound to the certificate this workload presented when it was exchanged, and
//! the next hop accepts it only over a connection presenting that certificate. So a `NextHop` is
//! built, with its cache, for one certificate generation, from the STS client of that generation
//! (`baton_workload::Generations`): its tokens go out only on that generation's connections, and
//! when the certificate rotates, the next generation's `NextHop` starts with an empty cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_platform::TrustMode;
use moka::Expiry;
use moka::future::Cache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::verifier::Principal;

/// How long before its expiry an exchanged token stops being used.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// At most this many exchanged tokens are cached.
const CACHE_CAPACITY: u64 = 100_000;
const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// Why no token could be had for the next hop.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OnwardError {
    /// The STS refused the exchange (the policy does not allow this hop, or the subject token is
    /// no longer valid).
    #[error("the STS refused the exchange: {0}")]
    Refused(String),
    /// The STS could not be reached, or answered something unexpected.
    #[error("the STS is unavailable")]
    Unavailable,
}

/// A token for the next hop, and until when to use it.
#[derive(Debug)]
struct Exchanged {
    jwt: Arc<str>,
    use_until: Instant,
}

struct UntilUseBy;

impl Expiry<CacheKey, Arc<Exchanged>> for UntilUseBy {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        token: &Arc<Exchanged>,
        now: Instant,
    ) -> Option<Duration> {
        Some(token.use_until.saturating_duration_since(now))
    }
}

/// (SHA-256 of the subject token, audience, scope).
type CacheKey = ([u8; 32], String, String);

/// Gets the token to present to the next hop, in whichever mode the platform runs.
#[derive(Clone)]
pub struct NextHop {
    mode: TrustMode,
    exchange: Option<Arc<Exchanger>>,
}

impl std::fmt::Debug for NextHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextHop")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

struct Exchanger {
    /// A mutual-TLS client that accepts only the STS's certificate and presents our own.
    http: reqwest::Client,
    token_url: String,
    /// Our client id at the STS (`tls_client_auth`): the workload's name.
    client_id: String,
    cache: Cache<CacheKey, Arc<Exchanged>>,
}

/// The STS's answer to a token request (RFC 6749 §5.1; an exchange's, RFC 8693 §2.2.1).
#[derive(Deserialize)]
struct ExchangeAnswer {
    access_token: String,
    expires_in: u64,
}

/// An RFC 6749 §5.2 error answer.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

impl NextHop {
    /// E2E mode: the token a request arrived with goes on unchanged.
    pub fn e2e() -> Self {
        Self {
            mode: TrustMode::E2e,
            exchange: None,
        }
    }

    /// The seam for `mode`: in exchange mode, exchanges at `sts_base_url` with `sts_client` (which
    /// must present this workload's certificate, the same one as the clients the tokens will go
    /// out on: build both in one generation), as client `client_id`.
    pub fn new(
        mode: TrustMode,
        sts_client: reqwest::Client,
        sts_base_url: &str,
        client_id: &str,
    ) -> Self {
        match mode {
            TrustMode::E2e => Self::e2e(),
            TrustMode::Exchange => Self {
                mode,
                exchange: Some(Arc::new(Exchanger {
                    http: sts_client,
                    token_url: format!("{sts_base_url}/oauth2/token"),
                    client_id: client_id.to_owned(),
                    cache: Cache::builder()
                        .max_capacity(CACHE_CAPACITY)
                        .expire_after(UntilUseBy)
                        .build(),
                })),
            },
        }
    }

    pub fn mode(&self) -> TrustMode {
        self.mode
    }

    /// The bearer token to present to `audience` (a workload's SPIFFE ID) on behalf of
    /// `principal`, for a call that needs `scope`.
    pub async fn token_for(
        &self,
        principal: &Principal,
        audience: &str,
        scope: &str,
    ) -> Result<Arc<str>, OnwardError> {
        let Some(exchanger) = &self.exchange else {
            return Ok(Arc::from(principal.token()));
        };
        let subject = principal.token();
        let key: CacheKey = (
            Sha256::digest(subject.as_bytes()).into(),
            audience.to_owned(),
            scope.to_owned(),
        );
        let exchanged = exchanger
            .cache
            .try_get_with(key, exchanger.exchange(subject, audience, scope))
            .await
            .map_err(|err| (*err).clone())?;
        Ok(exchanged.jwt.clone())
    }
}

impl Exchanger {
    async fn exchange(
        &self,
        subject: &str,
        audience: &str,
        scope: &str,
    ) -> Result<Arc<Exchanged>, OnwardError> {
        let form = [
            ("grant_type", GRANT_TOKEN_EXCHANGE),
            ("client_id", self.client_id.as_str()),
            ("subject_token", subject),
            ("subject_token_type", TOKEN_TYPE_JWT),
            ("requested_token_type", TOKEN_TYPE_JWT),
            ("audience", audience),
            ("scope", scope),
        ];
        let (jwt, expires_in) = token_request(&self.http, &self.token_url, &form).await?;
        let lifetime = Duration::from_secs(expires_in).saturating_sub(EXPIRY_MARGIN);
        Ok(Arc::new(Exchanged {
            jwt: Arc::from(jwt),
            use_until: Instant::now() + lifetime,
        }))
    }
}

/// Posts `form` to the STS's token endpoint at `token_url` and returns the token it issued and
/// its lifetime in seconds. A 400 or 401 is a refusal (its RFC 6749 §5.2 error code kept);
/// anything else that is not a success, the STS being unavailable.
pub(crate) async fn token_request(
    http: &reqwest::Client,
    token_url: &str,
    form: &[(&str, &str)],
) -> Result<(String, u64), OnwardError> {
    let answer = http
        .post(token_url)
        .headers(baton_api::request_id::headers())
        .form(form)
        .send()
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "token request: STS unreachable");
            OnwardError::Unavailable
        })?;
    let status = answer.status();
    if status == reqwest::StatusCode::BAD_REQUEST || status == reqwest::StatusCode::UNAUTHORIZED {
        let error = answer
            .json::<ErrorAnswer>()
            .await
            .map(|e| e.error)
            .unwrap_or_else(|_| "invalid_request".to_owned());
        tracing::warn!(%error, "token request refused");
        return Err(OnwardError::Refused(error));
    }
    if !status.is_success() {
        tracing::error!(%status, "token request: unexpected answer from the STS");
        return Err(OnwardError::Unavailable);
    }
    let body: ExchangeAnswer = answer.json().await.map_err(|err| {
        tracing::error!(error = %err, "token request: the STS's answer does not parse");
        OnwardError::Unavailable
    })?;
    Ok((body.access_token, body.expires_in))
}
