//! `POST /oauth2/introspect` (RFC 7662) and `POST /oauth2/revoke` (RFC 7009).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_platform::time::now_unix;
use baton_workload::Peer;
use serde_json::json;

use super::AppState;
use super::oauth::{Params, authenticate_client, invalid_request, no_store_json, server_error};
use crate::domain::client::AuthMethod;
use crate::domain::introspect::introspect as describe;

/// Introspection: authenticated confidential clients only; anything not active is exactly
/// `{"active":false}`.
pub async fn introspect(
    State(state): State<AppState>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let client = match authenticate_client(&state, &headers, &params, peer.as_deref()).await {
        Ok(client) if client.auth_method != AuthMethod::None => client,
        Ok(_) => return super::oauth::invalid_client(),
        Err(answer) => return answer,
    };
    let Ok(Some(token)) = params.one("token") else {
        return invalid_request("token is required, once");
    };
    let issuer = &state.config.public_url;
    let controls = &state.config.settings.controls;
    match describe(&state.pool, &client, token, issuer, now_unix(), controls).await {
        Ok(Some(active)) => no_store_json(active),
        Ok(None) => no_store_json(json!({ "active": false })),
        Err(err) => {
            tracing::error!(error = %err, "introspection failed");
            server_error()
        }
    }
}

/// Revocation: any client, for its own tokens; always `200` once the client is authenticated
/// (RFC 7009 §2.2: an unknown token is not an error).
pub async fn revoke(
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
    let Ok(Some(token)) = params.one("token") else {
        return invalid_request("token is required, once");
    };
    let grants = super::grants(&state);
    match grants.revoke(&client, token).await {
        Ok(()) => {
            // RFC 7009 §2.2: the same answer whether or not the token was known or the client's.
            tracing::info!(
                security_event = "token_revoked",
                client_id = %client.id,
                "a revocation request answered"
            );
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "revocation failed");
            server_error()
        }
    }
}
