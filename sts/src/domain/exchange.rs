//! The phantom-token exchange: an opaque access token in, a signed internal JWT out.
//!
//! This is the narrow start of RFC 8693 token exchange. The subject token is the client's opaque
//! token; the requested audience must be workloads of this platform; the result lives no longer
//! than the opaque token it came from.

use baton_platform::{Control, Controls};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use baton_token::claims::{Act, Confirmation};

use crate::domain::issue::{Subject, internal_claims};
use crate::domain::opaque;
use crate::domain::signing::{Signer, SigningError};
use crate::storage;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The subject token is unknown, expired, or its user is gone (`invalid_request`, RFC 8693
    /// §2.2.2).
    #[error("the subject token is not active")]
    InactiveSubject,
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What the exchange needs besides the token itself.
#[derive(Debug)]
pub struct ExchangeContext<'a> {
    pub pool: &'a AnyPool,
    pub signer: &'a Signer,
    pub controls: &'a Controls,
    pub issuer: &'a str,
    pub internal_ttl_secs: i64,
    pub now: i64,
}

/// Exchange mode: the first hop's binding. The gateway is the actor, the token is bound to its
/// certificate, and its scopes are narrowed to what the one audience accepts.
#[derive(Debug, Clone)]
pub struct FirstHop {
    /// The gateway's SPIFFE ID.
    pub actor: String,
    /// The thumbprint of the certificate the gateway presented.
    pub certificate: String,
    /// The scopes the audience's API accepts (`delegation::hop_scopes`); the token carries the
    /// subject's scopes within these.
    pub audience_scopes: &'static [&'static str],
}

/// A signed internal token and how long it lives.
#[derive(Debug)]
pub struct Exchanged {
    pub jwt: String,
    /// Whom the token speaks for (its `sub`).
    pub user_id: String,
    /// The scopes the token carries (RFC 8693 §2.2.1 returns them alongside the token).
    pub scope: String,
    pub expires_in: i64,
}

/// Trades `unverified_subject_token` for an internal JWT addressed to `audience` (already checked
/// to be workloads of this platform).
///
/// In exchange mode (`first_hop` set) the audience is one service, and the token names the gateway
/// as its actor, is bound to the gateway's certificate, may be exchanged onward only by its
/// audience, and carries only the subject's scopes that audience accepts.
pub async fn exchange(
    ctx: &ExchangeContext<'_>,
    unverified_subject_token: &str,
    audience: Vec<String>,
    first_hop: Option<FirstHop>,
) -> Result<Exchanged, ExchangeError> {
    let record = storage::access_token_record(ctx.pool, &opaque::hash(unverified_subject_token))
        .await?
        .ok_or(ExchangeError::InactiveSubject)?;
    let stored = record.token;
    let expired = stored.expires_at <= ctx.now;
    if expired && ctx.controls.is_on(Control::StsTokenExpiry) {
        return Err(ExchangeError::InactiveSubject);
    }
    let mut expires_at = ctx.now + ctx.internal_ttl_secs;
    if !expired {
        expires_at = expires_at.min(stored.expires_at);
    }
    let subject = if record.origin.for_client {
        // A client-credentials token speaks for the client: no roles, and a subject that is a
        // UUID (every verifier demands one) derived from the client id.
        Subject {
            user_id: client_subject(&stored.user_id),
            username: stored.user_id,
            roles: Vec::new(),
            scope: stored.scope,
        }
    } else {
        let credentials = storage::credentials_by_id(ctx.pool, &stored.user_id)
            .await?
            .ok_or(ExchangeError::InactiveSubject)?;
        Subject {
            user_id: credentials.user_id,
            username: credentials.username,
            roles: credentials.roles,
            scope: stored.scope,
        }
    };
    let mut subject = subject;
    if let Some(hop) = &first_hop {
        subject.scope = subject
            .scope
            .split_whitespace()
            .filter(|s| hop.audience_scopes.contains(s))
            .collect::<Vec<_>>()
            .join(" ");
    }
    let scope = subject.scope.clone();
    let user_id = subject.user_id.clone();
    let mut claims = internal_claims(ctx.issuer, subject, audience, ctx.now, expires_at);
    if let Some(hop) = first_hop {
        claims.act = Some(Act::new(hop.actor, None));
        claims.may_act = claims.aud.first().map(|aud| Act::new(aud.clone(), None));
        claims.cnf = Some(Confirmation {
            x5t_s256: hop.certificate,
        });
    }
    Ok(Exchanged {
        jwt: ctx.signer.sign(&claims)?,
        user_id,
        scope,
        expires_in: expires_at - ctx.now,
    })
}

/// The subject of a client's own tokens: a UUID derived from its id, stable across restarts and
/// never equal to a user's (those are random v4 UUIDs drawn at sign-up).
pub fn client_subject(client_id: &str) -> String {
    let digest = Sha256::digest(format!("baton-client:{client_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod properties;
