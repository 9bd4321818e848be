//! `POST /oauth2/token`: the token endpoint (RFC 6749 §3.2). One client authentication, then one
//! of four grants:
//!
//! | `grant_type` | who | what |
//! |---|---|---|
//! | `authorization_code` | the CLI and other registered clients | code + PKCE verifier → access and refresh token |
//! | `refresh_token` | the same | refresh token → new access and refresh token (rotated) |
//! | `client_credentials` | machine clients, workloads | the client's own access token |
//! | token exchange (RFC 8693) | the gateway only | opaque access token → internal JWT |
//!
//! There is no password grant: passwords are typed into the STS's own login page, never given
//! to a client. Errors follow RFC 6749 §5.2, not problem+json: OAuth clients parse this format.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use baton_platform::Workload;
use baton_platform::time::now_unix;
use baton_workload::Peer;
use serde_json::{Value, json};

use super::AppState;
use super::oauth::{
    Params, authenticate_client, invalid_request, no_store_json, oauth_error, server_error,
};
use crate::config::Config;
use crate::domain::client::{
    Client, GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN,
    GRANT_TOKEN_EXCHANGE,
};
use crate::domain::exchange::{ExchangeContext, ExchangeError, exchange};
use crate::domain::grants::{GrantError, Grants, Tokens};

pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

pub async fn token(
    State(state): State<AppState>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let client = match authenticate_client(&state, &headers, &params, peer.as_deref()).await {
        Ok(client) => client,
        Err(answer) => return answer,
    };
    let Ok(grant_type) = params.one("grant_type") else {
        return invalid_request("grant_type is repeated");
    };
    let Some(grant_type) = grant_type else {
        return invalid_request("grant_type is required");
    };
    let known = [
        GRANT_AUTHORIZATION_CODE,
        GRANT_REFRESH_TOKEN,
        GRANT_CLIENT_CREDENTIALS,
        GRANT_TOKEN_EXCHANGE,
    ];
    if !known.contains(&grant_type) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "the grant type is not supported",
        );
    }
    if !client.may_use(grant_type) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client may not use this grant type",
        );
    }
    match grant_type {
        GRANT_TOKEN_EXCHANGE => token_exchange(&state, &params).await,
        _ => grant(&state, &client, grant_type, &params).await,
    }
}

fn grants(state: &AppState) -> Grants<'_> {
    Grants {
        pool: &state.pool,
        controls: &state.config.common.controls,
        access_ttl_secs: Config::secs(state.config.access_token_ttl),
        refresh_ttl_secs: Config::secs(state.config.refresh_token_ttl),
        now: now_unix(),
    }
}

/// The three grants that end in an opaque access token.
async fn grant(state: &AppState, client: &Client, grant_type: &str, params: &Params) -> Response {
    let one = |name: &str| params.one(name);
    let (Ok(code), Ok(redirect_uri), Ok(verifier), Ok(refresh_token), Ok(scope)) = (
        one("code"),
        one("redirect_uri"),
        one("code_verifier"),
        one("refresh_token"),
        one("scope"),
    ) else {
        return invalid_request("a parameter is repeated");
    };
    let grants = grants(state);
    let issued = match grant_type {
        GRANT_AUTHORIZATION_CODE => {
            let Some(code) = code else {
                return invalid_request("code is required");
            };
            grants
                .redeem_code(client, code, redirect_uri, verifier)
                .await
        }
        GRANT_REFRESH_TOKEN => {
            let Some(refresh_token) = refresh_token else {
                return invalid_request("refresh_token is required");
            };
            grants.refresh(client, refresh_token, scope).await
        }
        _ => grants.client_credentials(client, scope).await,
    };
    match issued {
        Ok(tokens) => no_store_json(token_answer(tokens)),
        Err(GrantError::InvalidGrant) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the grant is invalid, expired or revoked",
        ),
        Err(GrantError::InvalidScope) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the requested scope is not available",
        ),
        Err(err) => {
            tracing::error!(error = %err, grant_type, "token request failed");
            server_error()
        }
    }
}

fn token_answer(tokens: Tokens) -> Value {
    let mut body = json!({
        "access_token": tokens.access_token.expose(),
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "scope": tokens.scope,
    });
    if let Some(refresh) = tokens.refresh_token {
        body["refresh_token"] = Value::from(refresh.expose());
    }
    body
}

/// RFC 8693: the gateway trades a client's opaque access token for an internal JWT.
async fn token_exchange(state: &AppState, params: &Params) -> Response {
    let (Ok(subject_token), Ok(subject_token_type), Ok(requested_token_type)) = (
        params.one("subject_token"),
        params.one("subject_token_type"),
        params.one("requested_token_type"),
    ) else {
        return invalid_request("a parameter is repeated");
    };
    let (Some(subject_token), Some(TOKEN_TYPE_ACCESS_TOKEN)) = (subject_token, subject_token_type)
    else {
        return invalid_request("an access token subject_token is required");
    };
    if requested_token_type.is_some_and(|t| t != TOKEN_TYPE_JWT) {
        return invalid_request("only JWTs can be issued");
    }
    let common = &state.config.common;
    let known: Vec<String> = Workload::SERVICES
        .iter()
        .map(|w| common.trust_domain.id_of(*w))
        .collect();
    let audience: Vec<String> = params.all("audience").map(str::to_owned).collect();
    if audience.is_empty() || !audience.iter().all(|aud| known.contains(aud)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "unknown audience",
        );
    }
    let ctx = ExchangeContext {
        pool: &state.pool,
        signer: &state.signer,
        controls: &common.controls,
        issuer: &common.issuer,
        internal_ttl_secs: Config::secs(state.config.internal_token_ttl),
        now: now_unix(),
    };
    match exchange(&ctx, subject_token, audience).await {
        Ok(exchanged) => no_store_json(json!({
            "access_token": exchanged.jwt,
            "issued_token_type": TOKEN_TYPE_JWT,
            "token_type": "N_A",
            "expires_in": exchanged.expires_in,
            "scope": exchanged.scope,
        })),
        Err(ExchangeError::InactiveSubject) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the subject token is not active",
        ),
        Err(err) => {
            tracing::error!(error = %err, "token exchange failed");
            server_error()
        }
    }
}
