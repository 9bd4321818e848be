//! The test kit: the whole platform, in-process, on random ports.
//!
//! [`TestPlatform::spawn`] starts the STS, the three services and the gateway exactly as their
//! binaries do (the same `Application::build` / `run_until`), each with its own fresh database:
//! SQLite files in a temporary folder, or, when `DATABASE_URL` is set, fresh PostgreSQL databases
//! created next to the one it names. Every hop is mutual TLS: a fresh development CA issues each
//! component its SVID, exactly as `baton-ca` does for `just up`. Listeners are bound before anything runs, so a test can send
//! its first request at once: no sleeps, no fixed ports.
//!
//! Attack tests need tokens the STS would never issue (expired, for another audience, signed by
//! someone else); [`TestPlatform::mint`] signs claims with the real STS key for that.
//!
//! Nothing a test platform does leaves the machine: [`hermetic`] says how, and fails the test that
//! tries.
//!
//! [`openapi`] merges the services' generated API descriptions and checks answers against them.

mod certs;
mod database;
pub mod hermetic;
pub mod openapi;
mod platform;
mod raw;

pub use certs::{TestCa, client_presenting};
pub use database::Backend;
pub use platform::{
    PlatformBuilder, TEST_API_RATE_LIMIT, TEST_CLIENT_RATE_LIMIT, TEST_LOGIN_RATE_LIMIT,
    TEST_MACHINE_RATE_LIMIT, TestPlatform, default_trust_mode,
};
pub use platform::{TEST_ORDER_LIMIT, TEST_WEBHOOK_HOSTS};
pub use raw::RawAnswer;
