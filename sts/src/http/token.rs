//! `POST /oauth2/token`: the token endpoint. Today it serves one grant, RFC 8693 token exchange
//! of an opaque access token for an internal JWT, and one client, the gateway.
//!
//! Errors here follow RFC 6749 §5.2 (`{"error": "invalid_grant"}` and friends), not problem+json:
//! OAuth clients parse this format, and the token endpoint is theirs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_platform::Workload;
use baton_platform::time::now_unix;
use serde_json::json;

use super::AppState;
use crate::domain::exchange::{ExchangeContext, ExchangeError, exchange};

pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// An OAuth error answer.
fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="baton-sts""#),
        );
    }
    response
}

/// The parameters of an exchange request, parsed from the form body. `audience` may repeat.
#[derive(Debug, Default)]
struct ExchangeRequest {
    grant_type: Option<String>,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    audience: Vec<String>,
}

impl ExchangeRequest {
    fn parse(body: &[u8]) -> Self {
        let mut request = Self::default();
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "grant_type" => request.grant_type = Some(value),
                "subject_token" => request.subject_token = Some(value),
                "subject_token_type" => request.subject_token_type = Some(value),
                "requested_token_type" => request.requested_token_type = Some(value),
                "audience" => request.audience.push(value),
                _ => {}
            }
        }
        request
    }
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let authenticated = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| state.config.gateway_secret.authenticates(value));
    if !authenticated {
        tracing::warn!("token endpoint: client authentication failed");
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let request = ExchangeRequest::parse(&body);
    if request.grant_type.as_deref() != Some(GRANT_TOKEN_EXCHANGE) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only token exchange is supported",
        );
    }
    let (Some(subject_token), Some(TOKEN_TYPE_ACCESS_TOKEN)) = (
        request.subject_token.as_deref(),
        request.subject_token_type.as_deref(),
    ) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "an access token subject_token is required",
        );
    };
    if request
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != TOKEN_TYPE_JWT)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "only JWTs can be issued",
        );
    }
    let common = &state.config.common;
    let known: Vec<String> = Workload::SERVICES
        .iter()
        .map(|w| common.trust_domain.id_of(*w))
        .collect();
    if request.audience.is_empty() || !request.audience.iter().all(|aud| known.contains(aud)) {
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
        internal_ttl_secs: i64::try_from(state.config.internal_token_ttl.as_secs()).unwrap_or(300),
        now: now_unix(),
    };
    match exchange(&ctx, subject_token, request.audience).await {
        Ok(exchanged) => {
            let body = json!({
                "access_token": exchanged.jwt,
                "issued_token_type": TOKEN_TYPE_JWT,
                "token_type": "N_A",
                "expires_in": exchanged.expires_in,
                "scope": exchanged.scope,
            });
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(ExchangeError::InactiveSubject) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the subject token is not active",
        ),
        Err(err) => {
            tracing::error!(error = %err, "token exchange failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "try again later",
            )
        }
    }
}
