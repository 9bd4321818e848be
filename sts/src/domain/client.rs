//! Client authentication at the token endpoint: who may trade an opaque token for a JWT.
//!
//! For now one client exists, the gateway, authenticating with `client_secret_basic` (RFC 6749
//! §2.3.1). Workload certificates (RFC 8705) replace the shared secret when mTLS lands.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton_platform::config::{ConfigError, Source};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The gateway's client id.
pub const GATEWAY_CLIENT_ID: &str = "gateway";

/// A client secret, kept out of logs and compared in constant time.
#[derive(Debug, Clone)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    pub const KEY: &'static str = "BATON_GATEWAY_CLIENT_SECRET";
    /// Shorter secrets are refused at start-up.
    const MIN_LEN: usize = 32;

    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let raw = source.get(Self::KEY).ok_or_else(|| ConfigError::Missing {
            key: Self::KEY.to_owned(),
        })?;
        if raw.len() < Self::MIN_LEN {
            return Err(ConfigError::invalid(
                Self::KEY,
                "<redacted>",
                "must be at least 32 characters",
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// Whether an `Authorization: Basic …` header value names the gateway with this secret.
    /// Both secrets are hashed first so the comparison takes the same time whatever the lengths.
    pub fn authenticates(&self, unverified_header: &str) -> bool {
        let Some((client_id, secret)) = decode_basic(unverified_header) else {
            return false;
        };
        let expected = Sha256::digest(self.0.expose_secret().as_bytes());
        let presented = Sha256::digest(secret.as_bytes());
        let id_ok = client_id == GATEWAY_CLIENT_ID;
        bool::from(expected.ct_eq(&presented)) && id_ok
    }
}

/// Splits `Basic base64(id:secret)` (RFC 7617).
fn decode_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The `Authorization` header value the gateway sends.
pub fn basic_header(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_platform::config::Map;

    fn secret() -> ClientSecret {
        let source = Map::new().with(ClientSecret::KEY, "s".repeat(40));
        ClientSecret::from_source(&source).unwrap_or_else(|_| ClientSecret(SecretString::from("")))
    }

    #[test]
    fn only_the_gateway_with_the_right_secret_authenticates() {
        let secret = secret();
        assert!(secret.authenticates(&basic_header("gateway", &"s".repeat(40))));
        assert!(!secret.authenticates(&basic_header("gateway", &"s".repeat(39))));
        assert!(!secret.authenticates(&basic_header("orders", &"s".repeat(40))));
        assert!(!secret.authenticates("Bearer whatever"));
        assert!(!secret.authenticates("Basic !!!not-base64"));
    }

    #[test]
    fn a_short_secret_is_refused_at_start_up() {
        let source = Map::new().with(ClientSecret::KEY, "short");
        assert!(ClientSecret::from_source(&source).is_err());
    }
}
