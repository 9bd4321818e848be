//! This workload's SVID and trust bundle, loaded from files and reloaded when they change.
//!
//! The files are the ones SPIRE's helper (or cert-manager, or `baton-ca`) writes: the chain
//! (leaf first), the private key, and the trust bundle. A task polls their modification times
//! and, when one changes, loads all three and swaps them in. New handshakes use the new
//! certificate; connections already open keep theirs until they close (at the latest when it
//! expires, see `server::deadline`), so nothing is dropped. Clients built for one certificate
//! ([`crate::generation`]) keep presenting it, so that what is bound to it (a token whose `cnf`
//! names it) travels with it; they learn of a rotation from [`SvidSource::presents`].
//! A half-written or mismatched set (new key, old chain) is refused and the old one kept; the
//! next poll tries again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use baton_platform::config::Source;
use baton_platform::{CertThumbprint, TrustDomain, Workload};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::certificate;
use crate::spiffe::SpiffeId;

/// How often the files are checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum SvidError {
    #[error("could not read `{path}`: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("`{0}` holds no certificate")]
    Empty(PathBuf),
    #[error("the key does not match the certificate, or is unusable: {0}")]
    Key(String),
    #[error("the trust bundle is unusable: {0}")]
    Bundle(String),
    #[error("our own certificate is not a valid SVID: {0}")]
    Identity(#[from] crate::spiffe::IdentityError),
}

/// Where a workload's SVID files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvidPaths {
    pub chain: PathBuf,
    pub key: PathBuf,
    pub bundle: PathBuf,
}

impl SvidPaths {
    /// The files `baton-ca` and SPIRE's helper write into one folder.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            chain: dir.join("svid.pem"),
            key: dir.join("svid_key.pem"),
            bundle: dir.join("bundle.pem"),
        }
    }

    /// `SVID_CERT_FILE`, `SVID_KEY_FILE` and `TRUST_BUNDLE_FILE` if set (cert-manager's
    /// `tls.crt`, `tls.key`, `ca.crt`, say); otherwise `<BATON_CERTS_DIR>/<workload>/`, with
    /// `BATON_CERTS_DIR` defaulting to `.baton/certs`.
    pub fn from_source(source: &dyn Source, workload: Workload) -> Self {
        let dir = source
            .get("BATON_CERTS_DIR")
            .unwrap_or_else(|| ".baton/certs".to_owned());
        let defaults = Self::in_dir(&Path::new(&dir).join(workload.name()));
        Self {
            chain: source
                .get("SVID_CERT_FILE")
                .map_or(defaults.chain, PathBuf::from),
            key: source
                .get("SVID_KEY_FILE")
                .map_or(defaults.key, PathBuf::from),
            bundle: source
                .get("TRUST_BUNDLE_FILE")
                .map_or(defaults.bundle, PathBuf::from),
        }
    }

    fn modified(&self) -> Option<[SystemTime; 3]> {
        let time = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Some([time(&self.chain)?, time(&self.key)?, time(&self.bundle)?])
    }
}

/// One consistent set: our certified key, the roots we trust, and a client verifier for them.
struct Loaded {
    key: Arc<CertifiedKey>,
    roots: Arc<RootCertStore>,
    client_verifier: Arc<dyn ClientCertVerifier>,
    id: SpiffeId,
    thumbprint: CertThumbprint,
    not_after: Option<SystemTime>,
    modified: Option<[SystemTime; 3]>,
}

/// The current SVID of this workload; cheap to read on every handshake.
pub struct SvidSource {
    paths: SvidPaths,
    trust_domain: TrustDomain,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<Loaded>>,
}

/// One certificate and its key, as loaded: what a generation of clients presents.
#[derive(Debug, Clone)]
pub struct Pin {
    key: Arc<CertifiedKey>,
    thumbprint: CertThumbprint,
}

impl Pin {
    pub(crate) fn key(&self) -> &Arc<CertifiedKey> {
        &self.key
    }

    pub fn thumbprint(&self) -> &CertThumbprint {
        &self.thumbprint
    }
}

impl std::fmt::Debug for SvidSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SvidSource")
            .field("paths", &self.paths)
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

fn read_err(path: &Path, err: impl std::fmt::Display) -> SvidError {
    SvidError::Read {
        path: path.to_owned(),
        reason: err.to_string(),
    }
}

fn load(
    paths: &SvidPaths,
    trust_domain: &TrustDomain,
    provider: &Arc<CryptoProvider>,
) -> Result<Loaded, SvidError> {
    let modified = paths.modified();
    let chain = CertificateDer::pem_file_iter(&paths.chain)
        .map_err(|err| read_err(&paths.chain, err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| read_err(&paths.chain, err))?;
    let leaf = chain
        .first()
        .ok_or_else(|| SvidError::Empty(paths.chain.clone()))?;
    let id = SpiffeId::from_svid(leaf, trust_domain)?;
    let thumbprint = certificate::thumbprint_of(leaf);
    let not_after = certificate::not_after(leaf);
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|err| read_err(&paths.key, err))?;
    let certified = CertifiedKey::from_der(chain, key, provider)
        .map_err(|err| SvidError::Key(err.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(&paths.bundle).map_err(|err| read_err(&paths.bundle, err))?
    {
        let cert = cert.map_err(|err| read_err(&paths.bundle, err))?;
        roots
            .add(cert)
            .map_err(|err| SvidError::Bundle(err.to_string()))?;
    }
    if roots.is_empty() {
        return Err(SvidError::Empty(paths.bundle.clone()));
    }
    let roots = Arc::new(roots);
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|err| SvidError::Bundle(err.to_string()))?;
    Ok(Loaded {
        key: Arc::new(certified),
        roots,
        client_verifier,
        id,
        thumbprint,
        not_after,
        modified,
    })
}

impl SvidSource {
    /// Loads the files once; fails if they are missing or inconsistent (the component should not
    /// start without an identity).
    pub fn load(paths: SvidPaths, trust_domain: TrustDomain) -> Result<Arc<Self>, SvidError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = load(&paths, &trust_domain, &provider)?;
        tracing::info!(id = %loaded.id, "loaded workload identity");
        Ok(Arc::new(Self {
            paths,
            trust_domain,
            provider,
            current: RwLock::new(Arc::new(loaded)),
        }))
    }

    fn current(&self) -> Arc<Loaded> {
        // A poisoned lock only means a reader panicked; the value itself is always whole.
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn provider(&self) -> &Arc<CryptoProvider> {
        &self.provider
    }

    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// Our own SPIFFE ID.
    pub fn id(&self) -> SpiffeId {
        self.current().id.clone()
    }

    /// Our current certificate and key, to present until further notice.
    pub fn pin(&self) -> Pin {
        let current = self.current();
        Pin {
            key: current.key.clone(),
            thumbprint: current.thumbprint.clone(),
        }
    }

    /// Whether `pin` is still our current certificate.
    pub fn presents(&self, pin: &Pin) -> bool {
        self.current().thumbprint == pin.thumbprint
    }

    /// When our current certificate expires (`None` only if it does not parse as X.509, which a
    /// certificate rustls accepted does).
    pub fn not_after(&self) -> Option<SystemTime> {
        self.current().not_after
    }

    pub fn certified_key(&self) -> Arc<CertifiedKey> {
        self.current().key.clone()
    }

    pub fn roots(&self) -> Arc<RootCertStore> {
        self.current().roots.clone()
    }

    pub fn client_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        self.current().client_verifier.clone()
    }

    /// Reloads if any file changed since the last load. Returns whether it did.
    pub fn reload_if_changed(&self) -> Result<bool, SvidError> {
        let modified = self.paths.modified();
        if modified.is_none() || modified == self.current().modified {
            return Ok(false);
        }
        let loaded = load(&self.paths, &self.trust_domain, &self.provider)?;
        tracing::info!(id = %loaded.id, "reloaded workload identity");
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(loaded);
        Ok(true)
    }

    /// Polls the files every `interval` for as long as this source is alive.
    pub fn watch(self: &Arc<Self>, interval: Duration) {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(source) = weak.upgrade() else { break };
                if let Err(err) = source.reload_if_changed() {
                    tracing::warn!(error = %err, "new SVID files not usable yet; keeping the current ones");
                }
            }
        });
    }
}
