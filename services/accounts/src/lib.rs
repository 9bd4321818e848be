//! The accounts service: accounts, balances, and the `Debit` gRPC that pays for an order.
//!
//! In the request's journey this sits at the end of two paths. A customer reads and opens
//! accounts through the gateway (`/v1/accounts`); the orders service calls `Accounts/Debit` with
//! the customer's own token to pay for an order. Either way the token is verified here, and only
//! the owner's accounts are touched. Money is never created or lost: a debit is one conditional
//! `UPDATE` plus one ledger row, in one transaction, idempotent on the caller's reference.
//!
//! Layout, in the order a request meets it:
//! - [`config`]: what the service reads from its environment;
//! - [`app`]: the service as the skeleton every service shares (`baton_service`) runs it: its
//!   state, seeds, routes and peers, and the [`Application`] they make;
//! - [`http`]: REST handlers, thin: scope check, parse, call the domain, shape the answer;
//! - [`grpc`]: the `Accounts` gRPC service (`Debit`, and `Refund` for the back office);
//! - [`domain`]: ids, currencies, amounts, the ownership rules, the debit, the back office (freeze,
//!   deposit, refund); no HTTP, no SQL;
//! - [`storage`]: the SQL, and the embedded migrations;
//! - [`seed`]: the demo accounts, development mode only.

pub mod app;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod policy;
pub mod seed;
pub mod storage;

pub use app::{AppState, Application};
pub use config::Config;
