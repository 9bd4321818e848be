//! Time-based one-time codes (RFC 6238): 6 digits, 30-second steps, SHA-1, as every
//! authenticator app expects. One step of clock skew either way is forgiven.
//!
//! A code is accepted once: [`matching_step`] says which time step a code belongs to, and the
//! login records that step as spent for the user (RFC 6238 §5.2), so a code read over someone's
//! shoulder, or replayed from a captured form, is worthless once its owner used it.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// The length of a time step, in seconds.
pub const STEP_SECS: u64 = 30;

fn totp(base32_seed: &str) -> Option<TOTP> {
    let secret = Secret::Encoded(base32_seed.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS, secret).ok()
}

/// The time step (Unix time / 30) whose code `unverified_code` is, among the current step and the
/// one either side of it at `now`; `None` if it is none of them. A malformed seed or code is
/// simply `None`. Codes are compared in constant time.
pub fn matching_step(base32_seed: &str, unverified_code: &str, now: u64) -> Option<i64> {
    let well_formed =
        unverified_code.len() == 6 && unverified_code.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    let totp = totp(base32_seed)?;
    let step = now / STEP_SECS;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|candidate| {
            let expected = totp.generate(candidate * STEP_SECS);
            bool::from(expected.as_bytes().ct_eq(unverified_code.as_bytes()))
        })
        .and_then(|found| i64::try_from(found).ok())
}

/// Whether `unverified_code` is the current code (or the one just before or after) for the seed.
pub fn code_matches(base32_seed: &str, unverified_code: &str) -> bool {
    let now = u64::try_from(baton_platform::time::now_unix()).unwrap_or(0);
    matching_step(base32_seed, unverified_code, now).is_some()
}

/// The current code for a seed, as an authenticator app would show it. Used by `just token` and
/// the test kit for the demo users; the STS itself only ever checks codes.
pub fn current_code(base32_seed: &str) -> Option<String> {
    totp(base32_seed)?.generate_current().ok()
}

/// The code for the step after the current one: what an authenticator shows 30 s from now, and
/// what the STS still accepts now (one step of skew). The test kit uses it to log a user in twice
/// within one step without replaying a code.
pub fn next_code(base32_seed: &str) -> Option<String> {
    let now = u64::try_from(baton_platform::time::now_unix()).ok()?;
    Some(totp(base32_seed)?.generate(now + STEP_SECS))
}

/// How long until the next time step begins (and with it a code not spent yet).
pub fn until_next_step() -> std::time::Duration {
    let now = u64::try_from(baton_platform::time::now_unix()).unwrap_or(0);
    std::time::Duration::from_secs(STEP_SECS - now % STEP_SECS + 1)
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
    fn a_code_matches_its_own_step_and_its_neighbours_only() {
        let at = 1_700_000_000u64;
        let code = totp(SEED).map(|t| t.generate(at)).unwrap_or_default();
        let step = i64::try_from(at / STEP_SECS).unwrap_or_default();
        assert_eq!(matching_step(SEED, &code, at), Some(step));
        assert_eq!(matching_step(SEED, &code, at + STEP_SECS), Some(step));
        assert_eq!(matching_step(SEED, &code, at + 3 * STEP_SECS), None);
    }

    #[test]
    fn malformed_codes_never_match() {
        for code in ["", "12345", "1234567", "abcdef", "12345\u{0}"] {
            assert!(!code_matches(SEED, code), "{code:?}");
        }
    }
}
