//! Verifying an internal token and turning it into a [`Principal`].
//!
//! What is checked, in order (RFC 8725, JWT best current practice):
//! 1. size: a token longer than [`MAX_TOKEN_BYTES`] is refused before any parsing;
//! 2. header: the algorithm is EdDSA and nothing else (no `none`, no HMAC with our public key),
//!    and a `kid` names the key;
//! 3. signature, with the key the STS published under that `kid`;
//! 4. claims: issuer, audience (this service must be named), `exp` and `nbf` with a small leeway,
//!    and every registered claim we rely on present;
//! 5. the subject is a UUID.
//!
//! Each step that a lab switch can turn off asks [`Controls`] first.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use baton_platform::{CommonConfig, Control, Controls};
use jsonwebtoken::{Algorithm, Validation};
use uuid::Uuid;

use crate::claims::{Claims, Role};
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
}

/// What a verifier checks a token against.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The STS's issuer identifier.
    pub issuer: String,
    /// This workload's own id; tokens must name it in `aud`.
    pub audience: String,
}

/// Verifies internal tokens for one workload.
#[derive(Debug)]
pub struct Verifier {
    keys: Arc<JwksCache>,
    config: VerifierConfig,
    controls: Controls,
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

    /// Verifies `unverified_token` and returns who it speaks for.
    pub async fn verify(&self, unverified_token: &str) -> Result<Principal, TokenError> {
        if unverified_token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let header =
            jsonwebtoken::decode_header(unverified_token).map_err(|_| TokenError::Malformed)?;
        let claims = if self.controls.is_on(Control::TokenSignature) {
            if header.alg != Algorithm::EdDSA {
                return Err(TokenError::Rejected(format!("algorithm {:?}", header.alg)));
            }
            let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
            let key = self.keys.key(kid).await?;
            jsonwebtoken::decode::<Claims>(unverified_token, &key, &self.validation())
                .map_err(|err| TokenError::Rejected(err.to_string()))?
                .claims
        } else {
            // LAB MODE ONLY: believe whatever the token says, signed or not. This is the mistake
            // the `token.signature` switch exists to demonstrate.
            jsonwebtoken::dangerous::insecure_decode::<Claims>(unverified_token)
                .map_err(|_| TokenError::Malformed)?
                .claims
        };
        let mut principal = Principal::from_claims(claims, unverified_token)?;
        principal.scopes_enforced = self.controls.is_on(Control::ServiceScope);
        Ok(principal)
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
    /// The verified token itself, for the next hop in E2E mode. Never logged.
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

    /// The raw verified token. Use [`crate::onward::token_for_next_hop`] to forward it.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

/// Builds the verifier a service uses: keys from the JWKS of the STS at `sts_base_url`, fetched
/// with `client`; tokens accepted only from `common.issuer` and only if addressed to this
/// workload's own id.
pub fn for_service(client: reqwest::Client, sts_base_url: &str, common: &CommonConfig) -> Verifier {
    for_audience(client, sts_base_url, common, common.own_id())
}

/// Like [`for_service`], for tokens addressed to `audience` rather than to this workload. The
/// gateway uses it to check what the STS handed it before it caches and forwards it: a token its
/// first upstream would accept.
pub fn for_audience(
    client: reqwest::Client,
    sts_base_url: &str,
    common: &CommonConfig,
    audience: String,
) -> Verifier {
    /// How often an unknown `kid` may trigger a JWKS refresh.
    const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
    let jwks_url = format!("{sts_base_url}/.well-known/jwks.json");
    let keys = Arc::new(JwksCache::new(jwks_url, client, MIN_REFRESH_INTERVAL));
    let config = VerifierConfig {
        issuer: common.issuer.clone(),
        audience,
    };
    Verifier::new(keys, config, common.controls.clone())
}
