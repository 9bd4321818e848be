//! The benchmark behind `just bench`: what each security layer costs, side by side.
//!
//! Every row is measured in the same process, in the same run, on the same machine, so the
//! numbers are comparable with each other even when the machine is noisy (other builds, a
//! laptop's power management): read the ratio to the first row, not the absolute numbers.
//!
//! - [`servers`]: the bare hello-world service and the bare reverse proxy the first rows measure;
//! - [`load`]: the closed-loop load generator (a fixed number of requests in flight, latency in
//!   microseconds; Goose records milliseconds, too coarse for a hop that costs tens of µs);
//! - [`cpu`]: server CPU time, from `/proc/self/task/*/stat`;
//! - [`setup`]: the three platforms and reference servers every row runs against;
//! - [`rows`]: what each row sends, and how a row is measured;
//! - [`report`]: the table, as Markdown and JSON.
//!
//! Two Tokio runtimes share the process: the servers run on one (threads named `bench-server`,
//! plus the SQLite worker threads they start), the load generator on the other (`bench-load`).
//! CPU per request is the time of every thread except the load generator's, divided by the
//! requests answered.

pub mod cpu;
pub mod load;
pub mod report;
pub mod rows;
pub mod servers;
pub mod setup;
