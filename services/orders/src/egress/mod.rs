//! Orders' connections to the world outside the platform: the supplier and webhooks.
//!
//! These are the only connections in Baton whose destination is not fixed by configuration: a
//! webhook URL comes from a customer, and a redirect (which only lab mode follows) from a third
//! party. So they all go through one client built here, with two seams that are injected rather
//! than hard-wired:
//! - [`Resolve`] turns a host name into addresses (in production, the system's resolver);
//! - [`Dial`] turns an address into a TCP connection (in production, a plain `connect`).
//!
//! The seams exist for tests, which must never let a connection leave the machine yet still need
//! to see what orders *decided* to reach. The test kit resolves names from a fixed table and
//! dials through a hermetic dialer: loopback is reached as it is, a connection meant for a
//! public or metadata address it stands in for lands on a local canary, and anything else is
//! refused and fails the test. The SSRF guard ([`crate::webhook`]) still judges the real address;
//! only the socket underneath is redirected.
//!
//! Each request is bounded: in time (connect to last byte, [`HttpsClient::send`]) and in how much
//! of the answer is read (the caller's cap). The one exception is the careless client of lab
//! mode, which [`danger_send_following_redirects`] builds on.

pub mod resolve;

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::Url;
use rustls::ClientConfig;
use tokio::net::TcpStream;

pub use resolve::{NoResolver, Resolve, StaticHosts, SystemResolver};

/// How many redirects the careless client of lab mode follows, as common HTTP clients do.
const MAX_REDIRECTS: usize = 10;

/// What a dial returns.
pub type Dialing<'a> = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send + 'a>>;

/// Opens the TCP connection to an address the client chose.
pub trait Dial: Debug + Send + Sync {
    fn dial(&self, target: SocketAddr) -> Dialing<'_>;
}

/// Connects to the address asked for: production's dialer.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectDial;

impl Dial for DirectDial {
    fn dial(&self, target: SocketAddr) -> Dialing<'_> {
        Box::pin(TcpStream::connect(target))
    }
}

/// How orders reaches third parties: who resolves names and who dials addresses.
#[derive(Debug, Clone)]
pub struct Egress {
    resolver: Arc<dyn Resolve>,
    dial: Arc<dyn Dial>,
}

impl Default for Egress {
    /// The system's resolver and direct connections.
    fn default() -> Self {
        Self::new(Arc::new(SystemResolver), Arc::new(DirectDial))
    }
}

impl Egress {
    pub fn new(resolver: Arc<dyn Resolve>, dial: Arc<dyn Dial>) -> Self {
        Self { resolver, dial }
    }

    /// The same, with fixed answers for some names consulted before the resolver
    /// (`ORDERS_WEBHOOK_RESOLVE`).
    pub fn with_fixed_hosts(&self, pairs: &[(String, IpAddr)]) -> Self {
        Self {
            resolver: Arc::new(StaticHosts::new(pairs, self.resolver.clone())),
            dial: self.dial.clone(),
        }
    }

    pub fn resolver(&self) -> Arc<dyn Resolve> {
        self.resolver.clone()
    }

    /// An HTTPS client verifying servers against `tls`'s roots, each request bounded by
    /// `timeout` (`None`: unbounded, for the careless client of lab mode only). With `pinned`,
    /// connections to that host use exactly those addresses instead of resolving it again.
    pub fn client(
        &self,
        tls: &ClientConfig,
        timeout: Option<Duration>,
        pinned: Option<Pinned>,
    ) -> HttpsClient {
        let connector = Connector {
            egress: self.clone(),
            pinned: pinned.map(Arc::new),
            connect_timeout: timeout,
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_only()
            .enable_http1()
            .wrap_connector(connector);
        HttpsClient {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        }
    }
}

/// A host and the addresses its connections must use (what the SSRF guard approved).
#[derive(Debug, Clone)]
pub struct Pinned {
    /// Lowercase; an IPv6 literal without brackets.
    pub host: String,
    pub addrs: Vec<IpAddr>,
}

/// Why a request to a third party got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error("no answer within the time allowed")]
    Timeout,
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("`{0}` is not a URL this client can call")]
    BadUrl(String),
    #[error("the request failed: {0}")]
    Request(#[source] hyper_util::client::legacy::Error),
    #[error("the answer could not be read: {0}")]
    Body(String),
}

/// An answer read whole (within its cap).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// An HTTPS client for third parties. Cheap to clone; clones share their connections.
#[derive(Debug, Clone)]
pub struct HttpsClient {
    client: Client<HttpsConnector<Connector>, Full<Bytes>>,
    timeout: Option<Duration>,
}

impl HttpsClient {
    /// Sends one request and reads at most `cap` bytes of the answer (`None`: all of it), the
    /// whole exchange within the client's timeout. A JSON `body` is sent as such.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        json_body: Option<&Bytes>,
        cap: Option<usize>,
    ) -> Result<Answer, EgressError> {
        let exchange = self.exchange(method, url, json_body, cap);
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .map_err(|_| EgressError::Timeout)?,
            None => exchange.await,
        }
    }

    async fn exchange(
        &self,
        method: Method,
        url: &Url,
        json_body: Option<&Bytes>,
        cap: Option<usize>,
    ) -> Result<Answer, EgressError> {
        let uri: Uri = url
            .as_str()
            .parse()
            .map_err(|_| EgressError::BadUrl(url.to_string()))?;
        let mut request = Request::builder().method(method).uri(uri);
        if json_body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(json_body.cloned().unwrap_or_default()))
            .map_err(|_| EgressError::BadUrl(url.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(EgressError::Request)?;
        let (parts, body) = response.into_parts();
        let body = match cap {
            Some(cap) => {
                let announced = parts
                    .headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
                if announced.is_some_and(|length| length > cap as u64) {
                    return Err(EgressError::TooLarge(cap));
                }
                Limited::new(body, cap)
                    .collect()
                    .await
                    .map_err(
                        |err| match err.downcast::<http_body_util::LengthLimitError>() {
                            Ok(_) => EgressError::TooLarge(cap),
                            Err(err) => EgressError::Body(err.to_string()),
                        },
                    )?
                    .to_bytes()
            }
            None => body
                .collect()
                .await
                .map_err(|err| EgressError::Body(err.to_string()))?
                .to_bytes(),
        };
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// LAB MODE ONLY: sends like [`HttpsClient::send`], then follows up to ten redirects wherever
/// they point, as a naive client does: `301`, `302` and `303` become a `GET` without a body,
/// `307` and `308` repeat the request. This is the hole the SSRF guard and the supplier's
/// validation close; nothing outside lab mode calls it.
pub async fn danger_send_following_redirects(
    client: &HttpsClient,
    method: Method,
    url: &Url,
    json_body: Option<&Bytes>,
    cap: Option<usize>,
) -> Result<Answer, EgressError> {
    let (mut method, mut url, mut body) = (method, url.clone(), json_body.cloned());
    for _ in 0..MAX_REDIRECTS {
        let answer = client
            .send(method.clone(), &url, body.as_ref(), cap)
            .await?;
        let next = answer
            .status
            .is_redirection()
            .then(|| answer.headers.get(header::LOCATION))
            .flatten()
            .and_then(|location| url.join(location.to_str().ok()?).ok());
        let Some(next) = next else {
            return Ok(answer);
        };
        if matches!(answer.status.as_u16(), 301..=303) && method != Method::HEAD {
            (method, body) = (Method::GET, None);
        }
        url = next;
    }
    client.send(method, &url, body.as_ref(), cap).await
}

/// The TCP half of a third-party connection: resolve (or take the pinned addresses), then dial
/// each address in turn until one answers. `hyper-rustls` does the TLS on top, checking the
/// server's certificate against the URL's host.
#[derive(Debug, Clone)]
struct Connector {
    egress: Egress,
    pinned: Option<Arc<Pinned>>,
    connect_timeout: Option<Duration>,
}

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let raw_host = uri
                .host()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?;
            let host = raw_host
                .strip_prefix('[')
                .and_then(|inner| inner.strip_suffix(']'))
                .unwrap_or(raw_host)
                .to_ascii_lowercase();
            let port = uri.port_u16().unwrap_or(443);
            let addrs = match (host.parse::<IpAddr>(), &this.pinned) {
                (Ok(ip), _) => vec![ip],
                (Err(_), Some(pinned)) if pinned.host == host => pinned.addrs.clone(),
                (Err(_), _) => this.egress.resolver.resolve(&host).await?,
            };
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
            for ip in addrs {
                let dialing = this.egress.dial.dial(SocketAddr::new(ip, port));
                let dialed = match this.connect_timeout {
                    Some(limit) => tokio::time::timeout(limit, dialing)
                        .await
                        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
                    None => dialing.await,
                };
                match dialed {
                    Ok(tcp) => {
                        tcp.set_nodelay(true)?;
                        return Ok(TokioIo::new(tcp));
                    }
                    Err(err) => last = err,
                }
            }
            Err(last)
        })
    }
}
