//! The system under load: a gateway's base URL and the CA bundle its certificate chains to.
//!
//! By default that is `just up`'s gateway, `https://127.0.0.1:8443`, with the development CA's
//! bundle `.baton/certs/bundle.pem`. Any deployment works with its own URL and bundle: the load
//! test trusts only the roots in the bundle (never the system's, never "accept invalid
//! certificates"), as a careful client would.

use std::time::Duration;

use anyhow::Context;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Where `just up` serves the gateway.
pub const DEFAULT_GATEWAY: &str = "https://127.0.0.1:8443";
/// Where `just up` keeps the development CA's bundle.
pub const DEFAULT_CA_BUNDLE: &str = ".baton/certs/bundle.pem";
/// One request, connect to last byte: longer than any answer Baton should give under load.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The gateway under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// The gateway's base URL, without a trailing slash.
    pub base_url: String,
    roots: RootCertStore,
}

impl Target {
    /// `base_url`, trusting the roots in `ca_bundle_pem`.
    pub fn new(base_url: &str, ca_bundle_pem: &str) -> anyhow::Result<Self> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_bundle_pem.as_bytes()) {
            roots.add(cert.context("the CA bundle holds a certificate that does not parse")?)?;
        }
        if roots.is_empty() && base_url.starts_with("https://") {
            anyhow::bail!("the CA bundle holds no certificate");
        }
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            roots,
        })
    }

    /// `base_url`, trusting the roots in the PEM file at `ca_bundle`.
    pub fn from_file(base_url: &str, ca_bundle: &str) -> anyhow::Result<Self> {
        let pem = std::fs::read_to_string(ca_bundle)
            .with_context(|| format!("could not read the CA bundle `{ca_bundle}`"))?;
        Self::new(base_url, &pem)
    }

    /// A client builder for one simulated user: rustls (ring) trusting only the bundle, no
    /// redirects followed (the login flow reads them), a bounded request time.
    pub fn client_builder(&self) -> anyhow::Result<reqwest::ClientBuilder> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        Ok(reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT))
    }
}
