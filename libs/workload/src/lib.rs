//! The workload transport: how one Baton component reaches another, and how it listens.
//!
//! No service builds an HTTP client, a gRPC channel or a listener of its own: they ask the
//! [`Transport`]. Inside the platform that means mutual TLS with SPIFFE identities:
//!
//! - [`spiffe`]: SPIFFE IDs, read from certificates by the X.509-SVID rules;
//! - [`svid`]: this workload's certificate, key and trust bundle, from files, hot-reloaded;
//! - [`certificate`]: a certificate's expiry and RFC 8705 thumbprint;
//! - [`tls`]: rustls configurations (TLS 1.3, client certificates required inside, the server's
//!   SPIFFE ID checked by clients);
//! - [`server`]: the TLS accept loop that tells each request who is calling, and closes each
//!   connection before either certificate on it expires;
//! - [`limits`]: how many connections a listener admits and how long each may take and live;
//! - [`peer`]: the per-route allow-list of calling workloads;
//! - [`connector`]: mutual TLS for tonic's gRPC channels;
//! - [`generation`]: clients built for one certificate, so that what is bound to it travels with
//!   it across rotations.
//!
//! The one plaintext path left is `BATON_TRANSPORT=insecure-plaintext`, refused outside lab mode.

pub mod certificate;
pub mod connector;
pub mod generation;
pub mod limits;
pub mod peer;
pub mod server;
pub mod spiffe;
pub mod svid;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use baton_platform::config::{ConfigError, Source, SourceExt};
use baton_platform::{Control, Controls, Settings, Workload};
use tokio::net::TcpListener;

pub use generation::{Generation, Generations};
pub use limits::ConnectionLimits;
pub use peer::{Peer, PeerPolicy};
pub use spiffe::SpiffeId;
pub use svid::{SvidPaths, SvidSource};

/// How long an internal call may take to connect, and to finish.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How workloads connect to each other, and what their listeners admit.
#[derive(Debug, Clone)]
pub struct Transport {
    security: Security,
    limits: ConnectionLimits,
    controls: Controls,
    /// The one certificate its clients present (see [`generation`]); `None`: whichever is
    /// current at each handshake.
    pin: Option<svid::Pin>,
}

/// What protects the connections between workloads.
#[derive(Debug, Clone)]
pub enum Security {
    /// Mutual TLS with this workload's SVID. The default, and the only choice in production.
    Mtls(Arc<SvidSource>),
    /// LAB MODE ONLY: plain TCP, no identities. Exists to measure what mTLS costs and to show
    /// what an attacker on the wire would see.
    InsecurePlaintext,
}

/// Why a client or channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("`{0}` is not a valid upstream address")]
    Address(String),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

impl Transport {
    pub const KEY: &'static str = "BATON_TRANSPORT";

    /// Mutual TLS with `svid`, every control on and the default connection limits: a client's
    /// transport in tests and benchmarks.
    pub fn mtls(svid: Arc<SvidSource>) -> Self {
        Self {
            security: Security::Mtls(svid),
            limits: ConnectionLimits::default(),
            controls: Controls::enforcing(),
            pin: None,
        }
    }

    pub fn security(&self) -> &Security {
        &self.security
    }

    /// This transport, its clients pinned to the certificate current now (over plaintext,
    /// unchanged). [`Generations`] builds each generation's clients from one.
    fn pinned(&self) -> Self {
        let pin = match &self.security {
            Security::Mtls(svid) => Some(svid.pin()),
            Security::InsecurePlaintext => None,
        };
        Self {
            pin,
            ..self.clone()
        }
    }

    /// Reads `BATON_TRANSPORT` (`mtls`, the default, or `insecure-plaintext` in lab mode with
    /// `mtls.peer_id` off) and, for mTLS, loads this workload's SVID (see [`SvidPaths`]); and the
    /// listeners' [`ConnectionLimits`].
    pub fn from_source(source: &dyn Source, settings: &Settings) -> Result<Self, ConfigError> {
        let security = Self::security_from_source(source, settings)?;
        Ok(Self {
            security,
            limits: ConnectionLimits::from_source(source)?,
            controls: settings.controls.clone(),
            pin: None,
        })
    }

    fn security_from_source(
        source: &dyn Source,
        settings: &Settings,
    ) -> Result<Security, ConfigError> {
        let raw: String = source.parse_or(Self::KEY, "mtls".to_owned())?;
        match raw.as_str() {
            "mtls" => {
                let paths = SvidPaths::from_source(source, settings.workload);
                let svid = SvidSource::load(paths, settings.trust_domain.clone())
                    .map_err(|err| ConfigError::invalid(Self::KEY, "mtls", err.to_string()))?;
                Ok(Security::Mtls(svid))
            }
            "insecure-plaintext" => {
                let lab_without_peer_ids = settings.controls.is_lab_mode()
                    && !settings.controls.is_on(Control::MtlsPeerId);
                if lab_without_peer_ids {
                    Ok(Security::InsecurePlaintext)
                } else {
                    Err(ConfigError::invalid(
                        Self::KEY,
                        &raw,
                        "plaintext needs BATON_LAB_MODE=on and mtls.peer_id switched off",
                    ))
                }
            }
            other => Err(ConfigError::invalid(
                Self::KEY,
                other,
                "expected `mtls` or `insecure-plaintext`",
            )),
        }
    }

    /// The base URL of a workload listening at `authority` (`host:port`).
    pub fn base_url(&self, authority: &str) -> String {
        match self.security {
            Security::Mtls(_) => format!("https://{authority}"),
            Security::InsecurePlaintext => format!("http://{authority}"),
        }
    }

    /// An HTTP client for calls to `peer`, with bounded connect and request times. It accepts
    /// only `peer`'s certificate. Build one per peer at start-up and clone it; build the clients
    /// whose requests carry tokens bound to our certificate in [`Generations`].
    pub fn http_client(&self, peer: Workload) -> Result<reqwest::Client, TransportError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            // A pooled connection is given up well before the peer's listener would close it
            // as idle, so no request is ever sent on a connection that is just being closed.
            .pool_idle_timeout(self.limits.client_pool_idle_timeout())
            // Internal calls never follow redirects: a redirect inside the platform is a bug or
            // an attack, and following it would carry the user's token elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        let builder = match &self.security {
            Security::Mtls(svid) => builder
                .use_preconfigured_tls(tls::client_for(svid, peer, self.pin.as_ref())?)
                .https_only(true),
            Security::InsecurePlaintext => {
                // reqwest asks rustls for a process-wide provider even for a client that will
                // only ever speak plain HTTP, and panics without one.
                let _ = rustls::crypto::ring::default_provider().install_default();
                builder
            }
        };
        builder.build().map_err(TransportError::HttpClient)
    }

    /// A gRPC channel to `peer` at `authority`. It connects lazily, so components can start in
    /// any order; the first call waits for the connection.
    pub fn grpc_channel(
        &self,
        authority: &str,
        peer: Workload,
    ) -> Result<tonic::transport::Channel, TransportError> {
        // tonic dials the URI itself only for plaintext; for mTLS our connector does, and the
        // scheme here just has to be one tonic accepts.
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{authority}"))
            .map_err(|_| TransportError::Address(authority.to_owned()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT);
        Ok(match &self.security {
            Security::Mtls(svid) => endpoint.connect_with_connector_lazy(
                connector::MtlsConnector::new(tls::client_for(svid, peer, self.pin.as_ref())?),
            ),
            Security::InsecurePlaintext => endpoint.connect_lazy(),
        })
    }

    /// Serves an internal listener: only callers `policy` allows, route by route. Starts watching
    /// the SVID files, so certificates rotate while it runs.
    pub async fn serve(
        &self,
        listener: TcpListener,
        router: axum::Router,
        policy: PeerPolicy,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = router.layer(axum::middleware::from_fn_with_state(
            Arc::new(policy),
            peer::enforce,
        ));
        self.serve_with(listener, router, tls::internal_server, shutdown)
            .await
    }

    /// Serves the gateway's public listener: TLS with our certificate, no client certificate.
    pub async fn serve_public(
        &self,
        listener: TcpListener,
        router: axum::Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_with(listener, router, tls::public_server, shutdown)
            .await
    }

    async fn serve_with(
        &self,
        listener: TcpListener,
        router: axum::Router,
        server_config: fn(&Arc<SvidSource>) -> Result<rustls::ServerConfig, rustls::Error>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        match &self.security {
            Security::Mtls(svid) => {
                svid.watch(svid::POLL_INTERVAL);
                let config = server_config(svid).map_err(std::io::Error::other)?;
                let listening = server::Listening {
                    tls: Arc::new(config),
                    svid: svid.clone(),
                    limits: self.limits.clone(),
                    controls: self.controls.clone(),
                };
                server::serve_tls(listener, router, listening, shutdown).await
            }
            Security::InsecurePlaintext => {
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        }
    }
}

/// Binds a listener; port 0 picks a free one (tests and the test kit rely on that).
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use baton_platform::config::Map;

    use super::*;

    fn settings(source: &Map) -> Settings {
        Settings::from_source(source, Workload::Users, "127.0.0.1:0").expect("settings config")
    }

    #[test]
    fn plaintext_is_refused_outside_lab_mode_and_without_switching_peer_checks_off() {
        let plain = Map::new().with(Transport::KEY, "insecure-plaintext");
        assert!(Transport::from_source(&plain, &settings(&plain)).is_err());
        let lab = plain
            .clone()
            .with("BATON_ENV", "development")
            .with("BATON_LAB_MODE", "on");
        assert!(Transport::from_source(&lab, &settings(&lab)).is_err());
        let lab_off = lab.with("BATON_LAB_DISABLE", "mtls.peer_id");
        let transport = Transport::from_source(&lab_off, &settings(&lab_off));
        assert!(matches!(
            transport.as_ref().map(Transport::security),
            Ok(Security::InsecurePlaintext)
        ));
        let client = transport.map(|t| t.http_client(Workload::Sts).is_ok());
        assert_eq!(
            client.ok(),
            Some(true),
            "a plaintext client builds without a TLS provider"
        );
    }

    #[test]
    fn mtls_is_the_default_and_needs_the_svid_files() {
        let missing = Map::new().with("BATON_CERTS_DIR", "/nonexistent/baton-certs");
        assert!(Transport::from_source(&missing, &settings(&missing)).is_err());
        let dir = tempfile::tempdir().expect("a temp dir");
        let ca = baton_devca::DevCa::generate("baton.local").expect("a CA");
        let svid = ca.issue("users", Duration::from_secs(60)).expect("an SVID");
        baton_devca::files::write_svid(&dir.path().join("users"), &svid).expect("written");
        let present = Map::new().with("BATON_CERTS_DIR", dir.path().display().to_string());
        let transport = Transport::from_source(&present, &settings(&present)).expect("loads");
        assert!(
            matches!(transport.security(), Security::Mtls(svid) if svid.id().to_string() == "spiffe://baton.local/users")
        );
        assert_eq!(transport.base_url("127.0.0.1:1"), "https://127.0.0.1:1");
    }
}
