//! LAB MODE ONLY: secrets kept in plaintext, as the STS kept them before they were sealed.
//!
//! With `sts.sealing_at_rest` off, the STS stores new TOTP seeds and signing keys as they are
//! and does not seal old ones when it starts, so a copy of its database hands out every second
//! factor and every signing key. A value sealed before still opens (under the real keys), so a
//! lab platform can be switched back and forth over one database.

use std::sync::Arc;

use secrecy::SecretSlice;

use super::{Binding, KeyProvider, Sealed, SealingError, is_sealed};

/// Writes plaintext; reads plaintext, or a sealed value with the real keys.
#[derive(Debug)]
pub struct Unsealed {
    keys: Arc<dyn KeyProvider>,
}

impl Unsealed {
    pub fn new(keys: Arc<dyn KeyProvider>) -> Self {
        Self { keys }
    }
}

impl KeyProvider for Unsealed {
    fn seal(&self, _binding: Binding<'_>, plaintext: &[u8]) -> Result<Sealed, SealingError> {
        let text = std::str::from_utf8(plaintext).map_err(|_| SealingError::NotText)?;
        Ok(Sealed::stored(text.to_owned()))
    }

    fn open(&self, binding: Binding<'_>, sealed: &Sealed) -> Result<SecretSlice<u8>, SealingError> {
        if is_sealed(sealed.as_str()) {
            self.keys.open(binding, sealed)
        } else {
            Ok(SecretSlice::from(sealed.as_str().as_bytes().to_vec()))
        }
    }

    fn active_prefix(&self) -> String {
        self.keys.active_prefix()
    }
}
