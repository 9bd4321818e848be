//! The workload transport: how one Baton component reaches another, and how it listens.
//!
//! This is the seam that mutual TLS plugs into. No service builds an HTTP client, a gRPC
//! channel or a listener of its own: they ask the [`Transport`] for one. Today there is one
//! transport, plaintext on the loopback; when workload identity lands, an `Mtls` variant is added
//! here and every internal hop switches in one place, with the plaintext path left only behind a
//! clearly named lab switch.

use std::future::Future;
use std::time::Duration;

use baton_platform::ConfigError;
use baton_platform::config::{Source, SourceExt};
use tokio::net::TcpListener;

/// How long an internal call may take to connect, and to finish.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How workloads connect to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP/1.1 and HTTP/2 over plain TCP. Only for components on one machine's loopback.
    Plaintext,
}

/// Why a client or channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("`{0}` is not a valid upstream address")]
    Address(String),
}

impl Transport {
    pub const KEY: &'static str = "BATON_TRANSPORT";

    /// Reads `BATON_TRANSPORT` (`plaintext`, the only one so far and the default).
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let raw: String = source.parse_or(Self::KEY, "plaintext".to_owned())?;
        match raw.as_str() {
            "plaintext" => Ok(Transport::Plaintext),
            other => Err(ConfigError::invalid(
                Self::KEY,
                other,
                "expected `plaintext`",
            )),
        }
    }

    /// The base URL of a workload listening at `authority` (`host:port`).
    pub fn base_url(&self, authority: &str) -> String {
        match self {
            Transport::Plaintext => format!("http://{authority}"),
        }
    }

    /// An HTTP client for calls to other workloads, with bounded connect and request times.
    ///
    /// Build one per component at start-up and clone it: it holds the connection pool.
    pub fn http_client(&self) -> Result<reqwest::Client, TransportError> {
        match self {
            Transport::Plaintext => reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                // Internal calls never follow redirects: a redirect inside the platform is a bug
                // or an attack, and following it would carry the user's token elsewhere.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(TransportError::HttpClient),
        }
    }

    /// A gRPC channel to the workload at `authority`. It connects lazily, so components can start
    /// in any order; the first call waits for the connection.
    pub fn grpc_channel(
        &self,
        authority: &str,
    ) -> Result<tonic::transport::Channel, TransportError> {
        let url = self.base_url(authority);
        let endpoint = tonic::transport::Endpoint::from_shared(url)
            .map_err(|_| TransportError::Address(authority.to_owned()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT);
        Ok(endpoint.connect_lazy())
    }

    /// Serves `router` (REST and gRPC alike) on `listener` until `shutdown` resolves, then lets
    /// requests in flight finish.
    pub async fn serve(
        &self,
        listener: TcpListener,
        router: axum::Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        match self {
            Transport::Plaintext => {
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
    use super::*;
    use baton_platform::config::Map;

    #[test]
    fn plaintext_is_the_default_and_anything_else_is_refused() {
        assert_eq!(
            Transport::from_source(&Map::new()).ok(),
            Some(Transport::Plaintext)
        );
        let source = Map::new().with(Transport::KEY, "carrier-pigeon");
        assert!(Transport::from_source(&source).is_err());
    }
}
