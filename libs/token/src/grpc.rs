//! The token check for gRPC: the bearer token travels in the `authorization` metadata entry.

use baton_platform::TrustMode;
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use crate::onward::token_for_next_hop;
use crate::verifier::{Principal, TokenError, Verifier};

/// Verifies the bearer token in `request`'s metadata.
pub async fn authenticate<T>(
    verifier: &Verifier,
    request: &Request<T>,
) -> Result<Principal, Status> {
    let token = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .ok_or_else(|| Status::unauthenticated("a bearer token is required"))?;
    verifier.verify(token).await.map_err(|err| match err {
        TokenError::KeysUnavailable => Status::unavailable("try again later"),
        err => {
            tracing::info!(reason = %err, "refused a gRPC call: token did not verify");
            Status::unauthenticated("the token did not verify")
        }
    })
}

/// Wraps `message` in a request that carries the token for the next hop on behalf of `principal`.
pub fn with_token<T>(
    mode: TrustMode,
    principal: &Principal,
    message: T,
) -> Result<Request<T>, Status> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {}", token_for_next_hop(mode, principal)))
        .map_err(|_| Status::internal("token is not a valid header value"))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}
