//! The gateway binary. `just up` starts it with everything else; alone:
//!
//! ```sh
//! BATON_GATEWAY_CLIENT_SECRET=<the STS's> cargo run -p baton-gateway
//! ```

use baton_gateway::{Application, Config};
use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::{Workload, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init_component(Workload::Gateway);
    let config =
        Config::from_source(&Environment).unwrap_or_else(|err| exit_on_bad_config("gateway", &err));
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "the gateway could not start");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the gateway stopped with an error");
            std::process::ExitCode::FAILURE
        }
    }
}
