//! The users service binary.
//!
//! Run it with `cargo run -p baton-users`; it listens on `USERS_LISTEN` (default
//! `127.0.0.1:8091`) and verifies tokens against the STS at `STS_ADDR`. Everything else is in the
//! library crate, so the test kit can start the same service in-process.
//!
//! `baton-users remove-demo-data` deletes the demo data from its database and exits instead: a
//! component started in production refuses to serve while any is there.

use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::{Workload, demo, telemetry};
use baton_users::app::Users;
use baton_users::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init_component(Workload::Users);
    let config = match Config::from_source(&Environment) {
        Ok(config) => config,
        Err(err) => exit_on_bad_config("users", &err),
    };
    if demo::removal_requested() {
        let removed = baton_service::remove_demo_data::<Users>(&config).await;
        return demo::report_removal("users", removed);
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("users: could not start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("users: stopped with an error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
