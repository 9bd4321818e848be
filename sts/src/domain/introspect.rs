//! Token introspection (RFC 7662): is this token active, and what does it stand for?
//!
//! Only authenticated confidential clients may ask, and each only about what it needs:
//!
//! - the gateway, the one resource server that holds other clients' access tokens, about any
//!   access token;
//! - every client (the platform's workloads included) about the tokens issued to itself;
//! - nobody about another client's refresh token: a refresh token is for its own client to
//!   redeem, and no resource server is ever shown one.
//!
//! A client cannot probe tokens it never held. Every token that is not active, or not the
//! caller's to know about, is the same answer: `{"active":false}`. These limits are the control
//! [`Control::StsIntrospectionLimits`]; with it off in lab mode, any client learns about any
//! token.

use baton_platform::{Control, Controls};
use serde::Serialize;
use sqlx::AnyPool;

use crate::domain::client::Client;
use crate::domain::opaque;
use crate::storage;

/// An active token's description (RFC 7662 §2.2).
#[derive(Debug, Serialize)]
pub struct Active {
    pub active: bool,
    pub scope: String,
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub token_type: &'static str,
    pub exp: i64,
    pub iat: i64,
    pub sub: String,
    pub iss: String,
}

/// What the STS knows of `unverified_token`, if it is active and `caller` may know.
pub async fn introspect(
    pool: &AnyPool,
    caller: &Client,
    unverified_token: &str,
    issuer: &str,
    now: i64,
    controls: &Controls,
) -> Result<Option<Active>, sqlx::Error> {
    let limited = controls.is_on(Control::StsIntrospectionLimits);
    let own = |client_id: Option<&str>| !limited || client_id == Some(caller.id.as_str());
    let hash = opaque::hash(unverified_token);
    if let Some(access) = storage::access_token_record(pool, &hash).await? {
        let may_see = caller.is_gateway() || own(access.origin.client_id.as_deref());
        if access.token.expires_at <= now || !may_see {
            return Ok(None);
        }
        let username = if access.origin.for_client {
            None
        } else {
            storage::credentials_by_id(pool, &access.token.user_id)
                .await?
                .map(|c| c.username)
        };
        return Ok(Some(Active {
            active: true,
            scope: access.token.scope,
            client_id: access.origin.client_id,
            username,
            token_type: "Bearer",
            exp: access.token.expires_at,
            iat: access.issued_at,
            sub: access.token.user_id,
            iss: issuer.to_owned(),
        }));
    }
    let Some(refresh) = storage::refresh_token(pool, &hash).await? else {
        return Ok(None);
    };
    let Some(grant) = storage::grant_by_id(pool, &refresh.grant_id).await? else {
        return Ok(None);
    };
    let active = !refresh.used && !grant.revoked && refresh.expires_at > now;
    if !active || !own(Some(&grant.client_id)) {
        return Ok(None);
    }
    Ok(Some(Active {
        active: true,
        scope: grant.scope,
        client_id: Some(grant.client_id),
        username: storage::credentials_by_id(pool, &grant.user_id)
            .await?
            .map(|c| c.username),
        token_type: "refresh_token",
        exp: refresh.expires_at,
        iat: refresh.issued_at,
        sub: grant.user_id,
        iss: issuer.to_owned(),
    }))
}
