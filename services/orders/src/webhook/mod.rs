//! Order notifications to a client's webhook, and the guard that keeps them from becoming SSRF
//! (OWASP API7).
//!
//! A webhook URL is a request the client asks *our* server to make. Without a guard it reaches
//! whatever our network reaches: `https://169.254.169.254/` (the cloud's metadata service and its
//! credentials), `https://127.0.0.1:8092/` (a peer's admin port), a name whose DNS answer an
//! attacker controls. [`WebhookGuard::check`] decides, in this order:
//! 1. webhooks are on at all (the host allow-list is not empty);
//! 2. the URL parses, is `https`, and carries no user name or password;
//! 3. its host is on the allow-list (an IP literal only if the literal itself is listed);
//! 4. every address the host resolves to is public ([`address::is_public`]).
//!
//! It runs when the order is placed (a refusal is a 422 that says which rule failed) and again
//! at delivery, and the delivery's connection is pinned to the addresses that second check
//! approved, so a DNS answer that changes in between (rebinding) gains nothing. Redirects are
//! not followed; the delivery is bounded in time and in how much of the answer is read; it runs
//! in the background after the order is paid, and its failure never touches the order.
//!
//! `orders.ssrf_guard` off (lab mode) skips step 4, the pinning and the redirect refusal: a naive
//! client, which is what the attack suite needs to show the attacks work.

pub mod address;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use baton_platform::{Control, Controls};
use http::{Method, StatusCode};
use reqwest::Url;
use rustls::ClientConfig;
use serde_json::Value;

use crate::egress::{Egress, EgressError, Pinned, Resolve, danger_send_following_redirects};

/// The longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// How much of a webhook's answer is read (the rest is dropped with the connection).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// Why a webhook URL is refused. Each is answered as a 422 naming the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("webhooks are off: no host is allow-listed")]
    Off,
    #[error("not an absolute URL of at most 2048 characters")]
    Malformed,
    #[error("the scheme must be https")]
    Scheme,
    #[error("a user name or password in the URL is not allowed")]
    Userinfo,
    #[error("the host is not on the webhook allow-list")]
    HostNotAllowed,
    #[error("the host does not resolve")]
    Unresolvable,
    #[error("the host resolves to a private, loopback, link-local or otherwise internal address")]
    InternalAddress,
}

/// A webhook URL that passed the guard, with the addresses its connection must use.
#[derive(Debug, Clone)]
pub struct CheckedUrl {
    pub url: Url,
    /// The host as the allow-list knows it (lowercase; an IPv6 literal without brackets).
    pub host: String,
    pub addrs: Vec<IpAddr>,
}

/// The rules a webhook URL must pass.
#[derive(Debug, Clone)]
pub struct WebhookGuard {
    allowed_hosts: BTreeSet<String>,
    resolver: Arc<dyn Resolve>,
    controls: Controls,
}

/// An allow-list entry or a URL's host in one canonical form: IP literals as `std` prints them
/// (no brackets), names lowercase.
fn canonical_host(raw: &str) -> String {
    let bare = raw
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(raw);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => bare.trim_end_matches('.').to_ascii_lowercase(),
    }
}

impl WebhookGuard {
    pub fn new(allowed_hosts: &[String], resolver: Arc<dyn Resolve>, controls: Controls) -> Self {
        Self {
            allowed_hosts: allowed_hosts
                .iter()
                .map(|host| canonical_host(host))
                .collect(),
            resolver,
            controls,
        }
    }

    /// Whether any webhook can pass at all.
    pub fn is_on(&self) -> bool {
        !self.allowed_hosts.is_empty()
    }

    /// Checks `unverified_url` against every rule, resolving its host.
    pub async fn check(&self, unverified_url: &str) -> Result<CheckedUrl, Refusal> {
        if !self.is_on() {
            return Err(Refusal::Off);
        }
        if unverified_url.len() > MAX_URL_LEN {
            return Err(Refusal::Malformed);
        }
        let url = Url::parse(unverified_url).map_err(|_| Refusal::Malformed)?;
        if url.scheme() != "https" {
            return Err(Refusal::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Userinfo);
        }
        let host = canonical_host(url.host_str().ok_or(Refusal::Malformed)?);
        if !self.allowed_hosts.contains(&host) {
            return Err(Refusal::HostNotAllowed);
        }
        let addrs = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => self
                .resolver
                .resolve(&host)
                .await
                .map_err(|_| Refusal::Unresolvable)?,
        };
        if addrs.is_empty() {
            return Err(Refusal::Unresolvable);
        }
        if self.controls.is_on(Control::OrdersSsrfGuard)
            && !addrs.iter().all(|ip| address::is_public(*ip))
        {
            tracing::warn!(host = %host, security_event = "ssrf_refused", "refused a webhook to an internal address");
            return Err(Refusal::InternalAddress);
        }
        Ok(CheckedUrl { url, host, addrs })
    }
}

/// Why a delivery failed. Logged, never shown to anyone: the order is long answered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the URL no longer passes the guard: {0}")]
    Refused(#[from] Refusal),
    #[error("webhooks have no TLS configuration")]
    NoTls,
    #[error("the webhook answered with a redirect, which is not followed")]
    Redirected,
    #[error("the webhook's answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Egress(EgressError),
}

impl From<EgressError> for DeliveryError {
    fn from(err: EgressError) -> Self {
        match err {
            EgressError::TooLarge(_) => DeliveryError::TooLarge,
            other => DeliveryError::Egress(other),
        }
    }
}

/// Delivers order notifications.
#[derive(Debug, Clone)]
pub struct Notifier {
    guard: WebhookGuard,
    /// Built only when webhooks are on (the roots file is read at start-up).
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    egress: Egress,
}

impl Notifier {
    pub fn new(
        guard: WebhookGuard,
        tls: Option<Arc<ClientConfig>>,
        timeout: Duration,
        egress: Egress,
    ) -> Self {
        Self {
            guard,
            tls,
            timeout,
            egress,
        }
    }

    pub fn guard(&self) -> &WebhookGuard {
        &self.guard
    }

    /// Delivers `payload` to `url` in the background. Whatever happens is logged, and only
    /// logged: the order it is about is paid and answered already.
    pub fn notify_in_background(&self, url: String, payload: Value) {
        let notifier = self.clone();
        // Logged under the order's request and its id.
        tokio::spawn(baton_api::request_id::carry(async move {
            match notifier.deliver(&url, &payload).await {
                Ok(status) => tracing::info!(%status, "webhook delivered"),
                Err(err) => tracing::warn!(error = %err, "webhook not delivered"),
            }
        }));
    }

    /// Checks `url` again, then posts `payload` to it over a connection pinned to the addresses
    /// that check approved.
    pub async fn deliver(&self, url: &str, payload: &Value) -> Result<StatusCode, DeliveryError> {
        let target = self.guard.check(url).await?;
        let tls = self.tls.as_ref().ok_or(DeliveryError::NoTls)?;
        // The connection goes to the addresses the check saw, not to whatever DNS says a moment
        // later.
        let pinned = Pinned {
            host: target.host.clone(),
            addrs: target.addrs.clone(),
        };
        let client = self.egress.client(tls, Some(self.timeout), Some(pinned));
        let body = Bytes::from(payload.to_string());
        let cap = Some(MAX_RESPONSE_BYTES);
        let answer = if self.guard.controls.is_on(Control::OrdersSsrfGuard) {
            let answer = client
                .send(Method::POST, &target.url, Some(&body), cap)
                .await?;
            if answer.status.is_redirection() {
                tracing::warn!(host = %target.host, security_event = "webhook_redirect_refused", "a webhook answered with a redirect, not followed");
                return Err(DeliveryError::Redirected);
            }
            answer
        } else {
            // Lab mode: the naive client most code has, which follows redirects anywhere.
            danger_send_following_redirects(&client, Method::POST, &target.url, Some(&body), cap)
                .await?
        };
        Ok(answer.status)
    }
}

/// A TLS client configuration that trusts the roots in `ca_file` (PEM) and presents no
/// certificate: how orders talks to third parties, the supplier and webhooks.
pub fn tls_from_roots(ca_file: &std::path::Path) -> Result<Arc<ClientConfig>, String> {
    let pem = std::fs::read(ca_file)
        .map_err(|err| format!("cannot read `{}`: {err}", ca_file.display()))?;
    tls_from_pem(&pem).map_err(|reason| format!("`{}`: {reason}", ca_file.display()))
}

/// Like [`tls_from_roots`], from the PEM itself.
pub fn tls_from_pem(pem: &[u8]) -> Result<Arc<ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(CertificateDer::pem_slice_iter(pem).flatten());
    if added == 0 {
        return Err("no certificate in it".to_owned());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
