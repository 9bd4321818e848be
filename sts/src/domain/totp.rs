//! Time-based one-time codes (RFC 6238): 6 digits, 30-second steps, SHA-1, as every
//! authenticator app expects. One step of clock skew either way is forgiven.

use totp_rs::{Algorithm, Secret, TOTP};

fn totp(base32_seed: &str) -> Option<TOTP> {
    let secret = Secret::Encoded(base32_seed.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret).ok()
}

/// Whether `unverified_code` is the current code (or the one just before or after) for the seed.
/// A malformed seed or code is simply "no".
pub fn code_matches(base32_seed: &str, unverified_code: &str) -> bool {
    let well_formed =
        unverified_code.len() == 6 && unverified_code.bytes().all(|b| b.is_ascii_digit());
    well_formed
        && totp(base32_seed)
            .is_some_and(|totp| totp.check_current(unverified_code).unwrap_or(false))
}

/// The current code for a seed, as an authenticator app would show it. Used by `just token` and
/// the test kit for the demo users; the STS itself only ever checks codes.
pub fn current_code(base32_seed: &str) -> Option<String> {
    totp(base32_seed)?.generate_current().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn the_current_code_matches() {
        let code = current_code(SEED).unwrap_or_default();
        assert!(code_matches(SEED, &code));
    }

    #[test]
    fn malformed_codes_never_match() {
        for code in ["", "12345", "1234567", "abcdef", "12345\u{0}"] {
            assert!(!code_matches(SEED, code), "{code:?}");
        }
    }
}
