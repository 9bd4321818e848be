//! Secrets at rest: the TOTP seeds and signing keys the STS keeps in its database are sealed
//! (authenticated encryption, AES-256-GCM) under a key that does not live in the database.
//!
//! Where it sits in the request's journey: only two places ever open a sealed value. The second
//! login step opens the user's TOTP seed to check a code, and the signer opens its keys when it
//! loads them and after each rotation. Everything else carries [`Sealed`] values through unread.
//! A copy of the database (a backup, a replica, rows read out through an injection) then gives
//! away no second factor and no signing key: those need the sealing key too, which lives in a
//! file or an environment secret (`STS_SEALING_KEY_FILE`, `STS_SEALING_KEY`; see [`keys`]) or,
//! behind [`KeyProvider`], in a KMS.
//!
//! A sealed value reads `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`: the format version,
//! the id of the key that sealed it (so keys can rotate: any known key opens, one seals), a fresh
//! 96-bit nonce from the OS's random source, and the ciphertext with its tag. Each value is bound
//! to its row by the associated data ([`Binding`]: what the value is, and whose), so a sealed seed
//! copied onto another user's row does not open there, and neither does an altered one.
//!
//! At start-up, [`at_rest::seal_stored_secrets`] seals what an older STS left in plaintext and
//! re-seals what an older key sealed, in one transaction; a value it cannot open (a key this STS
//! was not given, an altered value) stops the start. Nothing is ever read as plaintext after that.
//! (Except in lab mode with `sts.sealing_at_rest` off: [`lab::Unsealed`] then writes plaintext,
//! so a workshop can watch a copied database give a second factor away.)
//!
//! ## Other key providers
//!
//! [`keys::LocalKeys`] holds its keys in memory, read from a file or an environment secret. A
//! KMS-style provider implements the same trait by envelope encryption: the data keys are kept
//! wrapped (encrypted by a key that never leaves the KMS), the provider asks the KMS to unwrap
//! them once when it is built, and then seals and opens locally as `LocalKeys` does. The trait is
//! synchronous on purpose: the rejected alternative, one KMS call per open, would put a network
//! round-trip (and the KMS's availability) inside every login.

pub mod at_rest;
pub mod keys;
pub mod lab;

use std::fmt;

use secrecy::{ExposeSecret, SecretSlice, SecretString};

pub use keys::{LocalKeys, SealingKeySource};

/// The sealed format this STS writes; the first part of every sealed value.
pub const VERSION: &str = "v1";

/// Why a value could not be sealed or opened. Messages never include the value.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    #[error("a stored secret is not sealed (the STS seals plaintext ones only when it starts)")]
    NotSealed,
    #[error("a stored secret is not in the sealed format `v1.<key id>.<base64url>`")]
    Malformed,
    #[error("a stored secret is sealed in format `{0}`, which this STS does not read")]
    UnknownVersion(String),
    #[error(
        "a stored secret is sealed under key `{0}`, which this STS was not given: configure that \
         key too (after the active one, while values are re-sealed), never a new one in its place"
    )]
    UnknownKey(String),
    #[error(
        "a stored secret does not open under key `{0}`: it was altered, or copied from another row"
    )]
    DoesNotOpen(String),
    #[error("a stored secret opens to something that is not text")]
    NotText,
    #[error("could not seal a secret: the random source or the cipher failed")]
    Seal,
}

/// What a sealed value is and whose it is: the associated data it is sealed with, and must be
/// opened with. A value sealed for one binding does not open for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'a> {
    /// A user's TOTP seed, in `credentials.totp_secret`.
    TotpSeed { user_id: &'a str },
    /// A signing key's private half, in `signing_keys.private_key`.
    SigningKey { kid: &'a str },
}

impl Binding<'_> {
    /// The associated data: the format version, the kind of value, and its row's id. The id is
    /// the last, variable part, so no two bindings can write the same bytes.
    pub fn aad(&self) -> Vec<u8> {
        match self {
            Binding::TotpSeed { user_id } => format!("baton-sts/{VERSION}/totp-seed/{user_id}"),
            Binding::SigningKey { kid } => format!("baton-sts/{VERSION}/signing-key/{kid}"),
        }
        .into_bytes()
    }
}

/// A sealed value as stored: made by [`KeyProvider::seal`], or read from the database (and then
/// refused by [`KeyProvider::open`] if it is not really sealed).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(String);

impl Sealed {
    /// A value read from the database, to be opened later.
    pub fn stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sealed {
    /// Only the version and key id: the rest is ciphertext, of no use in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Envelope::parse(&self.0) {
            Ok(envelope) => write!(f, "Sealed({VERSION}.{}.…)", envelope.kid),
            Err(_) => f.write_str("Sealed(<not sealed>)"),
        }
    }
}

/// Whether a stored value is in a sealed format (and must open), rather than a plaintext value
/// an older STS wrote.
///
/// INVARIANT: the plaintext formats, base32 TOTP seeds and base64 PKCS#8 keys, never contain a
/// `.`, and every sealed format does; so no sealed value, however damaged, is taken for plaintext.
pub fn is_sealed(stored: &str) -> bool {
    stored.contains('.')
}

/// A key id: 1 to 64 of `A-Z a-z 0-9 - _`. It is written into every value it seals, so it must
/// not contain the format's `.` separator.
pub fn is_key_id(kid: &str) -> bool {
    (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A sealed value taken apart: the key id, and the base64url body.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub kid: &'a str,
    pub body: &'a str,
}

impl<'a> Envelope<'a> {
    pub fn parse(stored: &'a str) -> Result<Self, SealingError> {
        if !is_sealed(stored) {
            return Err(SealingError::NotSealed);
        }
        let mut parts = stored.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(VERSION), Some(kid), Some(body)) if is_key_id(kid) && !body.is_empty() => {
                Ok(Self { kid, body })
            }
            (Some(version), Some(_), Some(_))
                if version != VERSION && version.starts_with('v') && version.len() <= 8 =>
            {
                Err(SealingError::UnknownVersion(version.to_owned()))
            }
            _ => Err(SealingError::Malformed),
        }
    }
}

/// Where the keys that seal secrets at rest come from: keys in memory ([`LocalKeys`]), or a KMS
/// behind an implementation of the same trait (see the module's documentation).
pub trait KeyProvider: fmt::Debug + Send + Sync {
    /// Seals `plaintext` for `binding` under the key that seals now.
    fn seal(&self, binding: Binding<'_>, plaintext: &[u8]) -> Result<Sealed, SealingError>;

    /// Opens a value sealed for `binding`, under whichever known key sealed it.
    fn open(&self, binding: Binding<'_>, sealed: &Sealed) -> Result<SecretSlice<u8>, SealingError>;

    /// What every value sealed under the key that seals now starts with (`v1.<key id>.`). Values
    /// that do not are sealed at start-up, or re-sealed.
    fn active_prefix(&self) -> String;

    /// [`KeyProvider::open`], for a value that is text (a base32 seed, a base64 key).
    fn open_text(
        &self,
        binding: Binding<'_>,
        sealed: &Sealed,
    ) -> Result<SecretString, SealingError> {
        let opened = self.open(binding, sealed)?;
        let text =
            std::str::from_utf8(opened.expose_secret()).map_err(|_| SealingError::NotText)?;
        Ok(SecretString::from(text))
    }
}

#[cfg(test)]
mod tests;
