//! The token check as axum middleware, and the extractor handlers use to learn who is calling.
//!
//! Mount [`require_token`] on every route of a service's REST API. A handler that takes a
//! [`Principal`] argument gets the verified caller; if the middleware is somehow missing, the
//! extractor answers 401 rather than letting the request through (fail closed).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use baton_api::Problem;
use baton_platform::CertThumbprint;
use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::verifier::{Principal, TokenError, Verifier};

/// Verifies the bearer token of every request and stores the [`Principal`] for the handler.
pub async fn require_token(
    State(verifier): State<Arc<Verifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    let unverified_token = match bearer_token(request.headers()) {
        Ok(token) => token.to_owned(),
        Err(err) => return refuse(&err),
    };
    let presented = request.extensions().get::<CertThumbprint>().cloned();
    match verifier
        .verify_presented(&unverified_token, presented.as_ref())
        .await
    {
        Ok(principal) => {
            tracing::Span::current()
                .record("user_id", tracing::field::display(principal.user_id()));
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(TokenError::KeysUnavailable) => Problem::unavailable().into_response(),
        Err(err) => refuse(&err),
    }
}

fn refuse(err: &TokenError) -> Response {
    tracing::info!(security_event = "token_rejected", reason = %err, "refused a request: token did not verify");
    Problem::unauthorized().into_response()
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1; the scheme is
/// case-insensitive, the token is not).
pub fn bearer_token(headers: &http::HeaderMap) -> Result<&str, TokenError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(TokenError::Missing)?
        .to_str()
        .map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(token.trim())
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(Problem::unauthorized)
    }
}

/// Refuses with 403 unless the caller's token carries `scope`: the service's own check of what
/// the gateway's route table already checked (enforce twice).
pub fn require_scope(principal: &Principal, scope: &str) -> Result<(), Problem> {
    if principal.has_scope(scope) {
        Ok(())
    } else {
        tracing::info!(security_event = "scope_refused", user_id = %principal.user_id(), scope, "refused: missing scope");
        Err(Problem::forbidden())
    }
}
