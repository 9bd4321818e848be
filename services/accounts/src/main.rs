//! The accounts service binary.
//!
//! Run it with `cargo run -p baton-accounts`; it listens on `ACCOUNTS_LISTEN` (default
//! `127.0.0.1:8092`) and verifies tokens against the STS at `STS_ADDR`. Everything else is in the
//! library crate, so the test kit can start the same service in-process.
//!
//! `baton-accounts remove-demo-data` deletes the demo data from its database and exits instead: a
//! component started in production refuses to serve while any is there.

use baton_accounts::app::Accounts;
use baton_accounts::{Application, Config};
use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::{Workload, demo, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init_component(Workload::Accounts);
    let config = match Config::from_source(&Environment) {
        Ok(config) => config,
        Err(err) => exit_on_bad_config("accounts", &err),
    };
    if demo::removal_requested() {
        let removed = baton_service::remove_demo_data::<Accounts>(&config).await;
        return demo::report_removal("accounts", removed);
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("accounts: could not start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("accounts: stopped with an error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
