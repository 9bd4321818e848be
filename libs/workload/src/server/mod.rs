//! Serving an axum router over TLS, with the peer's verified identity attached to every request.
//!
//! `axum::serve` speaks plain TCP only, so this is the accept loop it would run, plus a TLS
//! handshake: accept, handshake (bounded in time), read the client's SPIFFE ID from its
//! certificate, then hand the connection to hyper with that identity (and the client's address)
//! inserted into each request's extensions. REST and gRPC share the loop; ALPN picks HTTP/2 for gRPC.
//!
//! Shutdown is graceful: on the signal we stop accepting and wait (bounded) for open
//! connections to finish the requests they are serving.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_platform::{CertThumbprint, TrustDomain};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::peer::Peer;
use crate::spiffe::SpiffeId;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for open connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's own bound on a request's head, on every listener: past it the connection is dropped
/// before any handler runs (HTTP/1: the read buffer; HTTP/2: the decoded header list). The
/// gateway answers a tighter limit itself, as a problem (`GATEWAY_MAX_HEADER_BYTES`).
const MAX_REQUEST_HEAD: u32 = 64 * 1024;

/// Serves `router` over TLS on `listener` until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    config: Arc<ServerConfig>,
    trust_domain: TrustDomain,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (acceptor, router, trust_domain) =
            (acceptor.clone(), router.clone(), trust_domain.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::warn!(%remote, error = %err, security_event = "tls_handshake_refused", "refused a TLS handshake");
                    return;
                }
                Err(_) => return,
            };
            let leaf = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first());
            let thumbprint = leaf.map(|leaf| thumbprint_of(leaf.as_ref()));
            let peer = match leaf {
                None => Peer::Anonymous,
                Some(leaf) => match SpiffeId::from_svid(leaf, &trust_domain) {
                    Ok(id) => Peer::Workload(id),
                    Err(err) => {
                        tracing::warn!(%remote, error = %err, security_event = "peer_not_an_svid", "refused a peer");
                        return;
                    }
                },
            };
            let service = router.map_request(
                move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(peer.clone());
                    if let Some(thumbprint) = &thumbprint {
                        request.extensions_mut().insert(thumbprint.clone());
                    }
                    // The client's address, as `axum::serve` would give it: the gateway tells the
                    // STS where a login attempt came from, for throttling.
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(remote));
                    request
                },
            );
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().max_buf_size(MAX_REQUEST_HEAD as usize);
            builder.http2().max_header_list_size(MAX_REQUEST_HEAD);
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(tls),
                TowerToHyperService::new(service),
            );
            if let Err(err) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%remote, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain timeout");
    }
    Ok(())
}

/// The RFC 8705 thumbprint (`x5t#S256`) of a DER certificate.
pub fn thumbprint_of(der: &[u8]) -> CertThumbprint {
    CertThumbprint(URL_SAFE_NO_PAD.encode(Sha256::digest(der)))
}
