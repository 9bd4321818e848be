//! What the OAuth endpoints share: form parameters, RFC 6749 §5.2 error answers, JSON answers that
//! are never cached, and client authentication from a request.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_workload::Peer;
use serde::Serialize;
use serde_json::json;

use super::AppState;
use crate::domain::client::{Client, ClientAuth, ClientAuthError, Presented};

/// An OAuth error answer (RFC 6749 §5.2). A 401 carries the `Basic` challenge.
pub fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
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

pub fn invalid_request(description: &'static str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

pub fn invalid_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    )
}

pub fn server_error() -> Response {
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "try again later",
    )
}

/// A JSON answer with `Cache-Control: no-store` (RFC 6749 §5.1: token answers must not be cached).
pub fn no_store_json(body: impl Serialize) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Form parameters (`application/x-www-form-urlencoded`). Parameters must not repeat (RFC 6749
/// §3.1), except those a grant allows to (RFC 8693's `audience`).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

/// A parameter appeared twice.
#[derive(Debug)]
pub struct Repeated;

impl Params {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The single value of `name`, if present.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut values = self
            .0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Repeated);
        }
        Ok(first)
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Authenticates the client of a token, introspection or revocation request, answering
/// `invalid_client` (or `server_error`) when that fails.
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    peer: Option<&Peer>,
) -> Result<Client, Response> {
    let form_client_id = params
        .one("client_id")
        .map_err(|_| invalid_request("client_id is repeated"))?;
    let presented = Presented {
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok()),
        form_client_id,
        peer,
        relayed: headers.contains_key(super::browser::CLIENT_ADDR_HEADER),
    };
    let auth = ClientAuth {
        pool: &state.pool,
        gateway_secret: &state.config.gateway_secret,
        trust_domain: &state.config.settings.trust_domain,
        controls: &state.config.settings.controls,
    };
    match auth.authenticate(presented).await {
        Ok(client) => Ok(client),
        Err(ClientAuthError::Invalid) => {
            tracing::warn!(
                security_event = "client_auth_failed",
                "client authentication failed"
            );
            Err(invalid_client())
        }
        Err(err) => {
            tracing::error!(error = %err, "client authentication could not be checked");
            Err(server_error())
        }
    }
}
