//! Internal tokens: what a service checks before it believes anything about the caller.
//!
//! In the request's journey this sits at the door of every service. The gateway hands the
//! service a signed internal JWT minted by the STS; the service does not trust the gateway's
//! word for it and verifies the token itself:
//!
//! - [`jwks`]: the STS's published signing keys, cached, refreshed on an unknown `kid` (no more
//!   often than a set interval, so forged `kid`s cannot make us hammer the STS);
//! - [`verifier`]: signature, algorithm, issuer, audience, expiry; the result is a [`Principal`];
//! - [`claims`]: the claims an internal token carries, and the roles and scopes in them;
//! - [`http`] and [`grpc`]: the same check as axum middleware and as a gRPC helper;
//! - [`onward`]: which token a service presents to the next hop, the trust-mode seam;
//! - [`workload`]: a workload's own token, for the rare call no user is behind (orders settling
//!   an order's payment): asked for at the STS, and verified apart from users' tokens.

pub mod claims;
pub mod grpc;
pub mod http;
pub mod jwks;
pub mod onward;
pub mod verifier;
pub mod workload;

#[cfg(test)]
mod tests;

pub use claims::{Claims, Role};
pub use jwks::JwksCache;
pub use verifier::{Principal, TokenError, Verifier, VerifierConfig};
pub use workload::{OwnTokens, WorkloadClaims, WorkloadPrincipal};
