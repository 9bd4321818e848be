//! The token check for gRPC: the bearer token travels in the `authorization` metadata entry.

use baton_platform::CertThumbprint;
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use crate::onward::{NextHop, OnwardError};
use crate::verifier::{Principal, TokenError, Verifier};
use crate::workload::WorkloadPrincipal;

/// Verifies the bearer token in `request`'s metadata: a user's token, as every call but a
/// workload's own needs.
pub async fn authenticate<T>(
    verifier: &Verifier,
    request: &Request<T>,
) -> Result<Principal, Status> {
    let token = bearer(request)?;
    // The client certificate of the connection, attached by the TLS server; a token bound to
    // another certificate is refused (exchange mode).
    let presented = request.extensions().get::<CertThumbprint>();
    verifier
        .verify_presented(token, presented)
        .await
        .map_err(refused)
}

/// Verifies the bearer token in `request`'s metadata as a workload's own token
/// ([`crate::workload`]), bound to the connection's client certificate. Only a call that takes
/// a workload principal asks this; a user's token is refused here, as this token is by
/// [`authenticate`].
pub async fn authenticate_workload<T>(
    verifier: &Verifier,
    request: &Request<T>,
) -> Result<WorkloadPrincipal, Status> {
    let token = bearer(request)?;
    let presented = request.extensions().get::<CertThumbprint>();
    verifier
        .verify_workload_presented(token, presented)
        .await
        .map_err(refused)
}

fn bearer<T>(request: &Request<T>) -> Result<&str, Status> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .ok_or_else(|| Status::unauthenticated("a bearer token is required"))
}

fn refused(err: TokenError) -> Status {
    match err {
        TokenError::KeysUnavailable => Status::unavailable("try again later"),
        err => {
            tracing::info!(security_event = "token_rejected", reason = %err, "refused a gRPC call: token did not verify");
            Status::unauthenticated("the token did not verify")
        }
    }
}

/// Wraps `message` in a request that carries the token for `audience` (a SPIFFE ID) on behalf of
/// `principal`, for a call that needs `scope` (see [`NextHop`]).
pub async fn with_token<T>(
    next_hop: &NextHop,
    principal: &Principal,
    audience: &str,
    scope: &str,
    message: T,
) -> Result<Request<T>, Status> {
    let token = next_hop
        .token_for(principal, audience, scope)
        .await
        .map_err(|err| match err {
            OnwardError::Refused(_) => Status::permission_denied("the next hop was refused"),
            OnwardError::Unavailable => Status::unavailable("try again later"),
        })?;
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| Status::internal("token is not a valid header value"))?;
    request.metadata_mut().insert("authorization", value);
    // The request this call is part of, so the next hop's log lines carry the same id.
    if let Some(id) = baton_api::request_id::current()
        && let Ok(value) = MetadataValue::try_from(id.as_str())
    {
        request
            .metadata_mut()
            .insert(baton_api::request_id::HEADER, value);
    }
    Ok(request)
}
