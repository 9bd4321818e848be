//! The supplier: a third party's API that quotes today's unit price and availability of a SKU
//! (OWASP API10, unsafe consumption of APIs).
//!
//! The supplier is outside Baton's trust domain: it has no SPIFFE ID, and orders talks to it as
//! to any public API, over HTTPS verified against the roots in `ORDERS_SUPPLIER_CA_FILE` (in
//! development, the CA `baton-supplier` makes at start-up; in production, the public roots).
//! Everything it answers is untrusted input, handled as such:
//! - bounded in time ([`crate::config::SupplierConfig::timeout`] per request, connect to last
//!   byte, so a slow drip ends there) and in size ([`MAX_ANSWER_BYTES`]);
//! - redirects are not followed (a supplier cannot send us to `169.254.169.254`);
//! - parsed into [`UnverifiedQuote`], which refuses unknown fields and wrong types, then its
//!   rules (lengths, ranges) are checked;
//! - then [`crate::domain::pricing::accept_quote`] decides what the quote may decide: only the
//!   unit price, within a band around the catalogue's, in the catalogue's currency. The buyer,
//!   the account and the quantity never come from here.
//!
//! `orders.supplier_validation` off (lab mode) swaps in [`SupplierClient::danger_trusting_quote`]:
//! no bounds, redirects followed, types coerced, any price taken. That is the careless client
//! the attack suite needs to show a malicious supplier winning.

use std::sync::Arc;
use std::time::Duration;

use baton_platform::{Control, Controls};
use http::{Method, StatusCode};
use reqwest::Url;
use rustls::ClientConfig;
use serde::Deserialize;
use serde_json::Value;
use validator::Validate;

use crate::domain::Sku;
use crate::egress::{Egress, EgressError, HttpsClient, danger_send_following_redirects};

/// The largest answer read from the supplier; an honest one is under 100 bytes.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024;

/// A price quote as the supplier sends it: exactly these fields, of exactly these types.
#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UnverifiedQuote {
    #[validate(length(min = 1, max = 64))]
    pub sku: String,
    #[validate(range(min = 1, max = 100_000_000))]
    pub unit_price_minor: i64,
    #[validate(length(equal = 3))]
    pub currency: String,
    pub available: bool,
}

/// Why the supplier gave no usable quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SupplierError {
    /// Not reachable, too slow, or failing (5xx): maybe later.
    #[error("the supplier did not answer in time")]
    Unavailable,
    /// It answered, with something we do not accept: a redirect, too much, the wrong shape.
    #[error("the supplier's answer is not acceptable")]
    BadAnswer,
    /// It does not carry the SKU, or has none in stock.
    #[error("the supplier has none in stock")]
    OutOfStock,
}

/// A client for the supplier's price API.
#[derive(Debug, Clone)]
pub struct SupplierClient {
    base_url: Url,
    strict: HttpsClient,
    careless: HttpsClient,
    controls: Controls,
    timeout: Duration,
}

impl SupplierClient {
    /// A client for the supplier at `base_url`, verified against `tls`'s roots, each price
    /// request bounded by `timeout`; its connections go out through `egress`.
    pub fn new(
        base_url: &str,
        tls: Arc<ClientConfig>,
        timeout: Duration,
        controls: Controls,
        egress: &Egress,
    ) -> Result<Self, String> {
        let base_url = Url::parse(&format!("{}/", base_url.trim_end_matches('/')))
            .map_err(|err| format!("`{base_url}` is not a URL: {err}"))?;
        if base_url.scheme() != "https" {
            return Err(format!("`{base_url}` is not an https URL"));
        }
        Ok(Self {
            base_url,
            strict: egress.client(&tls, Some(timeout), None),
            careless: egress.client(&tls, None, None),
            controls,
            timeout,
        })
    }

    /// How long one price request may take, connect to last byte.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether answers are checked (always, outside lab mode).
    pub fn validates(&self) -> bool {
        self.controls.is_on(Control::OrdersSupplierValidation)
    }

    fn url(&self, sku: &Sku) -> Result<Url, SupplierError> {
        // A SKU is uppercase letters, digits and dashes: nothing to escape in a path.
        self.base_url
            .join(&format!("v1/prices/{}", sku.as_str()))
            .map_err(|_| SupplierError::Unavailable)
    }

    /// Asks for `sku`'s quote: bounded, strict, unverified until the domain accepts it.
    pub async fn quote(&self, sku: &Sku) -> Result<UnverifiedQuote, SupplierError> {
        let answer = self
            .strict
            .send(Method::GET, &self.url(sku)?, None, Some(MAX_ANSWER_BYTES))
            .await
            .map_err(|err| match err {
                EgressError::TooLarge(_) => {
                    tracing::warn!(
                        security_event = "supplier_answer_refused",
                        "supplier answer too large"
                    );
                    SupplierError::BadAnswer
                }
                err => {
                    tracing::warn!(error = %err, "supplier call failed");
                    SupplierError::Unavailable
                }
            })?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(SupplierError::OutOfStock),
            status if status.is_server_error() => return Err(SupplierError::Unavailable),
            status => {
                tracing::warn!(%status, security_event = "supplier_answer_refused", "supplier answered an unexpected status");
                return Err(SupplierError::BadAnswer);
            }
        }
        let quote: UnverifiedQuote = serde_json::from_slice(&answer.body).map_err(|err| {
            tracing::warn!(error = %err, security_event = "supplier_answer_refused", "supplier answer does not fit the schema");
            SupplierError::BadAnswer
        })?;
        quote.validate().map_err(|err| {
            tracing::warn!(error = %err, security_event = "supplier_answer_refused", "supplier answer breaks its rules");
            SupplierError::BadAnswer
        })?;
        Ok(quote)
    }

    /// Lab mode only (`orders.supplier_validation` off): the careless client. Follows
    /// redirects, reads everything however long it takes, coerces types, trusts the number.
    pub async fn danger_trusting_quote(
        &self,
        sku: &Sku,
        catalogue_currency: &str,
    ) -> Result<UnverifiedQuote, SupplierError> {
        let answer = danger_send_following_redirects(
            &self.careless,
            Method::GET,
            &self.url(sku)?,
            None,
            None,
        )
        .await
        .map_err(|_| SupplierError::Unavailable)?;
        let value: Value =
            serde_json::from_slice(&answer.body).map_err(|_| SupplierError::BadAnswer)?;
        let price = &value["unit_price_minor"];
        let unit_price_minor = price
            .as_i64()
            .or_else(|| price.as_f64().map(|major| major as i64))
            .or_else(|| {
                price
                    .as_str()
                    .and_then(|raw| raw.parse::<f64>().ok())
                    .map(|major| major as i64)
            })
            .ok_or(SupplierError::BadAnswer)?;
        Ok(UnverifiedQuote {
            sku: sku.as_str().to_owned(),
            unit_price_minor,
            currency: catalogue_currency.to_owned(),
            available: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use baton_platform::mode::RunMode;
    use baton_supplier::{Mode, Supplier, SupplierHandle};

    use super::*;

    /// A supplier in `mode`, and a client for it with `controls` and a short timeout.
    async fn supplier(mode: Mode, controls: Controls) -> (SupplierClient, SupplierHandle) {
        let supplier = Supplier::bind(([127, 0, 0, 1], 0).into(), mode)
            .await
            .expect("a supplier");
        let url = format!("https://127.0.0.1:{}", supplier.port());
        let tls = crate::webhook::tls_from_pem(supplier.ca_pem().as_bytes()).expect("roots");
        let handle = supplier.handle();
        tokio::spawn(supplier.run_until(std::future::pending()));
        let client = SupplierClient::new(
            &url,
            tls,
            Duration::from_millis(800),
            controls,
            &Egress::default(),
        )
        .expect("a client");
        (client, handle)
    }

    fn mug() -> Sku {
        Sku::parse("BATON-MUG").expect("a sku")
    }

    #[tokio::test]
    async fn an_honest_quote_is_read_and_parsed() {
        let (client, _) = supplier(Mode::Honest, Controls::enforcing()).await;
        let quote = client.quote(&mug()).await.expect("a quote");
        assert_eq!(
            (quote.unit_price_minor, quote.currency.as_str()),
            (1250, "EUR")
        );
        let unknown = Sku::parse("BATON-YACHT").expect("a sku");
        assert_eq!(
            client.quote(&unknown).await.err(),
            Some(SupplierError::OutOfStock)
        );
    }

    #[tokio::test]
    async fn huge_wrongly_typed_and_redirecting_answers_are_bad_answers() {
        for mode in [Mode::HugeBody, Mode::WrongTypes, Mode::RedirectToInternal] {
            let (client, _) = supplier(mode, Controls::enforcing()).await;
            assert_eq!(
                client.quote(&mug()).await.err(),
                Some(SupplierError::BadAnswer),
                "{mode:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_slow_drip_ends_at_the_timeout() {
        let (client, _) = supplier(Mode::SlowDrip, Controls::enforcing()).await;
        let started = std::time::Instant::now();
        assert_eq!(
            client.quote(&mug()).await.err(),
            Some(SupplierError::Unavailable)
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn an_absurd_price_parses_and_is_left_to_the_domain_to_refuse() {
        let (client, _) = supplier(Mode::AbsurdPrice, Controls::enforcing()).await;
        let quote = client.quote(&mug()).await.expect("a well-formed quote");
        assert_eq!(quote.unit_price_minor, 1);
    }

    #[tokio::test]
    async fn the_careless_client_of_lab_mode_believes_wrong_types_and_absurd_prices() {
        let lab = Controls::lab(RunMode::Development, [Control::OrdersSupplierValidation])
            .expect("lab mode");
        let (client, handle) = supplier(Mode::WrongTypes, lab).await;
        let quote = client
            .danger_trusting_quote(&mug(), "EUR")
            .await
            .expect("coerced");
        assert_eq!(quote.unit_price_minor, 12, "12.50 euros read as 12 cents");
        handle.set_mode(Mode::AbsurdPrice);
        let quote = client
            .danger_trusting_quote(&mug(), "EUR")
            .await
            .expect("believed");
        assert_eq!(quote.unit_price_minor, 1);
    }
}
