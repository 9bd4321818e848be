//! The accounts service binary.
//!
//! Run it with `cargo run -p baton-accounts`; it listens on `ACCOUNTS_LISTEN` (default
//! `127.0.0.1:8092`) and verifies tokens against the STS at `STS_ADDR`. Everything else is in the
//! library crate, so the test kit can start the same service in-process.

use baton_accounts::{Application, Config};
use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::telemetry;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    telemetry::init("baton_accounts");
    let config = match Config::from_source(&Environment) {
        Ok(config) => config,
        Err(err) => exit_on_bad_config("accounts", &err),
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("accounts: could not start: {err}");
            std::process::exit(1);
        }
    };
    app.run_until_stopped().await
}
