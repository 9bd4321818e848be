//! Turning the client's opaque access token into an internal JWT, and the coarse scope check.
//!
//! The gateway never looks inside the client's token: it is opaque, and only the STS can say
//! what it stands for. The gateway asks once (an RFC 8693 exchange, authenticated with its client
//! secret) and caches the answer keyed by the token's SHA-256, until shortly before the JWT
//! expires. Concurrent requests with the same token share one exchange.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_platform::{Control, Controls, Problem};
use moka::Expiry;
use moka::future::Cache;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How long before the JWT's own expiry the gateway stops using it, so a token never expires
/// between the gateway and the last service.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// At most this many tokens are cached; past it the least recently used make room.
const CACHE_CAPACITY: u64 = 100_000;

/// An internal token ready to forward, and the scopes the STS said it carries.
#[derive(Debug, Clone)]
pub struct InternalToken {
    pub jwt: String,
    pub scopes: BTreeSet<String>,
    /// When to stop using it (the JWT's expiry less the margin).
    valid_until: Instant,
}

/// Why a request could not be authenticated.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the STS does not know this token, or it expired")]
    Inactive,
    #[error("the STS could not be reached")]
    StsUnavailable,
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Missing | AuthError::Inactive => Problem::unauthorized(),
            AuthError::StsUnavailable => Problem::unavailable(),
        }
    }
}

/// The STS's answer to an exchange (RFC 8693 §2.2.1).
#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: String,
    expires_in: u64,
    #[serde(default)]
    scope: String,
}

/// Exchanges opaque tokens at the STS, with a cache in front.
#[derive(Debug, Clone)]
pub struct TokenExchanger {
    http: reqwest::Client,
    token_url: String,
    client_secret: SecretString,
    /// The workloads the internal token is for: in E2E mode, every service on the call chain.
    audience: Vec<String>,
    cache: Cache<[u8; 32], Arc<InternalToken>>,
}

struct UntilValid;

impl Expiry<[u8; 32], Arc<InternalToken>> for UntilValid {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        token: &Arc<InternalToken>,
        now: Instant,
    ) -> Option<Duration> {
        Some(token.valid_until.saturating_duration_since(now))
    }
}

impl TokenExchanger {
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_secret: SecretString,
        audience: Vec<String>,
    ) -> Self {
        let cache = Cache::builder()
            .max_capacity(CACHE_CAPACITY)
            .expire_after(UntilValid)
            .build();
        Self {
            http,
            token_url,
            client_secret,
            audience,
            cache,
        }
    }

    /// The internal token for `unverified_opaque_token`, from the cache or from the STS.
    pub async fn internal_token(
        &self,
        unverified_opaque_token: &str,
    ) -> Result<Arc<InternalToken>, AuthError> {
        let key: [u8; 32] = Sha256::digest(unverified_opaque_token.as_bytes()).into();
        self.cache
            .try_get_with(key, self.exchange(unverified_opaque_token))
            .await
            .map_err(|err| (*err).clone())
    }

    async fn exchange(
        &self,
        unverified_opaque_token: &str,
    ) -> Result<Arc<InternalToken>, AuthError> {
        let mut form: Vec<(&str, &str)> = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", unverified_opaque_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:jwt",
            ),
        ];
        form.extend(self.audience.iter().map(|aud| ("audience", aud.as_str())));
        let response = self
            .http
            .post(&self.token_url)
            .basic_auth("gateway", Some(self.client_secret.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "token exchange: STS unreachable");
                AuthError::StsUnavailable
            })?;
        let status = response.status();
        if status == reqwest::StatusCode::BAD_REQUEST {
            return Err(AuthError::Inactive);
        }
        if !status.is_success() {
            tracing::error!(%status, "token exchange: unexpected answer from the STS");
            return Err(AuthError::StsUnavailable);
        }
        let body: ExchangeResponse = response.json().await.map_err(|err| {
            tracing::error!(error = %err, "token exchange: the STS's answer does not parse");
            AuthError::StsUnavailable
        })?;
        let lifetime = Duration::from_secs(body.expires_in).saturating_sub(EXPIRY_MARGIN);
        Ok(Arc::new(InternalToken {
            jwt: body.access_token,
            scopes: body.scope.split_whitespace().map(str::to_owned).collect(),
            valid_until: Instant::now() + lifetime,
        }))
    }
}

/// Whether a presented token has the shape of a JWT (three dot-separated parts).
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// The internal token for a request's bearer token.
///
/// With `gateway.phantom_token` on (always, outside lab mode), only opaque tokens the STS knows
/// get through. Switched off, the gateway makes the classic mistake: a client-supplied JWT is
/// passed through as if the STS had minted it, and its scopes are read from it unverified.
pub async fn authenticate(
    exchanger: &TokenExchanger,
    controls: &Controls,
    unverified_bearer: Option<&str>,
) -> Result<Arc<InternalToken>, AuthError> {
    let token = unverified_bearer.ok_or(AuthError::Missing)?;
    if !controls.is_on(Control::GatewayPhantomToken) && looks_like_jwt(token) {
        let claims = jsonwebtoken::dangerous::insecure_decode::<baton_token::Claims>(token)
            .map_err(|_| AuthError::Inactive)?
            .claims;
        return Ok(Arc::new(InternalToken {
            jwt: token.to_owned(),
            scopes: claims.scopes(),
            valid_until: Instant::now(),
        }));
    }
    exchanger.internal_token(token).await
}

/// The coarse check: does the token carry the route's scope? (`gateway.scope`)
pub fn check_scope(controls: &Controls, token: &InternalToken, scope: &str) -> Result<(), Problem> {
    if !controls.is_on(Control::GatewayScope) || token.scopes.contains(scope) {
        Ok(())
    } else {
        tracing::info!(scope, "gateway refused: token lacks the route's scope");
        Err(Problem::forbidden())
    }
}
