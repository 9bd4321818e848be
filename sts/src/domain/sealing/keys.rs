//! The sealing keys: where they are configured, how a key set is written, and [`LocalKeys`], the
//! provider that holds them in memory.
//!
//! A key set is one or more entries `<key id>:<base64 of 32 random bytes>`, separated by new
//! lines, commas or spaces; `#` starts a comment. The **first** entry seals; every entry opens.
//! Rotating is therefore: put a new key first and keep the old one after it, restart (start-up
//! re-seals every value under the new key), then drop the old one at the next restart.
//!
//! Make one with `printf 'k1:%s\n' "$(openssl rand -base64 32)"`.
//!
//! Where the set comes from ([`SealingKeySource`]): `STS_SEALING_KEY_FILE` (a file, mode 600,
//! from a secret store or a Kubernetes Secret), or `STS_SEALING_KEY` (the set itself, from an
//! environment secret). Production refuses to start with neither. Development mode (`just up`)
//! generates `<data dir>/sts-sealing.key` on its first start instead: beside the database, which
//! is fine for a laptop's demo data and is exactly what a deployment must not do.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use baton_platform::Settings;
use baton_platform::config::{ConfigError, Source};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use super::{Binding, Envelope, KeyProvider, Sealed, SealingError, VERSION, is_key_id};

/// AES-256: 32-byte keys.
const KEY_LEN: usize = 32;
/// AES-GCM's tag, after the ciphertext.
const TAG_LEN: usize = 16;

/// Why a key set could not be read. Messages name entries by position, never by content.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    #[error("could not read the sealing key file `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not create the development sealing key file `{path}`: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the sealing key set has no key")]
    Empty,
    #[error("sealing key entry {0} is not `<key id>:<base64 of 32 bytes>`")]
    Entry(usize),
    #[error("sealing key id `{0}` is listed twice")]
    Duplicate(String),
    #[error("could not draw a new sealing key from the random source")]
    Random,
}

/// Where the key set is read from (see the module's documentation).
#[derive(Debug, Clone)]
pub enum SealingKeySource {
    /// `STS_SEALING_KEY`: the key set itself.
    Secret(SecretString),
    /// `STS_SEALING_KEY_FILE`: a file holding the key set.
    File(PathBuf),
    /// Development mode with neither set: this file, generated on the first start.
    DevelopmentFile(PathBuf),
}

impl SealingKeySource {
    pub const SECRET_KEY: &'static str = "STS_SEALING_KEY";
    pub const FILE_KEY: &'static str = "STS_SEALING_KEY_FILE";
    /// The development key file's name, under `BATON_DATA_DIR`.
    pub const DEVELOPMENT_FILE: &'static str = "sts-sealing.key";

    pub fn from_source(source: &dyn Source, settings: &Settings) -> Result<Self, ConfigError> {
        // Empty counts as unset, as it does in the environment.
        let get = |key: &str| source.get(key).filter(|value| !value.trim().is_empty());
        match (get(Self::FILE_KEY), get(Self::SECRET_KEY)) {
            (Some(_), Some(_)) => Err(ConfigError::invalid(
                Self::SECRET_KEY,
                "<redacted>",
                "set `STS_SEALING_KEY_FILE` or `STS_SEALING_KEY`, not both",
            )),
            (Some(path), None) => Ok(Self::File(PathBuf::from(path))),
            (None, Some(secret)) => {
                LocalKeys::parse(&secret).map_err(|err| {
                    ConfigError::invalid(Self::SECRET_KEY, "<redacted>", err.to_string())
                })?;
                Ok(Self::Secret(SecretString::from(secret)))
            }
            (None, None) if settings.run_mode.is_production() => {
                Err(ConfigError::MissingWithHint {
                    what: "`STS_SEALING_KEY_FILE` (or `STS_SEALING_KEY`)".to_owned(),
                    hint: "the STS seals TOTP seeds and signing keys under it, outside its \
                           database. Make one with `(umask 077; printf 'k1:%s\\n' \"$(openssl rand \
                           -base64 32)\" > sts-sealing.key)` and set STS_SEALING_KEY_FILE to its \
                           path; keep it apart from the database and its backups"
                        .to_owned(),
                })
            }
            (None, None) => Ok(Self::DevelopmentFile(
                settings.data_dir.join(Self::DEVELOPMENT_FILE),
            )),
        }
    }
}

/// Sealing keys held in memory: the first seals, every one opens.
pub struct LocalKeys {
    /// In the order configured; never empty.
    keys: Vec<(String, LessSafeKey)>,
    random: SystemRandom,
}

impl std::fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("LocalKeys")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl LocalKeys {
    /// The key set configured in `source`, generating the development file if it is missing.
    pub fn load(source: &SealingKeySource) -> Result<Self, KeySetError> {
        match source {
            SealingKeySource::Secret(secret) => Self::parse(secret.expose_secret()),
            SealingKeySource::File(path) => Self::parse(&read(path)?),
            SealingKeySource::DevelopmentFile(path) => {
                create_development_file(path)?;
                Self::parse(&read(path)?)
            }
        }
    }

    /// Reads a key set (see the module's documentation for its format).
    pub fn parse(text: &str) -> Result<Self, KeySetError> {
        let mut keys: Vec<(String, LessSafeKey)> = Vec::new();
        let entries = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .flat_map(|line| line.split([',', ' ', '\t', '\r']))
            .filter(|entry| !entry.is_empty());
        for (index, entry) in entries.enumerate() {
            let (kid, key) = parse_entry(entry).ok_or(KeySetError::Entry(index + 1))?;
            if keys.iter().any(|(known, _)| *known == kid) {
                return Err(KeySetError::Duplicate(kid));
            }
            keys.push((kid, key));
        }
        if keys.is_empty() {
            return Err(KeySetError::Empty);
        }
        Ok(Self {
            keys,
            random: SystemRandom::new(),
        })
    }

    /// A new key set entry, `<kid>:<base64 of 32 random bytes>`.
    pub fn new_entry(kid: &str) -> Result<SecretString, KeySetError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(key.as_mut())
            .map_err(|_| KeySetError::Random)?;
        Ok(SecretString::from(format!(
            "{kid}:{}",
            STANDARD.encode(key.as_ref())
        )))
    }

    /// One fresh key that lives only in memory: for a signer that stores nothing (unit tests).
    pub fn ephemeral() -> Result<Self, KeySetError> {
        Self::parse(Self::new_entry("ephemeral")?.expose_secret())
    }

    /// The id of the key that seals.
    pub fn active_kid(&self) -> &str {
        self.keys.first().map_or("", |(kid, _)| kid.as_str())
    }

    fn key(&self, kid: &str) -> Option<&LessSafeKey> {
        self.keys
            .iter()
            .find(|(known, _)| known == kid)
            .map(|(_, key)| key)
    }
}

impl KeyProvider for LocalKeys {
    fn seal(&self, binding: Binding<'_>, plaintext: &[u8]) -> Result<Sealed, SealingError> {
        let (kid, key) = self.keys.first().ok_or(SealingError::Seal)?;
        // A random nonce per value: 96 bits drawn from the OS. The STS seals a few values per
        // user and per key rotation, far below the 2^32 values per key where random nonces
        // would start to risk a repeat.
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| SealingError::Seal)?;
        let mut body = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        body.extend_from_slice(&nonce);
        let mut ciphertext = Zeroizing::new(plaintext.to_vec());
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.aad()),
                &mut ciphertext,
            )
            .map_err(|_| SealingError::Seal)?;
        body.extend_from_slice(&ciphertext);
        body.extend_from_slice(tag.as_ref());
        Ok(Sealed(format!(
            "{VERSION}.{kid}.{}",
            URL_SAFE_NO_PAD.encode(&body)
        )))
    }

    fn open(&self, binding: Binding<'_>, sealed: &Sealed) -> Result<SecretSlice<u8>, SealingError> {
        let envelope = Envelope::parse(sealed.as_str())?;
        let kid = envelope.kid;
        let key = self
            .key(kid)
            .ok_or_else(|| SealingError::UnknownKey(kid.to_owned()))?;
        let does_not_open = || SealingError::DoesNotOpen(kid.to_owned());
        let mut body = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(envelope.body)
                .map_err(|_| does_not_open())?,
        );
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(does_not_open());
        }
        let (nonce, in_out) = body.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| does_not_open())?;
        let plaintext = key
            .open_in_place(nonce, Aad::from(binding.aad()), in_out)
            .map_err(|_| does_not_open())?;
        Ok(SecretSlice::from(plaintext.to_vec()))
    }

    fn active_prefix(&self) -> String {
        format!("{VERSION}.{}.", self.active_kid())
    }
}

/// One `<kid>:<base64>` entry; the key in standard or URL-safe base64, padded or not.
fn parse_entry(entry: &str) -> Option<(String, LessSafeKey)> {
    let (kid, encoded) = entry.split_once(':')?;
    if !is_key_id(kid) {
        return None;
    }
    let normalized = Zeroizing::new(
        encoded
            .trim_end_matches('=')
            .replace('-', "+")
            .replace('_', "/"),
    );
    let bytes = Zeroizing::new(STANDARD_NO_PAD.decode(normalized.as_bytes()).ok()?);
    if bytes.len() != KEY_LEN {
        return None;
    }
    let key = UnboundKey::new(&AES_256_GCM, &bytes).ok()?;
    Some((kid.to_owned(), LessSafeKey::new(key)))
}

fn read(path: &Path) -> Result<String, KeySetError> {
    warn_if_others_can_read(path);
    std::fs::read_to_string(path).map_err(|source| KeySetError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Writes a new one-key set to `path` unless the file exists, readable by its owner only.
fn create_development_file(path: &Path) -> Result<(), KeySetError> {
    let failed = |source| KeySetError::Create {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another STS on the same folder made it a moment ago: use that one.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(err) => return Err(failed(err)),
    };
    let kid = format!("dev-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let entry = LocalKeys::new_entry(&kid)?;
    let text = format!(
        "# The STS's sealing key for development (BATON_ENV=development), made on its first \
         start.\n# Losing it makes the TOTP seeds and signing keys in the database unreadable.\n\
         {}\n",
        entry.expose_secret()
    );
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    tracing::info!(path = %path.display(), kid, "generated a development sealing key");
    Ok(())
}

#[cfg(unix)]
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", metadata.permissions().mode() & 0o777),
            "the sealing key file is readable by other users: chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_others_can_read(_path: &Path) {}
