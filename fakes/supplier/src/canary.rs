//! A canary: an HTTPS receiver on loopback that records every request it gets.
//!
//! Tests need to know whether orders *reached* a place it must not reach (the cloud's metadata
//! service, a peer's admin port) or one it may (a customer's public webhook), without any
//! connection leaving the machine. A canary stands in for such a place. It listens on a loopback
//! port, presents a certificate from the [`ThirdPartyCa`] for the name or address it stands in for
//! (so orders verifies it exactly as it would verify the real host), and keeps every request it
//! receives as evidence. What it answers is set at run time ([`Answer`]): an empty success, a
//! failure, or a redirect somewhere else.
//!
//! The test kit points orders' dialer at canaries for the public and metadata addresses
//! (`baton_testkit::hermetic`); attacks start their own on `127.0.0.1` and `::1`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::ThirdPartyCa;

/// The most of a request's body a canary keeps.
const MAX_KEPT_BODY: usize = 64 * 1024;

/// One request a canary received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub method: String,
    /// The path and query, as sent.
    pub path: String,
    /// The `Host` header: the name the client meant to reach.
    pub host: Option<String>,
    pub body: Bytes,
}

/// What a canary answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Answer {
    /// `204 No Content`: a receiver that accepted the call.
    #[default]
    NoContent,
    /// This status, with no body.
    Status(StatusCode),
    /// `307 Temporary Redirect` to this URL: an attacker's server sending its caller on.
    RedirectTo(String),
}

/// Reads what a running canary received, and changes what it answers.
#[derive(Debug, Clone, Default)]
pub struct CanaryHandle {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<RwLock<Answer>>,
}

impl CanaryHandle {
    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .map(|received| received.clone())
            .unwrap_or_default()
    }

    /// How many requests arrived.
    pub fn hits(&self) -> usize {
        self.received.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// Answers every later request with `answer`.
    pub fn answer_with(&self, answer: Answer) {
        if let Ok(mut current) = self.answer.write() {
            *current = answer;
        }
    }

    /// Waits until at least `count` requests arrived, at most `within`; whether they did.
    pub async fn wait_for(&self, count: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.hits() >= count {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn answer(&self) -> Answer {
        self.answer
            .read()
            .map(|answer| answer.clone())
            .unwrap_or_default()
    }

    fn record(&self, received: Received) {
        if let Ok(mut all) = self.received.lock() {
            all.push(received);
        }
    }
}

/// A bound canary, ready to serve.
#[derive(Debug)]
pub struct Canary {
    listener: TcpListener,
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    handle: CanaryHandle,
}

impl Canary {
    /// Binds `addr` (port 0 picks one) with a certificate from `ca` for `names`.
    pub async fn bind(addr: SocketAddr, ca: &ThirdPartyCa, names: &[&str]) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            addr: listener.local_addr()?,
            listener,
            tls: ca.server_config_for(names)?,
            handle: CanaryHandle::default(),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn handle(&self) -> CanaryHandle {
        self.handle.clone()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let router = Router::new().fallback(receive).with_state(self.handle);
        crate::server::serve(self.listener, router, self.tls, shutdown).await;
    }

    /// Serves in the background until the runtime stops; for tests that need a canary for a
    /// moment.
    pub fn spawn(self) -> CanaryHandle {
        let handle = self.handle();
        tokio::spawn(self.run_until(std::future::pending()));
        handle
    }
}

async fn receive(State(handle): State<CanaryHandle>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_KEPT_BODY)
        .await
        .unwrap_or_default();
    handle.record(Received {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|path| path.as_str().to_owned())
            .unwrap_or_default(),
        host: parts
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map(str::to_owned),
        body,
    });
    match handle.answer() {
        Answer::NoContent => StatusCode::NO_CONTENT.into_response(),
        Answer::Status(status) => status.into_response(),
        Answer::RedirectTo(url) => {
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, url)]).into_response()
        }
    }
}
