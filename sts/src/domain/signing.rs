//! The STS's signing key and the JWKS that publishes its public half.
//!
//! Ed25519 (`EdDSA`): small keys, fast signatures, no parameter choices to get wrong. The key is
//! generated when the STS starts and lives only in its memory; the `kid` is the key's RFC 7638
//! thumbprint, so it names the key itself and not a counter. Tokens signed before a restart stop
//! verifying after it; with internal tokens living minutes, that costs one refreshed login.
//! Rotation with overlap comes with the full authorization server.

use baton_token::jwks::ed25519_jwk;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::OsRng;

use baton_token::Claims;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("could not generate the signing key: {0}")]
    KeyGeneration(String),
    #[error("could not sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Signs internal tokens.
pub struct Signer {
    kid: String,
    key: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with a freshly generated Ed25519 key.
    pub fn generate() -> Result<Self, SigningError> {
        let signing_key = SigningKey::generate(&mut OsRng);
        let der = signing_key
            .to_pkcs8_der()
            .map_err(|err| SigningError::KeyGeneration(err.to_string()))?;
        let key = EncodingKey::from_ed_der(der.as_bytes());
        let public_key = signing_key.verifying_key().to_bytes();
        // The thumbprint covers only the key's required members, so the kid we add after
        // computing it does not change it.
        let kid = ed25519_jwk("", &public_key).thumbprint(ThumbprintHash::SHA256)?;
        let jwk = ed25519_jwk(&kid, &public_key);
        Ok(Self { kid, key, jwk })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact JWS of `claims`, with `alg: EdDSA`, `typ: JWT` and our `kid` in the header.
    pub fn sign(&self, claims: &Claims) -> Result<String, SigningError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.key)?)
    }

    /// The JWKS to publish: the public key only.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk.clone()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::AlgorithmParameters;

    #[test]
    fn the_jwks_publishes_the_public_key_under_the_kid() -> Result<(), SigningError> {
        let signer = Signer::generate()?;
        let jwks = signer.jwks();
        assert_eq!(jwks.keys.len(), 1);
        let jwk = &jwks.keys[0];
        assert_eq!(jwk.common.key_id.as_deref(), Some(signer.kid()));
        assert!(matches!(
            jwk.algorithm,
            AlgorithmParameters::OctetKeyPair(_)
        ));
        let json = serde_json::to_string(&jwks).unwrap_or_default();
        assert!(
            !json.contains("\"d\""),
            "the private key must never be published: {json}"
        );
        Ok(())
    }
}
