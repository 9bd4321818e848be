//! The users service binary.
//!
//! Run it with `cargo run -p baton-users`; it listens on `USERS_LISTEN` (default
//! `127.0.0.1:8091`) and verifies tokens against the STS at `STS_ADDR`. Everything else is in the
//! library crate, so the test kit can start the same service in-process.

use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::telemetry;
use baton_users::{Application, Config};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    telemetry::init("baton_users");
    let config = match Config::from_source(&Environment) {
        Ok(config) => config,
        Err(err) => exit_on_bad_config("users", &err),
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("users: could not start: {err}");
            std::process::exit(1);
        }
    };
    app.run_until_stopped().await
}
