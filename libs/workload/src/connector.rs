//! The connector tonic uses for gRPC over mutual TLS: TCP, then a rustls handshake that presents
//! our SVID and accepts only the expected server workload. (tonic's own TLS settings cannot
//! express "check the SPIFFE ID instead of the host name", so we hand it the connection ready.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Connects to whatever `Uri` tonic asks for, over mutual TLS.
#[derive(Clone)]
pub struct MtlsConnector {
    tls: TlsConnector,
}

impl std::fmt::Debug for MtlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtlsConnector").finish_non_exhaustive()
    }
}

impl MtlsConnector {
    pub fn new(config: ClientConfig) -> Self {
        Self {
            tls: TlsConnector::from(Arc::new(config)),
        }
    }
}

impl tower::Service<Uri> for MtlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let invalid = || {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the URI has no host and port",
                )
            };
            let host = uri.host().ok_or_else(invalid)?.to_owned();
            let port = uri.port_u16().ok_or_else(invalid)?;
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            // The name is only sent as SNI; the verifier checks the SPIFFE ID, not this.
            let name = ServerName::try_from(host).map_err(|_| invalid())?;
            Ok(TokioIo::new(tls.connect(name, tcp).await?))
        })
    }
}
