//! A fake third party: the supplier orders asks for today's price and availability of a SKU, and a
//! webhook receiver orders can notify.
//!
//! It stands for everything outside Baton's trust domain. It has no SPIFFE ID and knows nothing of
//! Baton's tokens; it speaks plain HTTPS with a certificate from its own CA ([`tls`]), as a
//! partner's public API would. Orders trusts that CA through a file (`ORDERS_SUPPLIER_CA_FILE`),
//! the way a real deployment would trust the public roots.
//!
//! The point of the fake is that it can turn hostile on demand. [`Mode`] picks how it answers
//! `GET /v1/prices/{sku}`: honestly, or with a huge body, wrong types, a redirect to an internal
//! address, a slow drip of bytes, or an absurd price. The test kit flips the mode at run time
//! through a [`SupplierHandle`]; `just up` reads `SUPPLIER_MODE` once.
//!
//! Routes:
//! - `GET /v1/prices/{sku}`: `{"sku", "unit_price_minor", "currency", "available"}`, as [`Mode`] says;
//! - `POST /v1/hooks`: a webhook receiver that counts what it received;
//! - `GET|POST /v1/redirect?to=<url>`: an open redirect, as an attacker's server would have;
//! - `GET /health`.
//!
//! [`Canary`] is its smaller sibling: a receiver that records what reaches it, standing in for a
//! host outside the machine.

pub mod canary;
mod server;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use http_body_util::Channel;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

pub use canary::{Answer, Canary, CanaryHandle, Received};
pub use tls::ThirdPartyCa;

/// The supplier's catalogue: the same SKUs and prices as orders' own, in euros.
const PRICES: [(&str, i64); 3] = [
    ("BATON-MUG", 1250),
    ("BATON-TSHIRT", 2400),
    ("BATON-STICKERS", 300),
];
const CURRENCY: &str = "EUR";
/// How big the huge answer is.
pub const HUGE_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The pause between two bytes of the slow drip.
pub const DRIP_PAUSE: Duration = Duration::from_millis(100);
/// Where the redirect mode sends orders unless told otherwise: the cloud metadata endpoint.
pub const METADATA_URL: &str = "https://169.254.169.254/latest/meta-data/iam/security-credentials/";

/// How the supplier answers a price request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The catalogue's price, in the catalogue's currency, available.
    #[default]
    Honest,
    /// A valid answer padded to [`HUGE_BODY_BYTES`].
    HugeBody,
    /// The right fields with the wrong types: the price as a string of major units.
    WrongTypes,
    /// A `307` to an internal address (see [`SupplierHandle::redirect_to`]).
    RedirectToInternal,
    /// The honest answer, one byte every [`DRIP_PAUSE`].
    SlowDrip,
    /// A price of one cent for everything.
    AbsurdPrice,
}

impl Mode {
    /// Every mode but the honest one.
    pub const MALICIOUS: [Mode; 5] = [
        Mode::HugeBody,
        Mode::WrongTypes,
        Mode::RedirectToInternal,
        Mode::SlowDrip,
        Mode::AbsurdPrice,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Honest => "honest",
            Mode::HugeBody => "huge-body",
            Mode::WrongTypes => "wrong-types",
            Mode::RedirectToInternal => "redirect",
            Mode::SlowDrip => "slow-drip",
            Mode::AbsurdPrice => "absurd-price",
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        [Mode::Honest]
            .into_iter()
            .chain(Mode::MALICIOUS)
            .find(|mode| mode.name() == raw)
            .ok_or_else(|| {
                "expected honest, huge-body, wrong-types, redirect, slow-drip or absurd-price"
                    .to_owned()
            })
    }
}

/// Switches a running supplier's behaviour, and reads what its webhook receiver got.
#[derive(Debug, Clone)]
pub struct SupplierHandle {
    mode: Arc<RwLock<Mode>>,
    redirect_target: Arc<RwLock<String>>,
    hooks_received: Arc<AtomicU64>,
    huge_body_sent: Arc<AtomicU64>,
}

impl SupplierHandle {
    fn new(mode: Mode) -> Self {
        Self {
            mode: Arc::new(RwLock::new(mode)),
            redirect_target: Arc::new(RwLock::new(METADATA_URL.to_owned())),
            hooks_received: Arc::new(AtomicU64::new(0)),
            huge_body_sent: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode.read().map(|mode| *mode).unwrap_or_default()
    }

    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut current) = self.mode.write() {
            *current = mode;
        }
    }

    /// Where [`Mode::RedirectToInternal`] sends its callers.
    pub fn redirect_to(&self, url: &str) {
        if let Ok(mut target) = self.redirect_target.write() {
            url.clone_into(&mut target);
        }
    }

    /// How many webhook calls `POST /v1/hooks` has received.
    pub fn hooks_received(&self) -> u64 {
        self.hooks_received.load(Ordering::SeqCst)
    }

    /// How many bytes of [`Mode::HugeBody`]'s answers a client has taken: [`HUGE_BODY_BYTES`] per
    /// answer read to its end, less for a client that stopped reading and hung up.
    pub fn huge_body_sent(&self) -> u64 {
        self.huge_body_sent.load(Ordering::SeqCst)
    }

    fn redirect_target(&self) -> String {
        self.redirect_target
            .read()
            .map(|target| target.clone())
            .unwrap_or_else(|_| METADATA_URL.to_owned())
    }
}

/// A bound supplier, ready to serve.
#[derive(Debug)]
pub struct Supplier {
    listener: TcpListener,
    port: u16,
    ca: ThirdPartyCa,
    handle: SupplierHandle,
}

impl Supplier {
    /// Binds `addr` (port 0 picks one) and makes a fresh CA and certificate for it.
    pub async fn bind(addr: SocketAddr, mode: Mode) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            port,
            ca: ThirdPartyCa::generate()?,
            handle: SupplierHandle::new(mode),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA certificate (PEM) a client must trust to talk to this supplier.
    pub fn ca_pem(&self) -> &str {
        self.ca.ca_pem()
    }

    /// The supplier's CA, which can issue certificates for other fake third parties.
    pub fn ca(&self) -> &ThirdPartyCa {
        &self.ca
    }

    pub fn handle(&self) -> SupplierHandle {
        self.handle.clone()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let config = self.ca.server_config()?;
        server::serve(self.listener, router(self.handle), config, shutdown).await;
        Ok(())
    }
}

/// The supplier's routes.
pub fn router(handle: SupplierHandle) -> Router {
    Router::new()
        .route("/v1/prices/{sku}", get(price))
        .route("/v1/hooks", post(hook))
        .route("/v1/redirect", any(redirect))
        .route("/health", get(|| async { "ok" }))
        .with_state(handle)
}

async fn price(State(handle): State<SupplierHandle>, Path(sku): Path<String>) -> Response {
    let Some(&(sku, unit_price_minor)) = PRICES.iter().find(|(known, _)| *known == sku) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let honest = json!({
        "sku": sku, "unit_price_minor": unit_price_minor, "currency": CURRENCY, "available": true,
    });
    match handle.mode() {
        Mode::Honest => json_response(honest.to_string()),
        Mode::AbsurdPrice => json_response(
            json!({ "sku": sku, "unit_price_minor": 1, "currency": CURRENCY, "available": true })
                .to_string(),
        ),
        Mode::WrongTypes => {
            let major = format!("{}.{:02}", unit_price_minor / 100, unit_price_minor % 100);
            json_response(
                json!({ "sku": sku, "unit_price_minor": major, "currency": 978, "available": "yes" })
                    .to_string(),
            )
        }
        Mode::HugeBody => {
            let padding = "x".repeat(HUGE_BODY_BYTES);
            let body = json!({
                "sku": sku, "unit_price_minor": unit_price_minor, "currency": CURRENCY,
                "available": true, "padding": padding,
            });
            counted(body.to_string(), handle.huge_body_sent.clone())
        }
        Mode::RedirectToInternal => (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, handle.redirect_target())],
        )
            .into_response(),
        Mode::SlowDrip => drip(honest.to_string()),
    }
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The body in chunks, counting into `sent` each chunk the connection took: a client that stops
/// reading stops the count near where it stopped.
fn counted(body: String, sent: Arc<AtomicU64>) -> Response {
    const CHUNK: usize = 16 * 1024;
    let (mut sender, channel) = Channel::<Bytes, std::io::Error>::new(1);
    tokio::spawn(async move {
        let body = Bytes::from(body);
        for start in (0..body.len()).step_by(CHUNK) {
            let chunk = body.slice(start..body.len().min(start + CHUNK));
            let len = chunk.len() as u64;
            if sender.send_data(chunk).await.is_err() {
                return;
            }
            sent.fetch_add(len, Ordering::SeqCst);
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::new(channel),
    )
        .into_response()
}

/// The body, one byte at a time, [`DRIP_PAUSE`] apart.
fn drip(body: String) -> Response {
    let (mut sender, channel) = Channel::<Bytes, std::io::Error>::new(1);
    tokio::spawn(async move {
        for byte in body.into_bytes() {
            tokio::time::sleep(DRIP_PAUSE).await;
            if sender.send_data(Bytes::from(vec![byte])).await.is_err() {
                return;
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::new(channel),
    )
        .into_response()
}

async fn hook(State(handle): State<SupplierHandle>) -> StatusCode {
    handle.hooks_received.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct RedirectQuery {
    to: String,
}

async fn redirect(Query(query): Query<RedirectQuery>) -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, query.to)],
    )
        .into_response()
}
