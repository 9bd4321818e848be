//! The orders service binary.
//!
//! Run it with `cargo run -p baton-orders`; it listens on `ORDERS_LISTEN` (default
//! `127.0.0.1:8093`) and calls users (`USERS_ADDR`) and accounts (`ACCOUNTS_ADDR`) over gRPC. Everything else is in the
//! library crate, so the test kit can start the same service in-process.

use baton_orders::{Application, Config};
use baton_platform::config::{Environment, exit_on_bad_config};
use baton_platform::{Workload, telemetry};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    telemetry::init_component(Workload::Orders);
    let config = match Config::from_source(&Environment) {
        Ok(config) => config,
        Err(err) => exit_on_bad_config("orders", &err),
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("orders: could not start: {err}");
            std::process::exit(1);
        }
    };
    app.run_until_stopped().await
}
