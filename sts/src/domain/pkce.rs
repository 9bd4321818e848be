//! PKCE (RFC 7636): the client proves at the token endpoint that it is the one that started the
//! authorization, so a stolen authorization code is worthless on its own.
//!
//! Only `S256` is accepted (RFC 9700 §2.1.1): with `plain` the challenge *is* the verifier, and
//! anyone who sees the authorization request (browser history, logs, a malicious app on the same
//! device) can redeem the code. A missing challenge is refused too: every client, public or
//! confidential, must use PKCE here. With `sts.pkce` switched off (lab mode) `plain` and a
//! missing challenge are accepted: the downgrade the attack suite demonstrates.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_platform::{Control, Controls};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A challenge the authorization request carried, as accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub value: String,
    pub method: String,
}

/// Why a challenge was refused (answered with `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("a code_challenge is required")]
    Missing,
    #[error("code_challenge_method must be S256")]
    Method,
    #[error("code_challenge must be 43 to 128 characters of base64url")]
    Malformed,
}

/// Accepts the authorization request's `code_challenge` and `code_challenge_method`.
pub fn accept_challenge(
    controls: &Controls,
    unverified_challenge: Option<&str>,
    unverified_method: Option<&str>,
) -> Result<Option<Challenge>, ChallengeError> {
    let enforced = controls.is_on(Control::StsPkce);
    let Some(value) = unverified_challenge else {
        return if enforced {
            Err(ChallengeError::Missing)
        } else {
            Ok(None)
        };
    };
    // RFC 7636 §4.3: an absent method means `plain`.
    let method = unverified_method.unwrap_or("plain");
    match method {
        "S256" => {}
        "plain" if !enforced => {}
        _ => return Err(ChallengeError::Method),
    }
    if !is_verifier_shaped(value) {
        return Err(ChallengeError::Malformed);
    }
    Ok(Some(Challenge {
        value: value.to_owned(),
        method: method.to_owned(),
    }))
}

/// RFC 7636 §4.1: 43 to 128 characters from the unreserved set. An S256 challenge (43 characters
/// of base64url) has the same shape.
fn is_verifier_shaped(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `unverified_verifier` answers the challenge (no challenge: nothing to answer, which only
/// lab mode lets through [`accept_challenge`]).
pub fn verifies(challenge: Option<&Challenge>, unverified_verifier: Option<&str>) -> bool {
    let Some(challenge) = challenge else {
        return true;
    };
    let Some(verifier) = unverified_verifier.filter(|v| is_verifier_shaped(v)) else {
        return false;
    };
    let computed = match challenge.method.as_str() {
        "S256" => s256(verifier),
        "plain" => verifier.to_owned(),
        _ => return false,
    };
    bool::from(computed.as_bytes().ct_eq(challenge.value.as_bytes()))
}

/// `BASE64URL(SHA256(verifier))`: the S256 challenge for a verifier (clients use it too).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert_eq!(
            s256(VERIFIER),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let challenge =
            accept_challenge(&Controls::enforcing(), Some(&s256(VERIFIER)), Some("S256"));
        let challenge = challenge.ok().flatten();
        assert!(verifies(challenge.as_ref(), Some(VERIFIER)));
        assert!(!verifies(
            challenge.as_ref(),
            Some(&VERIFIER.replace('d', "e"))
        ));
        assert!(!verifies(challenge.as_ref(), None));
    }

    #[test]
    fn plain_and_missing_challenges_are_refused() {
        let controls = Controls::enforcing();
        assert_eq!(
            accept_challenge(&controls, Some(VERIFIER), Some("plain")),
            Err(ChallengeError::Method)
        );
        assert_eq!(
            accept_challenge(&controls, Some(VERIFIER), None),
            Err(ChallengeError::Method)
        );
        assert_eq!(
            accept_challenge(&controls, None, Some("S256")),
            Err(ChallengeError::Missing)
        );
        assert_eq!(
            accept_challenge(&controls, Some("short"), Some("S256")),
            Err(ChallengeError::Malformed)
        );
    }
}
