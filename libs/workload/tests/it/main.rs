//! The workload transport over real sockets: one binary, one module per concern.

#![expect(
    clippy::expect_used,
    reason = "a failing test should stop loudly, and helpers here are test code too"
)]

mod connection_lifetime;
mod generations;
mod support;
