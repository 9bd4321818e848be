//! Serving an axum router over TLS, with the peer's verified identity attached to every request.
//!
//! `axum::serve` speaks plain TCP only, so this is the accept loop it would run, plus a TLS
//! handshake: accept, handshake (bounded in time), read the client's SPIFFE ID from its
//! certificate, then hand the connection to hyper with that identity (and the client's address)
//! inserted into each request's extensions. REST and gRPC share the loop; ALPN picks HTTP/2 for gRPC.
//!
//! Before the handshake a connection must be admitted ([`crate::limits`]: a cap in all and per
//! source); after it, [`watchdog`] closes it when idle and at its [`deadline`] (the first of the
//! two certificates' expiry and the maximum age), while hyper bounds each request's head in time
//! and size.
//!
//! Shutdown is graceful: on the signal we stop accepting, ask every open connection to close
//! once its requests are answered, and wait (bounded) for them.

pub mod deadline;
mod watchdog;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use baton_platform::{Control, Controls};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::certificate;
pub use crate::certificate::thumbprint_of;
use crate::limits::{Admission, ConnectionLimits};
use crate::peer::Peer;
use crate::spiffe::SpiffeId;
use crate::svid::SvidSource;
use deadline::{Deadline, EndOfLife};
use watchdog::{Activity, Ended, Watched};

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for open connections (each gets [`watchdog::DRAIN_TIMEOUT`] to finish
/// its requests once asked to close; this adds a little for the last of them).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(12);
/// How often an idle HTTP/2 peer is pinged, and how long it has to answer.
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's own bound on a request's head, on every listener: past it the connection is dropped
/// before any handler runs (HTTP/1: the read buffer; HTTP/2: the decoded header list). The
/// gateway answers a tighter limit itself, as a problem (`GATEWAY_MAX_HEADER_BYTES`).
const MAX_REQUEST_HEAD: u32 = 64 * 1024;

/// What a listener needs besides its router: its TLS configuration, the SVID it presents (whose
/// trust domain client certificates must belong to, and whose expiry ends connections), its
/// connection limits and the switches that may lift them.
#[derive(Debug, Clone)]
pub struct Listening {
    pub tls: Arc<ServerConfig>,
    pub svid: Arc<SvidSource>,
    pub limits: ConnectionLimits,
    pub controls: Controls,
}

/// Serves `router` over TLS on `listener` until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    listening: Listening,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limited = listening.controls.is_on(Control::TransportConnectionLimits);
    let admission = Admission::new(&listening.limits);
    let listening = Arc::new(listening);
    let (closing, closed) = watch::channel(false);
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
        let admitted = match admission.admit(remote.ip()) {
            Ok(admitted) => Some(admitted),
            Err(refused) if limited => {
                tracing::warn!(%remote, reason = %refused, security_event = "connection_refused", "refused a connection");
                continue;
            }
            // Lab mode: let it in anyway, uncounted.
            Err(_) => None,
        };
        let (router, listening, closed) = (router.clone(), listening.clone(), closed.clone());
        tokio::spawn(async move {
            serve_connection(tcp, remote, router, &listening, closed).await;
            drop(admitted);
        });
    }
    drop(listener);
    let _ = closing.send(true);
    if !admission.drained(DRAIN_TIMEOUT).await {
        tracing::warn!("some connections were still open after the drain timeout");
    }
    Ok(())
}

/// One connection: the handshake, the peer's identity, then hyper under the watchdog.
async fn serve_connection(
    tcp: TcpStream,
    remote: SocketAddr,
    router: Router,
    listening: &Listening,
    closed: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let (opened, opened_at) = (Instant::now(), SystemTime::now());
    let own_before = listening.svid.not_after();
    let limited = listening.controls.is_on(Control::TransportConnectionLimits);
    let activity = Activity::new();
    let acceptor = TlsAcceptor::from(listening.tls.clone());
    let tls = match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        acceptor.accept(Watched::new(tcp, activity.clone())),
    )
    .await
    {
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
    // We presented the certificate current at the handshake: the one read before it or, had it
    // rotated meanwhile, the one read now. The earlier expiry is right either way.
    let own_not_after = earlier(own_before, listening.svid.not_after());
    let deadline = Deadline::earliest(
        opened,
        opened_at,
        leaf.and_then(|leaf| certificate::not_after(leaf)),
        own_not_after,
        listening.limits.max_age,
    );
    let peer = match leaf {
        None => Peer::Anonymous,
        Some(leaf) => match SpiffeId::from_svid(leaf, listening.svid.trust_domain()) {
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
            // The client's address, as `axum::serve` would give it: the gateway tells the STS
            // where a login attempt came from, for throttling.
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(remote));
            request
        },
    );
    let builder = http_builder(&listening.limits, limited);
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(service))
        .into_owned();
    let drive = watchdog::drive(
        connection,
        |connection| connection.graceful_shutdown(),
        &activity,
        limited.then_some(listening.limits.idle_timeout),
        deadline,
        closed,
    );
    match drive.await {
        (_, Some(Err(err))) => {
            tracing::debug!(%remote, error = %err, "connection ended with an error");
        }
        (Ended::Idle, _) => tracing::debug!(%remote, "closed an idle connection"),
        (Ended::Expired(EndOfLife::MaxAge), _) => {
            tracing::debug!(%remote, reason = %EndOfLife::MaxAge, "closed a connection at its deadline");
        }
        (Ended::Expired(reason), _) => {
            tracing::info!(%remote, %reason, "closed a connection at its deadline");
        }
        _ => {}
    }
}

fn earlier(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// hyper's settings for one connection: bounded heads (HTTP/1: in time and in size; HTTP/2: the
/// decoded header list, the streams at once, pings to a quiet peer).
fn http_builder(limits: &ConnectionLimits, limited: bool) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .max_buf_size(MAX_REQUEST_HEAD as usize)
        .header_read_timeout(limited.then_some(limits.header_read_timeout));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_REQUEST_HEAD)
        .max_concurrent_streams(limited.then_some(limits.max_concurrent_streams))
        .keep_alive_interval(limited.then_some(H2_KEEP_ALIVE_INTERVAL))
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT);
    builder
}
