//! Whole-platform tests: the real request path, through the gateway, on random ports; and the
//! house rules of the workspace (`layering`).
//!
//! One test binary for the crate (faster to link); one module per theme. Every test starts its
//! own platform with fresh databases, so tests never see each other's data.

#![expect(
    clippy::expect_used,
    reason = "a failing test should stop loudly, and helpers here are test code too"
)]

mod audit;
mod authorization_server;
mod backoffice;
mod bad_input;
mod connections;
mod edge;
mod exchange;
mod hermetic;
mod inventory;
mod journey;
mod layering;
mod mtls;
mod orders_edge;
mod payments;
mod production;
mod request_ids;
mod sealing;
mod settle;
mod support;
mod tokens;
