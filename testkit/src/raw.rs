//! Requests exactly as written, and connections that behave as no client library would: for
//! attacks on the gateway's path handling and on its listener.
//!
//! Every HTTP client library cleans a URL up before it sends it: `reqwest` (through the `url`
//! crate) resolves `/a/../b` and `/a/%2e%2e/b` to `/b` on the client side, so a test written with
//! it could never send a traversal to the gateway. [`TestPlatform::raw_request`] sends one
//! HTTP/1.1 request over TLS with the request line as given (what `curl --path-as-is` does) and
//! reads the whole answer. [`TestPlatform::tls_to_gateway`] opens a bare TLS connection from a
//! chosen loopback address and leaves the talking (or the silence) to the test: a slowloris.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;

use crate::TestPlatform;

/// An answer to a raw request.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    pub body: String,
}

impl RawAnswer {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

impl TestPlatform {
    /// Sends `method target` to the gateway as written, with `headers`, and no body.
    pub async fn raw_request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<RawAnswer> {
        let authority = self.gateway_authority()?;
        let mut tls = self.tls_to_gateway(IpAddr::from([127, 0, 0, 1])).await?;
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("Connection: close\r\n\r\n");
        tls.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        // A server may close without TLS close_notify; what arrived before that is the answer.
        let _ = tls.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .context("no status line in the answer")?;
        Ok(RawAnswer {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        })
    }

    /// A TLS connection to the gateway from the loopback address `from` (any of `127.0.0.0/8`,
    /// so a test can be several sources at once), handshake done, nothing sent yet.
    pub async fn tls_to_gateway(&self, from: IpAddr) -> anyhow::Result<TlsStream<TcpStream>> {
        let authority = self.gateway_authority()?;
        let target: SocketAddr = authority.parse()?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca.ca().bundle_pem().as_bytes()) {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let socket = match from {
            IpAddr::V4(_) => TcpSocket::new_v4()?,
            IpAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(from, 0))?;
        let tcp = socket.connect(target).await?;
        let server = ServerName::try_from(target.ip().to_string())?;
        Ok(tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(server, tcp)
            .await?)
    }

    fn gateway_authority(&self) -> anyhow::Result<&str> {
        self.gateway_url
            .strip_prefix("https://")
            .context("the gateway speaks TLS")
    }
}
