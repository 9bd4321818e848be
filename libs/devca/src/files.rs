//! Writing SVIDs to disk the way SPIRE's helper does: whole files, swapped in atomically.
//!
//! A component may read while we write. Each file is written to a temporary name and renamed
//! over the old one, so a reader sees the old file or the new one, never half of either. The key
//! and the chain are two files, so a reader can still catch a new key with the old chain; the
//! loader in `baton-workload` checks that they match and simply tries again on the next poll.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::ca::Svid;

/// File names inside a workload's folder, as SPIRE's helper names them.
pub const CHAIN_FILE: &str = "svid.pem";
pub const KEY_FILE: &str = "svid_key.pem";
pub const BUNDLE_FILE: &str = "bundle.pem";

/// Writes `contents` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    write_with_mode(path, contents, 0o644)
}

/// Like [`write_atomic`], readable by the owner only: for private keys.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    write_with_mode(path, contents, 0o600)
}

fn write_with_mode(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Writes `svid` into `dir` (created if needed): key first, then chain, then bundle.
pub fn write_svid(dir: &Path, svid: &Svid) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_private(&dir.join(KEY_FILE), &svid.key_pem)?;
    write_atomic(&dir.join(CHAIN_FILE), &svid.chain_pem)?;
    write_atomic(&dir.join(BUNDLE_FILE), &svid.bundle_pem)
}

/// How long the first certificate in `pem` remains valid; `None` if it does not parse or has
/// expired.
pub fn remaining_validity(pem: &str) -> Option<Duration> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = block.parse_x509().ok()?;
    let left = cert.validity().time_to_expiration()?;
    Duration::try_from(left).ok()
}
