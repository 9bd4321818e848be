//! Turning the client's opaque access token into an internal JWT, and the coarse route check.
//!
//! The gateway never looks inside the client's token: it is opaque, and only the STS can say
//! what it stands for. The gateway asks once (an RFC 8693 exchange, authenticated with its client
//! secret), verifies the JWT it is given as its first upstream would (signature, issuer,
//! audience, expiry), and caches the result keyed by the token's SHA-256 until shortly before the
//! JWT expires. Concurrent requests with the same token share one exchange. The route check then
//! reads the scopes and roles of the verified token: never of anything the client wrote.
//!
//! In exchange mode the JWT is bound to the gateway's certificate, and a service accepts it only
//! over a connection presenting that certificate. So an exchanger, cache and all, is built for one
//! certificate generation, next to the upstream clients of that generation
//! (`baton_workload::Generations`): a token it hands out goes upstream on a connection presenting
//! the certificate the STS bound it to, and after a rotation the next generation starts afresh.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_api::{Problem, request_id};
use baton_platform::{Control, Controls, TrustMode, Workload};
use baton_token::{Role, Verifier};
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
/// However long the JWT lives, a cached exchange is used for at most this long. This is the bound
/// on how long a token revoked at the STS (RFC 7009) still gets through the gateway: after it, the
/// next request exchanges again and the STS answers `invalid_grant`. The price is one exchange per
/// active token per bound, a database lookup and an Ed25519 signature at the STS.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(10);

/// An internal token ready to forward, and what the route check reads from it.
#[derive(Debug, Clone)]
pub struct InternalToken {
    pub jwt: String,
    pub scopes: BTreeSet<String>,
    pub roles: BTreeSet<Role>,
    /// The user's id (the verified `sub`), for per-user rate limits.
    pub user_id: String,
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
}

/// Exchanges opaque tokens at the STS, with a cache in front.
#[derive(Debug, Clone)]
pub struct TokenExchanger {
    http: reqwest::Client,
    token_url: String,
    client_secret: SecretString,
    mode: TrustMode,
    /// Per service: its SPIFFE ID, and the verifier that checks the STS's answer as that service
    /// would before anything relies on it.
    services: BTreeMap<Workload, (String, Arc<Verifier>)>,
    cache: Cache<CacheKey, Arc<InternalToken>>,
}

/// (SHA-256 of the client's token, the service the internal token is for). In E2E mode one
/// token serves every service, and the second part is always the first service.
type CacheKey = ([u8; 32], Workload);

struct UntilValid;

impl Expiry<CacheKey, Arc<InternalToken>> for UntilValid {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        token: &Arc<InternalToken>,
        now: Instant,
    ) -> Option<Duration> {
        Some(token.valid_until.saturating_duration_since(now))
    }
}

impl TokenExchanger {
    /// Exchanges at `token_url` with `http`, which presents the certificate of the generation
    /// this exchanger is for. `services`: each service with its SPIFFE ID and a verifier for
    /// tokens addressed to it.
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_secret: SecretString,
        mode: TrustMode,
        services: BTreeMap<Workload, (String, Arc<Verifier>)>,
    ) -> Self {
        let cache = Cache::builder()
            .max_capacity(CACHE_CAPACITY)
            .expire_after(UntilValid)
            .build();
        Self {
            http,
            token_url,
            client_secret,
            mode,
            services,
            cache,
        }
    }

    /// The internal token to send to `upstream` for `unverified_opaque_token`, from the cache or
    /// from the STS. E2E mode: one token for the whole chain, addressed to every service.
    /// Exchange mode: a token for `upstream` alone, bound to the gateway's certificate.
    pub async fn internal_token(
        &self,
        unverified_opaque_token: &str,
        upstream: Workload,
    ) -> Result<Arc<InternalToken>, AuthError> {
        let first = match self.mode {
            TrustMode::E2e => Workload::SERVICES[0],
            TrustMode::Exchange => upstream,
        };
        let key: CacheKey = (
            Sha256::digest(unverified_opaque_token.as_bytes()).into(),
            first,
        );
        self.cache
            .try_get_with(key, self.exchange(unverified_opaque_token, first))
            .await
            .map_err(|err| (*err).clone())
    }

    async fn exchange(
        &self,
        unverified_opaque_token: &str,
        first: Workload,
    ) -> Result<Arc<InternalToken>, AuthError> {
        let (_, verifier) = self.services.get(&first).ok_or(AuthError::StsUnavailable)?;
        let audience: Vec<&str> = match self.mode {
            TrustMode::E2e => self.services.values().map(|(id, _)| id.as_str()).collect(),
            TrustMode::Exchange => self
                .services
                .get(&first)
                .map(|(id, _)| vec![id.as_str()])
                .unwrap_or_default(),
        };
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
        form.extend(audience.into_iter().map(|aud| ("audience", aud)));
        let response = self
            .http
            .post(&self.token_url)
            .headers(request_id::headers())
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
        let verified = verifier.verify(&body.access_token).await.map_err(|err| {
            tracing::error!(error = %err, "token exchange: the STS's token does not verify");
            AuthError::StsUnavailable
        })?;
        let lifetime = Duration::from_secs(body.expires_in)
            .saturating_sub(EXPIRY_MARGIN)
            .min(MAX_CACHE_TTL);
        Ok(Arc::new(InternalToken {
            scopes: verified.scopes().clone(),
            roles: verified.roles().collect(),
            user_id: verified.user_id().to_string(),
            jwt: body.access_token,
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
    upstream: Workload,
) -> Result<Arc<InternalToken>, AuthError> {
    let token = unverified_bearer.ok_or(AuthError::Missing)?;
    if !controls.is_on(Control::GatewayPhantomToken) && looks_like_jwt(token) {
        let claims = jsonwebtoken::dangerous::insecure_decode::<baton_token::Claims>(token)
            .map_err(|_| AuthError::Inactive)?
            .claims;
        return Ok(Arc::new(InternalToken {
            jwt: token.to_owned(),
            scopes: claims.scopes(),
            roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            user_id: claims.sub,
            valid_until: Instant::now(),
        }));
    }
    exchanger.internal_token(token, upstream).await
}

/// The coarse check: does the token carry the route's scope (`gateway.scope`), and does its user
/// hold one of the route's roles (`gateway.role`)? Both refusals are the same 403.
pub fn check_route(
    controls: &Controls,
    token: &InternalToken,
    scope: &str,
    roles: &[Role],
) -> Result<(), Problem> {
    if controls.is_on(Control::GatewayScope) && !token.scopes.contains(scope) {
        tracing::info!(
            security_event = "route_refused",
            reason = "scope",
            scope,
            user_id = %token.user_id,
            "gateway refused: token lacks the route's scope"
        );
        return Err(Problem::forbidden());
    }
    if controls.is_on(Control::GatewayRole) && !roles.iter().any(|r| token.roles.contains(r)) {
        tracing::info!(
            security_event = "route_refused",
            reason = "role",
            ?roles,
            user_id = %token.user_id,
            "gateway refused: the user holds none of the route's roles"
        );
        return Err(Problem::forbidden());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_platform::config::Map;
    use baton_platform::mode::RunMode;

    fn token(scopes: &[&str], roles: &[Role]) -> InternalToken {
        InternalToken {
            jwt: String::new(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            roles: roles.iter().copied().collect(),
            user_id: String::new(),
            valid_until: Instant::now(),
        }
    }

    fn lab(disabled: &str) -> Controls {
        let source = Map::new()
            .with("BATON_LAB_MODE", "on")
            .with("BATON_LAB_DISABLE", disabled);
        Controls::from_source(&source, RunMode::Development).unwrap_or_default()
    }

    #[test]
    fn the_route_passes_with_its_scope_and_one_of_its_roles() {
        let admin = token(&["orders:admin"], &[Role::Admin]);
        let rule = check_route(
            &Controls::enforcing(),
            &admin,
            "orders:admin",
            &[Role::Admin],
        );
        assert!(rule.is_ok());
    }

    #[test]
    fn a_customer_is_refused_an_admin_route_by_role_even_with_the_scope() {
        let customer = token(&["orders:admin"], &[Role::Customer]);
        let enforcing = Controls::enforcing();
        assert!(check_route(&enforcing, &customer, "orders:admin", &[Role::Admin]).is_err());
        let no_role_check = lab("gateway.role");
        assert!(check_route(&no_role_check, &customer, "orders:admin", &[Role::Admin]).is_ok());
    }
}
