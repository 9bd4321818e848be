//! The STS binary. Run it with `just up` (which starts everything), or alone:
//!
//! ```sh
//! (umask 077; printf 'k1:%s\n' "$(openssl rand -base64 32)" > sts-sealing.key)
//! BATON_GATEWAY_CLIENT_SECRET=$(openssl rand -hex 32) STS_SEALING_KEY_FILE=sts-sealing.key \
//!     cargo run -p baton-sts
//! ```
//!
//! The sealing key must stay the same from one start to the next: the STS's TOTP seeds and signing
//! keys are sealed under it (`domain::sealing`).
//!
//! Configuration is read from the environment; see `docs/configuration.md`.
//!
//! `baton-sts remove-demo-data` deletes the demo data from its database and exits instead: a
//! component started in production refuses to serve while any is there.

use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::{Workload, demo, telemetry};
use baton_sts::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init_component(Workload::Sts);
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
