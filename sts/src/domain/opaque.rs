//! Opaque access tokens: 256 random bits that mean nothing outside the STS.
//!
//! The client holds the token; the STS stores only its SHA-256 hash. A plain hash (not a slow
//! password hash) is right here: the token is random and long, so there is nothing to brute
//! force, and the lookup must be fast.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// Every opaque access token starts with this, so a leaked one is easy to recognise (and to scan
/// for).
pub const PREFIX: &str = "bat_";
/// Refresh tokens, authorization codes and login handles have their own prefixes: a scanner can
/// tell which kind leaked, and one kind is never mistaken for another.
pub const REFRESH_PREFIX: &str = "bar_";
pub const CODE_PREFIX: &str = "bac_";
pub const HANDLE_PREFIX: &str = "bal_";

/// A freshly minted opaque token. Shown to the client once; never logged.
pub struct OpaqueToken(String);

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken(..)")
    }
}

impl OpaqueToken {
    /// A fresh access token.
    pub fn generate() -> Self {
        Self::generate_with(PREFIX)
    }

    /// 256 random bits after `prefix`.
    pub fn generate_with(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token a client presented, to hand back unchanged (lab mode without refresh rotation).
    pub fn from_presented(presented: &str) -> Self {
        Self(presented.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash(&self.0)
    }
}

/// The hex SHA-256 of a presented token: the only form in which tokens are stored or looked up.
pub fn hash(unverified_token: &str) -> String {
    Sha256::digest(unverified_token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_unique_and_hashed_stably() {
        let (a, b) = (OpaqueToken::generate(), OpaqueToken::generate());
        assert!(a.expose().starts_with(PREFIX));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash(), hash(a.expose()));
        assert_eq!(a.hash().len(), 64);
    }
}
