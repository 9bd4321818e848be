//! The STS binary. Run it with `just up` (which starts everything), or alone:
//!
//! ```sh
//! BATON_GATEWAY_CLIENT_SECRET=$(openssl rand -hex 32) cargo run -p baton-sts
//! ```
//!
//! Configuration is read from the environment; see `docs/configuration.md`.
//!
//! `baton-sts remove-demo-data` deletes the demo data from its database and exits instead: a
//! component started in production refuses to serve while any is there.

use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::{demo, telemetry};
use baton_sts::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init("baton_sts");
    let config =
        Config::from_source(&Environment).unwrap_or_else(|err| exit_on_bad_config("sts", &err));
    if demo::removal_requested() {
        return demo::report_removal("sts", baton_sts::app::remove_demo_data(&config).await);
    }
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
