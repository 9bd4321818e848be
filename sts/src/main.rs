//! The STS binary. Run it with `just up` (which starts everything), or alone:
//!
//! ```sh
//! BATON_GATEWAY_CLIENT_SECRET=$(openssl rand -hex 32) cargo run -p baton-sts
//! ```
//!
//! Configuration is read from the environment; see `docs/configuration.md`.

use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::telemetry;
use baton_sts::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init("baton_sts");
    let config =
        Config::from_source(&Environment).unwrap_or_else(|err| exit_on_bad_config("sts", &err));
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "the STS could not start");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the STS stopped with an error");
            std::process::ExitCode::FAILURE
        }
    }
}
