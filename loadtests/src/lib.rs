//! Baton's load tests and its security-cost benchmark.
//!
//! Security has a price in latency and throughput: the gateway's hop, the token exchange at the
//! STS, a signature check at every service, a TLS handshake on every internal connection. This
//! crate measures it in two ways.
//!
//! - **Load tests** ([`scenarios`], driven by Goose): simulated people who log in through the
//!   real authorization-code flow once and then use their token, against any gateway, `just up`'s
//!   by default. `baton-load` (`just load`) runs the mix, writes Goose's reports and exits non-zero
//!   when a threshold (latency percentile, error rate) fails, so a run can gate CI.
//! - **The benchmark** ([`bench`], `baton-bench`, `just bench`): every layer measured side by side
//!   in one process, in one run, each row a ratio to a bare hello-world service measured alongside.
//!
//! Layout:
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`target`] | where the gateway is and which CA vouches for it |
//! | [`codes`] | one-time codes for simulated users who share a demo identity |
//! | [`session`] | logging a simulated user in, and what it keeps afterwards |
//! | [`scenarios`] | the four kinds of user and their weights |
//! | [`requests`] | one API call, timed and named by Goose |
//! | [`attack`] | a Goose run: defaults, reports, thresholds |
//! | [`bench`] | the benchmark's servers, load generator, CPU accounting and table |
//!
//! A short smoke run of every scenario against an in-process platform is part of `just test`
//! (`tests/it/smoke.rs`), so the scenarios cannot rot.

pub mod attack;
pub mod bench;
pub mod codes;
pub mod requests;
pub mod scenarios;
pub mod session;
pub mod target;
