//! Verifying an internal token and turning it into a [`Principal`].
//!
//! What is checked, in order (RFC 8725, JWT best current practice):
//! 1. size: a token longer than [`MAX_TOKEN_BYTES`] is refused before any parsing;
//! 2. header: the type is a user's token (`typ: JWT`; a workload's own token is another type,
//!    checked by [`Verifier::verify_workload_presented`], and neither passes for the other), the
//!    algorithm is EdDSA and nothing else (no `none`, no HMAC with our public key), and a `kid`
//!    names the key;
//! 3. signature, with the key the STS published under that `kid`;
//! 4. claims: issuer, audience (this service must be named), `exp` and `nbf` with a small leeway,
//!    and every registered claim we rely on present;
//! 5. the subject is a UUID;
//! 6. binding (RFC 8705): a token with a `cnf` claim is accepted only over a connection whose
//!    client certificate has that thumbprint; in exchange mode every token must carry one.
//!
//! Each step that a lab switch can turn off asks [`Controls`] first.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use baton_platform::{CertThumbprint, Control, Controls, Settings, TrustMode};
use jsonwebtoken::{Algorithm, Validation};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::claims::{Act, Claims, Role, USER_TOKEN_TYPE};
use crate::jwks::JwksCache;

/// Longer than any token the STS mints by a wide margin; anything past it is not ours.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Clock skew we forgive on `exp` and `nbf`.
const LEEWAY: Duration = Duration::from_secs(10);

/// Why a token was refused. Callers answer 401 for all of them alike; the variant goes to the
/// log only, so an attacker learns nothing about which check failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("token too large")]
    TooLarge,
    #[error("malformed token")]
    Malformed,
    #[error("token names no key, or one we do not know")]
    UnknownKey,
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
    #[error("token rejected: {0}")]
    Rejected(String),
    /// The token is bound to another certificate than the one presented, or (exchange mode) to
    /// none at all.
    #[error("token not bound to the presented certificate")]
    Unbound,
}

/// What a verifier checks a token against.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The STS's issuer identifier.
    pub issuer: String,
    /// This workload's own id; tokens must name it in `aud`.
    pub audience: String,
    /// In exchange mode every token must be bound to the presenter's certificate.
    pub trust_mode: TrustMode,
}

/// Verifies internal tokens for one workload.
#[derive(Debug)]
pub struct Verifier {
    keys: Arc<JwksCache>,
    config: VerifierConfig,
    pub(crate) controls: Controls,
}

impl Verifier {
    pub fn new(keys: Arc<JwksCache>, config: VerifierConfig, controls: Controls) -> Self {
        Self {
            keys,
            config,
            controls,
        }
    }

    /// The audience this verifier accepts.
    pub fn audience(&self) -> &str {
        &self.config.audience
    }

    /// Verifies `unverified_token` as presented over a connection whose client certificate has
    /// thumbprint `presented` (`None`: no client certificate), and returns who it speaks for.
    /// This is what a service calls for every request.
    pub async fn verify_presented(
        &self,
        unverified_token: &str,
        presented: Option<&CertThumbprint>,
    ) -> Result<Principal, TokenError> {
        let principal = self.verify(unverified_token).await?;
        let must_be_bound = self.config.trust_mode == TrustMode::Exchange;
        self.check_binding(principal.bound_to.as_deref(), presented, must_be_bound)?;
        Ok(principal)
    }

    /// RFC 8705: a token bound to a certificate is accepted only over a connection presenting
    /// that certificate, and one that `must_be_bound` only if it is bound. Skipped only with
    /// `token.binding` off (lab mode).
    pub(crate) fn check_binding(
        &self,
        bound: Option<&str>,
        presented: Option<&CertThumbprint>,
        must_be_bound: bool,
    ) -> Result<(), TokenError> {
        if !self.controls.is_on(Control::TokenBinding) {
            return Ok(());
        }
        match (bound, presented) {
            (Some(bound), Some(presented)) if bound == presented.0 => Ok(()),
            (None, _) if !must_be_bound => Ok(()),
            _ => Err(TokenError::Unbound),
        }
    }

    /// Verifies `unverified_token` and returns who it speaks for, without looking at the
    /// connection: for a token the caller received itself (the gateway checking what the STS
    /// handed it), never for one a client presented.
    pub async fn verify(&self, unverified_token: &str) -> Result<Principal, TokenError> {
        let claims = self.verified_claims(unverified_token).await?;
        let mut principal = Principal::from_claims(claims, unverified_token)?;
        principal.scopes_enforced = self.controls.is_on(Control::ServiceScope);
        Ok(principal)
    }

    /// Verifies `unverified_token` and returns its claims as data (the STS copies them into the
    /// token it issues for the next hop).
    pub async fn verified_claims(&self, unverified_token: &str) -> Result<Claims, TokenError> {
        self.decode(unverified_token, USER_TOKEN_TYPE).await
    }

    /// Verifies `unverified_token` as a JWT of type `typ` and returns its claims, of the shape
    /// `T` that type has.
    pub(crate) async fn decode<T: DeserializeOwned>(
        &self,
        unverified_token: &str,
        typ: &str,
    ) -> Result<T, TokenError> {
        if unverified_token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let header =
            jsonwebtoken::decode_header(unverified_token).map_err(|_| TokenError::Malformed)?;
        // Explicit typing (RFC 8725 §3.11): checked first, and whatever the lab switches say, so
        // a token of one kind is never read as the other.
        if !header
            .typ
            .as_deref()
            .is_some_and(|found| found.eq_ignore_ascii_case(typ))
        {
            return Err(TokenError::Rejected(format!("type {:?}", header.typ)));
        }
        if self.controls.is_on(Control::TokenSignature) {
            if header.alg != Algorithm::EdDSA {
                return Err(TokenError::Rejected(format!("algorithm {:?}", header.alg)));
            }
            let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
            let key = self.keys.key(kid).await?;
            Ok(
                jsonwebtoken::decode::<T>(unverified_token, &key, &self.validation())
                    .map_err(|err| TokenError::Rejected(err.to_string()))?
                    .claims,
            )
        } else {
            // LAB MODE ONLY: believe whatever the token says, signed or not. This is the mistake
            // the `token.signature` switch exists to demonstrate.
            Ok(
                jsonwebtoken::dangerous::insecure_decode::<T>(unverified_token)
                    .map_err(|_| TokenError::Malformed)?
                    .claims,
            )
        }
    }

    fn validation(&self) -> Validation {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY.as_secs();
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        if !self.controls.is_on(Control::TokenIssuer) {
            validation.iss = None;
        }
        if !self.controls.is_on(Control::TokenAudience) {
            validation.validate_aud = false;
        }
        if !self.controls.is_on(Control::TokenExpiry) {
            validation.validate_exp = false;
            validation.validate_nbf = false;
        }
        validation
    }
}

/// The verified caller: the user a request acts for, and what their token allows.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    user_id: Uuid,
    username: String,
    roles: BTreeSet<Role>,
    scopes: BTreeSet<String>,
    token_id: String,
    /// Exchange mode: the workloads acting for the user, the current actor first.
    actors: Vec<String>,
    /// The certificate thumbprint the token is bound to (`cnf`), if any.
    bound_to: Option<String>,
    /// The verified token itself: forwarded in E2E mode, the subject token in exchange mode.
    /// Never logged.
    token: String,
    /// Whether this service checks scopes (`service.scope`; off only in lab mode).
    scopes_enforced: bool,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("scopes", &self.scopes)
            .field("token_id", &self.token_id)
            .field("actors", &self.actors)
            .finish_non_exhaustive()
    }
}

impl Principal {
    fn from_claims(claims: Claims, token: &str) -> Result<Self, TokenError> {
        let user_id = Uuid::parse_str(&claims.sub)
            .map_err(|_| TokenError::Rejected("subject is not a user id".to_owned()))?;
        Ok(Self {
            user_id,
            roles: claims
                .roles
                .iter()
                .filter_map(|name| Role::parse(name))
                .collect(),
            scopes: claims.scopes(),
            username: claims.preferred_username,
            token_id: claims.jti,
            actors: claims.act.as_ref().map(Act::chain).unwrap_or_default(),
            bound_to: claims.cnf.map(|cnf| cnf.x5t_s256),
            token: token.to_owned(),
            scopes_enforced: true,
        })
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn token_id(&self) -> &str {
        &self.token_id
    }

    /// Whether the token grants `scope` (or, in lab mode with `service.scope` off, always).
    pub fn has_scope(&self, scope: &str) -> bool {
        !self.scopes_enforced || self.scopes.contains(scope)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// The roles the token grants that Baton knows (unknown names were dropped when verifying).
    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.roles.iter().copied()
    }

    /// Every scope the token carries, whatever `service.scope` says (the gateway's own check
    /// reads them).
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.scopes
    }

    /// The workloads acting for the user (exchange mode), the current actor first; empty in
    /// E2E mode, where no workload acts: the token travels as the gateway got it.
    pub fn actors(&self) -> &[String] {
        &self.actors
    }

    /// The raw verified token. Use [`crate::onward::NextHop`] to get the token for a next hop.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

/// Builds the verifier a service uses: keys from the JWKS of the STS at `sts_base_url`, fetched
/// with `client`; tokens accepted only from `settings.issuer` and only if addressed to this
/// workload's own id.
pub fn for_service(client: reqwest::Client, sts_base_url: &str, settings: &Settings) -> Verifier {
    for_audience(client, sts_base_url, settings, settings.own_id())
}

/// Like [`for_service`], for tokens addressed to `audience` rather than to this workload. The
/// gateway uses it to check what the STS handed it before it caches and forwards it: a token its
/// first upstream would accept.
pub fn for_audience(
    client: reqwest::Client,
    sts_base_url: &str,
    settings: &Settings,
    audience: String,
) -> Verifier {
    /// How often an unknown `kid` may trigger a JWKS refresh.
    const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
    let jwks_url = format!("{sts_base_url}/.well-known/jwks.json");
    let min_refresh_interval = if settings.controls.is_on(Control::TokenJwksRefreshLimit) {
        MIN_REFRESH_INTERVAL
    } else {
        Duration::ZERO
    };
    let keys = Arc::new(JwksCache::new(jwks_url, client, min_refresh_interval));
    let config = VerifierConfig {
        issuer: settings.issuer.clone(),
        audience,
        trust_mode: settings.trust_mode,
    };
    Verifier::new(keys, config, settings.controls.clone())
}
