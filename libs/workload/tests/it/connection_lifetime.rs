//! A connection lives no longer than its maximum age, nor than the client's certificate: then
//! the server closes it gracefully, and the client must open a new one, verified afresh.
//!
//! The handler answers with the client's source port, so a test can tell whether two requests
//! travelled on one connection or on two.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use baton_devca::DevCa;
use baton_platform::{Controls, TrustDomain, Workload};
use baton_workload::server::{Listening, serve_tls};
use baton_workload::{ConnectionLimits, SvidPaths, SvidSource, Transport};

const SERVER: Workload = Workload::Users;
const CLIENT: Workload = Workload::Orders;

/// A CA and the folder its SVIDs are written to.
struct Certs {
    ca: DevCa,
    dir: tempfile::TempDir,
}

impl Certs {
    fn new() -> Self {
        Self {
            ca: DevCa::generate(TrustDomain::default().as_str()).expect("a CA"),
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    fn dir_of(&self, workload: Workload) -> std::path::PathBuf {
        self.dir.path().join(workload.name())
    }

    /// Writes a fresh SVID for `workload`, valid for `lifetime` from now.
    fn issue(&self, workload: Workload, lifetime: Duration) {
        let svid = self.ca.issue(workload.name(), lifetime).expect("an SVID");
        baton_devca::files::write_svid(&self.dir_of(workload), &svid).expect("written");
    }

    fn load(&self, workload: Workload) -> Arc<SvidSource> {
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

/// Starts an internal listener as `SERVER` whose connections live at most `max_age`, and
/// returns its base URL.
async fn spawn_server(svid: Arc<SvidSource>, max_age: Duration) -> String {
    let listener = baton_workload::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bound");
    let port = listener.local_addr().expect("an address").port();
    let router = Router::new()
        .route("/port", get(port_of_caller))
        .route("/slow", get(slowly));
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

/// The source port a request to `path` was answered on, or the error.
async fn port(client: &reqwest::Client, base: &str, path: &str) -> Result<String, reqwest::Error> {
    client
        .get(format!("{base}{path}"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

#[tokio::test]
async fn a_connection_is_closed_at_its_maximum_age_after_its_requests_finish_and_the_next_request_opens_another()
 {
    let certs = Certs::new();
    certs.issue(SERVER, Duration::from_secs(600));
    certs.issue(CLIENT, Duration::from_secs(600));
    let base = spawn_server(certs.load(SERVER), Duration::from_millis(1000)).await;
    let client = Transport::mtls(certs.load(CLIENT))
        .http_client(SERVER)
        .expect("a client");

    let first = port(&client, &base, "/port").await.expect("answered");
    let again = port(&client, &base, "/port").await.expect("answered");
    assert_eq!(first, again, "a young connection is reused");
    let slow = port(&client, &base, "/slow").await;
    assert_eq!(
        slow.ok().as_deref(),
        Some(first.as_str()),
        "a request in flight at the deadline is answered on its connection"
    );
    let after = port(&client, &base, "/port").await.expect("answered");
    assert_ne!(
        after, first,
        "the old connection was closed at its maximum age"
    );
}

#[tokio::test]
async fn a_connection_is_closed_when_the_clients_certificate_expires_and_only_a_renewed_one_gets_back_in()
 {
    let certs = Certs::new();
    certs.issue(SERVER, Duration::from_secs(600));
    certs.issue(CLIENT, Duration::from_secs(2));
    let base = spawn_server(certs.load(SERVER), Duration::from_secs(3600)).await;
    let client_svid = certs.load(CLIENT);
    let client = Transport::mtls(client_svid.clone())
        .http_client(SERVER)
        .expect("a client");

    let first = port(&client, &base, "/port").await.expect("answered");
    // Past the certificate's `notAfter` by more than a second: certificate times are whole
    // seconds, and at the handshake rustls refuses only a time strictly after it.
    let not_after = client_svid.not_after().expect("a notAfter");
    let wait = not_after
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        + Duration::from_millis(1100);
    assert!(wait < Duration::from_secs(4), "waits {wait:?}");
    tokio::time::sleep(wait).await;
    assert!(
        port(&client, &base, "/port").await.is_err(),
        "the open connection was closed, and a new one is refused with the expired certificate"
    );

    certs.issue(CLIENT, Duration::from_secs(600));
    assert!(
        client_svid
            .reload_if_changed()
            .expect("the renewed SVID loads")
    );
    let renewed = port(&client, &base, "/port").await.expect("answered");
    assert_ne!(renewed, first);
}
