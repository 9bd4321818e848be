//! The platform kit: what every Baton component needs before it does anything of its own.
//!
//! Layout:
//! - [`config`]: typed configuration read through a small [`config::Source`] trait, so tests pass
//!   a map instead of mutating the process environment.
//! - [`settings`]: the settings every component reads the same way (where it listens, its modes,
//!   its lab switches, its trust domain, the STS, its database, its policies).
//! - [`workload`]: the workloads of the platform and their identities.
//! - [`mode`]: the run mode (development or production) and the trust mode (how the user's
//!   identity travels down the call chain).
//! - [`controls`]: the registry of named security controls and the lab switches that turn them
//!   off, in lab mode only.
//! - [`db`]: connecting to a component's own database (SQLite or PostgreSQL), migrating it, and
//!   the page of a listing storage reads.
//! - [`demo`]: the demo users every component seeds in development mode.
//! - [`faults`]: named points where a test may pause or fail the flows that move money.
//! - [`startup`]: what can stop a component from starting.
//! - [`shutdown`]: the signal every server stops on.
//! - [`telemetry`]: structured logs with `tracing`, as text or JSON lines.
//! - [`audit`]: the audit trail, every security event on a stream of its own.
//! - [`time`]: wall-clock time as Unix seconds.
//!
//! Nothing here speaks HTTP: problem+json, checked input, the OpenAPI parts and the lab-mode
//! header are the HTTP API kit, `baton-api`.

pub mod audit;
pub mod config;
pub mod controls;
pub mod db;
pub mod demo;
pub mod faults;
pub mod mode;
pub mod settings;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod time;
pub mod workload;

pub use config::{ConfigError, Source};
pub use controls::{Control, Controls};
pub use mode::{RunMode, TrustMode};
pub use settings::Settings;
pub use startup::StartupError;
pub use workload::{CertThumbprint, TrustDomain, Workload};
