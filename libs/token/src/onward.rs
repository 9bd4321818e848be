//! Which token a service presents when it calls the next hop: the trust-mode seam.
//!
//! In E2E mode the answer is "the one you were given": the internal token travels unchanged down
//! the whole chain, and each hop verifies it again. Token-exchange mode will answer "a new one,
//! from the STS, addressed only to the next hop" here, without any caller changing.

use baton_platform::TrustMode;

use crate::verifier::Principal;

/// The bearer token to present to the next workload on behalf of `principal`.
pub fn token_for_next_hop(mode: TrustMode, principal: &Principal) -> &str {
    match mode {
        TrustMode::E2e => principal.token(),
    }
}
