//! The renewal loop: issue every workload its SVID now, and again at half its lifetime.
//!
//! Renewing at half-life leaves the other half as a margin: a component that misses one
//! renewal (busy, restarting) still holds a valid certificate when the next one arrives.

use std::path::PathBuf;
use std::time::Duration;

use crate::ca::{CaError, DevCa};
use crate::files::{BUNDLE_FILE, write_atomic, write_svid};

/// Issues an SVID for each of `names` into `<dir>/<name>/`, and writes the trust bundle to
/// `<dir>/bundle.pem` too, for clients outside the platform (curl, `just token`).
pub fn issue_all(
    ca: &DevCa,
    dir: &std::path::Path,
    names: &[String],
    lifetime: Duration,
) -> Result<(), CaError> {
    for name in names {
        let svid = ca.issue(name, lifetime)?;
        write_svid(&dir.join(name), &svid)?;
    }
    write_atomic(&dir.join(BUNDLE_FILE), ca.bundle_pem())?;
    Ok(())
}

/// Issues now and then every `lifetime / 2`, until the process is stopped.
pub async fn renew_forever(
    ca: DevCa,
    dir: PathBuf,
    names: Vec<String>,
    lifetime: Duration,
) -> Result<(), CaError> {
    let period = lifetime / 2;
    loop {
        issue_all(&ca, &dir, &names, lifetime)?;
        tracing::info!(
            workloads = names.join(","),
            lifetime_secs = lifetime.as_secs(),
            "issued SVIDs"
        );
        tokio::time::sleep(period).await;
    }
}
