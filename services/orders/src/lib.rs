//! The orders service: prices an order from its catalogue and pays for it from the buyer's
//! account.
//!
//! In the request's journey this is the one service that calls others. `POST /v1/orders` arrives
//! from the gateway with the customer's internal token; the service verifies it, reads the buyer
//! from the users service and debits the account at the accounts service, presenting the
//! customer's token on both calls (in E2E mode the same token travels the whole chain, and each
//! hop verifies it again). The order is written `pending` before the debit and turned `paid`
//! after, so a crash between the two leaves evidence, never a paid order nobody knows about.
//!
//! Layout, in the order a request meets it:
//! - [`config`]: what the service reads from its environment, including where its peers are;
//! - [`app`]: the service as the skeleton every service shares (`baton_service`) runs it: its
//!   state, seeds, routes and peers, and the [`Application`] they make;
//! - [`http`]: REST handlers, thin: scope check, parse, call the domain, shape the answer;
//! - [`domain`]: items, pricing, orders, the ownership rule and the placing flow; no HTTP, no SQL;
//! - [`upstream`]: the gRPC calls to users and accounts, and what their answers mean here;
//! - [`supplier`]: the third party that quotes prices, and how little orders trusts it (API10);
//! - [`webhook`]: order notifications, behind the SSRF guard (API7);
//! - [`egress`]: the one HTTPS client for third parties, with its resolver and dialer injected;
//! - [`storage`]: the SQL, and the embedded migrations;
//! - [`seed`]: the catalogue, seeded in every mode (it is reference data, not demo data).

pub mod app;
pub mod config;
pub mod domain;
pub mod egress;
pub mod http;
pub mod policy;
pub mod seed;
pub mod storage;
pub mod supplier;
pub mod upstream;
pub mod webhook;

pub use app::{AppState, Application};
pub use config::Config;
