//! The two reference servers of the first rows: a hello-world service and a bare reverse proxy.
//!
//! Both use exactly the transport the platform uses, so the rows after them differ only by what
//! Baton adds: the hello-world service answers over mutual TLS with the `orders` SVID (as the
//! service behind the gateway would), and the proxy takes public TLS with the gateway's
//! certificate and forwards over mutual TLS with reqwest, as the gateway does. The proxy passes on
//! the method, the path, the end-to-end headers (the client's `Authorization` too) and the body,
//! and the answer likewise: no routing, no limits, no token exchange, no checks.

use std::future::Future;
use std::path::Path;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_platform::{TrustDomain, Workload};
use baton_workload::{SvidPaths, SvidSource, Transport};

/// Starts the hello-world service as the workload `orders` (its SVID from `certs_dir`) and
/// returns its port.
pub async fn hello_world(
    certs_dir: &Path,
    trust_domain: &TrustDomain,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<u16> {
    let svid = SvidSource::load(
        SvidPaths::in_dir(&certs_dir.join("orders")),
        trust_domain.clone(),
    )?;
    let tls = baton_workload::tls::internal_server(&svid)?;
    let router = Router::new().fallback(|| async { "hello" });
    serve(router, tls, svid, shutdown).await
}

/// Starts the bare proxy in front of `upstream_port` (as the gateway's identity) and returns its
/// port.
pub async fn bare_proxy(
    certs_dir: &Path,
    trust_domain: &TrustDomain,
    upstream_port: u16,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<u16> {
    let svid = SvidSource::load(
        SvidPaths::in_dir(&certs_dir.join("gateway")),
        trust_domain.clone(),
    )?;
    let tls = baton_workload::tls::public_server(&svid)?;
    let client = Transport::mtls(svid.clone())
        .http_client(Workload::Orders)
        .context("the proxy's client")?;
    let upstream = Upstream {
        client,
        base_url: format!("https://127.0.0.1:{upstream_port}"),
    };
    let router = Router::new().fallback(forward).with_state(upstream);
    serve(router, tls, svid, shutdown).await
}

#[derive(Debug, Clone)]
struct Upstream {
    client: reqwest::Client,
    base_url: String,
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let sent = upstream
        .client
        .request(parts.method, format!("{}{path}", upstream.base_url))
        .headers(end_to_end(&parts.headers))
        .body(body)
        .send()
        .await;
    let Ok(answer) = sent else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let (status, headers) = (answer.status(), end_to_end(answer.headers()));
    match answer.bytes().await {
        Ok(bytes) => (status, headers, Body::from(bytes)).into_response(),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// The headers a proxy passes on (RFC 9110 §7.6.1): all but the hop-by-hop ones and `Host`.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    ];
    headers
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

async fn serve(
    router: Router,
    tls: rustls::ServerConfig,
    svid: std::sync::Arc<SvidSource>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<u16> {
    let listener = baton_workload::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let port = listener.local_addr()?.port();
    // The reference servers get the same connection limits as Baton's own listeners.
    let listening = baton_workload::server::Listening {
        tls: std::sync::Arc::new(tls),
        svid,
        limits: baton_workload::ConnectionLimits::default(),
        controls: baton_platform::Controls::enforcing(),
    };
    let serving = baton_workload::server::serve_tls(listener, router, listening, shutdown);
    tokio::spawn(async move {
        if let Err(err) = serving.await {
            tracing::error!(error = %err, "a benchmark server stopped");
        }
    });
    Ok(port)
}
