//! A CA writing SVIDs to a temporary folder, and an internal listener whose handlers say which
//! connection and which client certificate a request came on.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::{Extension, Router};
use baton_devca::DevCa;
use baton_platform::{CertThumbprint, Controls, TrustDomain, Workload};
use baton_workload::server::{Listening, serve_tls};
use baton_workload::{ConnectionLimits, SvidPaths, SvidSource};

pub const SERVER: Workload = Workload::Users;
pub const CLIENT: Workload = Workload::Orders;

/// A CA and the folder its SVIDs are written to.
pub struct Certs {
    ca: DevCa,
    dir: tempfile::TempDir,
}

impl Certs {
    pub fn new() -> Self {
        Self {
            ca: DevCa::generate(TrustDomain::default().as_str()).expect("a CA"),
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    fn dir_of(&self, workload: Workload) -> std::path::PathBuf {
        self.dir.path().join(workload.name())
    }

    /// Writes a fresh SVID for `workload`, valid for `lifetime` from now.
    pub fn issue(&self, workload: Workload, lifetime: Duration) {
        let svid = self.ca.issue(workload.name(), lifetime).expect("an SVID");
        baton_devca::files::write_svid(&self.dir_of(workload), &svid).expect("written");
    }

    pub fn load(&self, workload: Workload) -> Arc<SvidSource> {
        load(&self.dir_of(workload))
    }
}

fn load(dir: &Path) -> Arc<SvidSource> {
    SvidSource::load(SvidPaths::in_dir(dir), TrustDomain::default()).expect("an SVID source")
}

async fn port_of_caller(ConnectInfo(remote): ConnectInfo<SocketAddr>) -> String {
    remote.port().to_string()
}

async fn slowly(remote: ConnectInfo<SocketAddr>) -> String {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    port_of_caller(remote).await
}

/// The thumbprint of the certificate the caller presented on this connection.
async fn certificate_of_caller(Extension(presented): Extension<CertThumbprint>) -> String {
    presented.0
}

/// Starts an internal listener as `SERVER` whose connections live at most `max_age`, and
/// returns its base URL. `/port`: the caller's source port (two requests on one connection
/// answer the same); `/slow`: the same, after 1.5 s; `/certificate`: the thumbprint of the
/// caller's certificate.
pub async fn spawn_server(svid: Arc<SvidSource>, max_age: Duration) -> String {
    let listener = baton_workload::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bound");
    let port = listener.local_addr().expect("an address").port();
    let router = Router::new()
        .route("/port", get(port_of_caller))
        .route("/slow", get(slowly))
        .route("/certificate", get(certificate_of_caller));
    let listening = Listening {
        tls: Arc::new(baton_workload::tls::internal_server(&svid).expect("a TLS config")),
        svid,
        limits: ConnectionLimits {
            max_age,
            ..ConnectionLimits::default()
        },
        controls: Controls::enforcing(),
    };
    tokio::spawn(serve_tls(
        listener,
        router,
        listening,
        std::future::pending(),
    ));
    format!("https://127.0.0.1:{port}")
}

/// What a request to `path` was answered, or the error.
pub async fn get_text(
    client: &reqwest::Client,
    base: &str,
    path: &str,
) -> Result<String, reqwest::Error> {
    client
        .get(format!("{base}{path}"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}
